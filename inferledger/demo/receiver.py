"""A local HTTP receiver that records what it gets: for the demo and the tests.

`RecordingReceiver` listens on 127.0.0.1 (port 0: any free port) in a thread and
keeps every request (method, path, headers, body). `script` lets a test make it
answer with failures first (a receiver that is down, or rate-limits with 429).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"status":"ok"}'
    headers: dict[str, str] = field(default_factory=dict)


class RecordingReceiver:
    def __init__(self, on_request: Callable[[Received], None] | None = None, port: int = 0) -> None:
        self.received: list[Received] = []
        self.script: list[Reply] = []  # consumed one per request; empty: default reply
        self.default = Reply()
        self.refused: list[Received] = []  # requests answered with a non-2xx status
        self._on_request = on_request
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="recording-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RecordingReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, req: Received) -> Reply:
        with self._lock:
            reply = self.script.pop(0) if self.script else self.default
            if 200 <= reply.status < 300:
                self.received.append(req)
            else:
                self.refused.append(req)
        if 200 <= reply.status < 300 and self._on_request:
            self._on_request(req)
        return reply

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Received(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
                reply = outer._reply(req)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout); what it sent is recorded

            do_POST = do_PUT = do_GET = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:  # keep test and demo output clean
                pass

        return Handler


def start_demo_receiver(
    on_request: Callable[[Received], None] | None = None,
) -> tuple[str, list[Received], Callable[[], None]]:
    """Start a recording webhook receiver for the demo: (url, received requests, stop)."""
    rec = RecordingReceiver(on_request).start()
    return rec.url, rec.received, rec.stop


def demo_alert_config(url: str) -> dict[str, Any]:
    """Settings overrides that send every alert to the demo receiver quickly (load_settings(overrides=...))."""
    return {
        "alerts.receivers": [{"name": "demo", "type": "webhook", "url": url + "/demo-alerts", "secret": "demo"}],
        "alerts.routes": [{"receiver": "demo"}],
        "alerts.group_wait": 0.0,
        "alerts.group_interval": 10.0,
    }


def describe(req: Received) -> str:
    """One line per alert of a received webhook notification, for the demo to print."""
    try:
        body = req.json()
    except ValueError:
        return f"{req.method} {req.path} ({len(req.body)} bytes)"
    lines = []
    for a in body.get("alerts", []):
        lines.append(f"[{a.get('status', '?').upper():8}] {a.get('severity', ''):6} "
                     f"{a.get('labels', {}).get('alertname', '')}: {a.get('annotations', {}).get('summary', '')}")
    return "\n".join(lines) or f"{req.method} {req.path}"
