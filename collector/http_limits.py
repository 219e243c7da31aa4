"""HTTP limits that hold before any request reaches the app: header size and count,
a deadline for the headers, and a cap on open connections.

uvicorn's httptools protocol buffers headers without a bound and keeps a silent
connection open forever; this subclass counts header bytes as the parser reports
them (431 past the limit), closes a connection whose headers do not complete in
time (408), and turns connections beyond the cap away at once (503, logged), so
idle sockets cannot exhaust the process's file descriptors.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("inferledger.http")


class Limits:
    def __init__(self, max_header_bytes: int, max_header_count: int, header_timeout_s: float, max_connections: int):
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count
        self.header_timeout_s = header_timeout_s
        self.max_connections = max_connections
        self.last_warning = 0.0


def _plain(status: bytes, msg: str) -> bytes:
    body = msg.encode()
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


class _TooLarge(Exception):
    pass


def limited_protocol(limits: Limits) -> type:
    """An HttpToolsProtocol class enforcing `limits` (pass as uvicorn.Config(http=...))."""

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _header_bytes = 0
        _header_deadline: Any = None
        _refused = False

        def connection_made(self, transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections:
                now = time.monotonic()
                if now - limits.last_warning > 10:
                    limits.last_warning = now
                    log.warning("connection limit of %d reached: refusing new connections (503) until some close",
                                limits.max_connections)
                transport.write(_plain(b"503 Service Unavailable", "too many connections; retry later"))
                transport.close()
                return
            super().connection_made(transport)
            self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            if self._header_deadline is None:
                self._header_deadline = self.loop.call_later(limits.header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _headers_too_slow(self) -> None:
            self._header_deadline = None
            if self.transport is not None and not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self.transport.write(_plain(b"408 Request Timeout", "request headers not received in time"))
                self.transport.close()

        def connection_lost(self, exc) -> None:
            self._disarm()
            if self.transport is None:  # refused in connection_made
                return
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            if not self._refused:  # a refusal already answered (431) and closed
                super().send_400_response(msg)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._arm_header_deadline()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            if len(self.headers) >= limits.max_header_count:
                self._refuse(f"more than {limits.max_header_count} request headers")
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def _count(self, n: int) -> None:
            self._header_bytes += n
            if self._header_bytes > limits.max_header_bytes:
                self._refuse(f"request headers exceed {limits.max_header_bytes} bytes")

        def _refuse(self, msg: str) -> None:
            self._disarm()
            if not self._refused:
                self._refused = True
                self.transport.write(_plain(b"431 Request Header Fields Too Large", msg))
                self.transport.close()
            raise _TooLarge(msg)  # stops the parser; uvicorn sees a parser error and calls send_400_response

    return LimitedHttpToolsProtocol
