"""Limits that hold before authentication: header size and count, slow headers, connection cap, bytes in flight."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest

from tests.harness import running_service


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _raw(url: str, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(_host_port(url), timeout=wait) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except OSError:
            pass
        return out


@pytest.mark.slow
def test_oversized_and_too_many_headers_get_431(tmp_path):
    with running_service(tmp_path / "w.duckdb") as (_service, eps):
        big = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
        assert _raw(eps.http, big).startswith(b"HTTP/1.1 431")
        many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(500)) + b"\r\n"
        assert _raw(eps.admin, many).startswith(b"HTTP/1.1 431")
        assert httpx.get(f"{eps.admin}/healthz").status_code == 200  # ordinary requests still pass


@pytest.mark.slow
def test_slow_headers_are_cut_off(tmp_path):
    with running_service(tmp_path / "w.duckdb", **{"ingest.header_timeout_s": 0.5}) as (_service, eps):
        t0 = time.monotonic()
        with socket.create_connection(_host_port(eps.http), timeout=10) as s:
            s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")  # and nothing more: slow loris
            reply = s.recv(1024)
        assert reply.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 5


@pytest.mark.slow
def test_connections_beyond_the_cap_are_refused_and_logged(tmp_path, caplog):
    with running_service(tmp_path / "w.duckdb", **{"ingest.max_connections": 4}) as (_service, eps):
        idle = [socket.create_connection(_host_port(eps.http)) for _ in range(4)]
        try:
            time.sleep(0.2)
            with caplog.at_level(logging.WARNING, logger="inferledger.http"):
                assert _raw(eps.http, b"").startswith(b"HTTP/1.1 503")
            assert any("connection limit of 4 reached" in r.getMessage() for r in caplog.records)
        finally:
            for s in idle:
                s.close()
        time.sleep(0.2)
        assert httpx.get(f"{eps.admin}/healthz").status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("declared", [True, False])
def test_bytes_in_flight_are_bounded_before_decoding(tmp_path, declared):
    limits = {"ingest.max_body_bytes": 1024 * 1024, "ingest.max_inflight_bytes": 1024 * 1024}
    with running_service(tmp_path / "w.duckdb", **limits) as (_service, eps):
        # A slow client holds 700 KB of the 1 MiB bound while it is still sending its body.
        holder = socket.create_connection(_host_port(eps.http))
        holder.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                       b"Content-Length: 700000\r\n\r\n" + b"\x00" * 1000)
        try:
            time.sleep(0.3)
            body = b"\x0a\x00" * 200_000
            headers = {"Content-Type": "application/x-protobuf"}
            if declared:
                r = httpx.post(f"{eps.http}/v1/traces", content=body, headers=headers)
            else:
                r = httpx.post(f"{eps.http}/v1/traces", content=iter([body[:200_000], body[200_000:]]), headers=headers)
            assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        finally:
            holder.close()
        time.sleep(0.3)
        assert httpx.post(f"{eps.http}/v1/traces", content=b"", headers={"Content-Type": "application/x-protobuf"}).status_code == 200
