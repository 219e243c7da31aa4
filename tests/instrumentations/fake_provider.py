"""A local stand-in for the OpenAI and Anthropic HTTP APIs that records what it answered.

The instrumentation tests drive real SDKs and instrumentation libraries against it; the
ground truth of every assertion is `FakeProvider.calls`: the model, usage and response
id each call was given back. Usage numbers differ per call so a swapped or doubled
count cannot pass. The first streamed chunk waits `FIRST_CHUNK_DELAY_S`, so a measured
time to first token has a known lower bound.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FIRST_CHUNK_DELAY_S = 0.15
RATE_LIMITED_MODEL = "gpt-rate-limited"
# request model -> the dated model the response reports
DATED = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "text-embedding-3-small": "text-embedding-3-small",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
}


@dataclass
class Call:
    api: str  # chat | embeddings | messages
    request_model: str
    response_model: str | None
    stream: bool
    status: int
    response_id: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    user: str | None = None


class FakeProvider:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._n = 0
        self.tag = uuid.uuid4().hex[:8]  # response ids are unique across providers, as real ones are
        self._lock = threading.Lock()
        handler = type("H", (_Handler,), {"provider": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_n(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


class _Handler(BaseHTTPRequestHandler):
    provider: FakeProvider
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, dict | str]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        time.sleep(FIRST_CHUNK_DELAY_S)
        for name, payload in events:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            chunk = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
            raw = chunk.encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?")[0].rstrip("/")
        if path.endswith("/chat/completions"):
            self._chat(req)
        elif path.endswith("/embeddings"):
            self._embeddings(req)
        elif path.endswith("/messages"):
            self._messages(req)
        else:
            self._json(404, {"error": {"message": f"no route {path}"}})

    def _chat(self, req: dict) -> None:
        p = self.provider
        model = req.get("model", "")
        stream = bool(req.get("stream"))
        if model == RATE_LIMITED_MODEL:
            p.record(Call("chat", model, None, stream, 429, user=req.get("user")))
            self._json(429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
                       {"retry-after": "0"})
            return
        n = p.next_n()
        usage = {"input": 100 + 10 * n, "output": 20 + n, "cache_read": 64 if n % 2 else 0, "reasoning": 0}
        rid = f"chatcmpl-{p.tag}{n}"
        resp_model = DATED.get(model, model)
        p.record(Call("chat", model, resp_model, stream, 200, rid, usage, "stop", req.get("user")))
        oa_usage = {"prompt_tokens": usage["input"], "completion_tokens": usage["output"],
                    "total_tokens": usage["input"] + usage["output"],
                    "prompt_tokens_details": {"cached_tokens": usage["cache_read"], "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}}
        if not stream:
            self._json(200, {"id": rid, "object": "chat.completion", "created": 1764547200, "model": resp_model,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there."},
                                          "finish_reason": "stop"}], "usage": oa_usage})
            return
        base = {"id": rid, "object": "chat.completion.chunk", "created": 1764547200, "model": resp_model}
        events: list[tuple[str | None, dict | str]] = [
            (None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {"content": " there."}, "finish_reason": None}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        ]
        if (req.get("stream_options") or {}).get("include_usage"):
            events.append((None, {**base, "choices": [], "usage": oa_usage}))
        events.append((None, "[DONE]"))
        self._sse(events)

    def _embeddings(self, req: dict) -> None:
        p = self.provider
        n = p.next_n()
        model = req.get("model", "")
        usage = {"input": 7 + n}
        p.record(Call("embeddings", model, DATED.get(model, model), False, 200, None, usage, None, req.get("user")))
        inputs = req.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        self._json(200, {"object": "list", "model": DATED.get(model, model),
                         "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(count)],
                         "usage": {"prompt_tokens": usage["input"], "total_tokens": usage["input"]}})

    def _messages(self, req: dict) -> None:
        p = self.provider
        n = p.next_n()
        model = req.get("model", "")
        stream = bool(req.get("stream"))
        # Anthropic's API: input_tokens exclude the cache reads and writes.
        usage = {"input": 30 + n, "cache_read": 1000 + n, "cache_write": 200, "output": 15 + n}
        rid = f"msg_{p.tag}{n:04d}"
        resp_model = DATED.get(model, model)
        p.record(Call("messages", model, resp_model, stream, 200, rid, usage, "end_turn",
                      (req.get("metadata") or {}).get("user_id")))
        a_usage = {"input_tokens": usage["input"], "cache_read_input_tokens": usage["cache_read"],
                   "cache_creation_input_tokens": usage["cache_write"], "output_tokens": usage["output"]}
        msg = {"id": rid, "type": "message", "role": "assistant", "model": resp_model,
               "content": [{"type": "text", "text": "Hello."}], "stop_reason": "end_turn", "stop_sequence": None}
        if not stream:
            self._json(200, {**msg, "usage": a_usage})
            return
        start = {**msg, "content": [], "stop_reason": None, "usage": {**a_usage, "output_tokens": 1}}
        self._sse([
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello."}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": usage["output"]}}),
            ("message_stop", {"type": "message_stop"}),
        ])
