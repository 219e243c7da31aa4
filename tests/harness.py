"""Start the real service for tests: in a thread (fast) or as a subprocess (kill -9)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from inferledger.config import Settings, load_settings
from inferledger.service import BackgroundService, Service

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Endpoints:
    http: str   # http://127.0.0.1:P (OTLP/HTTP base)
    grpc: str   # 127.0.0.1:P
    admin: str  # http://127.0.0.1:P


def service_settings(db: Path, **overrides) -> tuple[Settings, Endpoints]:
    ports = [free_port() for _ in range(3)]
    base = {
        "warehouse.path": str(db),
        "server.otlp_http": f"127.0.0.1:{ports[0]}",
        "server.otlp_grpc": f"127.0.0.1:{ports[1]}",
        "server.admin": f"127.0.0.1:{ports[2]}",
        "analytics.jobs_enabled": False,
        # Inline decoding keeps in-thread services quick to start; the worker-process
        # path is covered by the tests that ask for workers and by every subprocess test.
        "ingest.workers": 0,
    }
    base.update(overrides)
    settings = load_settings(None, environ={}, overrides=base)
    eps = Endpoints(
        http=f"http://{settings.server.otlp_http}",
        grpc=settings.server.otlp_grpc,
        admin=f"http://{settings.server.admin}",
    )
    return settings, eps


def on_fresh_ports(start: Callable[[], T]) -> T:
    """start(), again on fresh ports (at most three tries) where it failed with "cannot listen":
    a port free_port() found free can be taken by another process before the service binds it."""
    for attempt in range(3):
        try:
            return start()
        except (OSError, RuntimeError) as exc:  # in-process start, or a process that exited
            if "cannot listen" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_service(db: Path, **overrides) -> Iterator[tuple[Service, Endpoints]]:
    def start() -> tuple[BackgroundService, Endpoints]:
        settings, eps = service_settings(db, **overrides)
        return BackgroundService(settings, run_scheduler=False).start(timeout=90), eps  # a loaded 2-core CI machine compiling the fast path

    bg, eps = on_fresh_ports(start)
    try:
        yield bg.service, eps
    finally:
        bg.stop(30)


@contextlib.contextmanager
def service_process(db: Path, extra_env: dict | None = None) -> Iterator[tuple[subprocess.Popen, Endpoints]]:
    """`inferledger serve` as a real process (for kill -9 and SIGTERM tests)."""
    env = {**os.environ, **(extra_env or {})}

    def start() -> tuple[subprocess.Popen, Endpoints]:
        _, eps = service_settings(db)  # ports only: the process reads its own defaults (workers = 1)
        http = eps.http.removeprefix("http://")
        admin = eps.admin.removeprefix("http://")
        cmd = [sys.executable, "-m", "inferledger", "--db", str(db), "serve",
               "--otlp-http", http, "--otlp-grpc", eps.grpc, "--admin", admin, "--no-jobs"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_ready(eps.admin, proc)  # RuntimeError, with its output, where the process exited
        except BaseException:
            if proc.poll() is None:
                proc.kill()
            raise
        return proc, eps

    proc, eps = on_fresh_ports(start)
    try:
        yield proc, eps
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_ready(admin: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"service exited with {proc.returncode}: {out[-2000:]}")
        try:
            if httpx.get(f"{admin}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("service did not become ready")
