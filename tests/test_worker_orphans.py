"""Ingest worker processes end when `serve` is killed with -9 (they held memory and the warehouse's settings)."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from tests.harness import service_process

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_workers_exit_after_kill_9_of_the_service(tmp_path):
    with service_process(tmp_path / "w.duckdb") as (proc, _eps):
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "multiprocessing" in " ".join(c.cmdline())]
        assert workers, "serve runs with ingest.workers = 1 by default"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        for p in alive:
            p.kill()
        assert not alive, f"{len(alive)} worker(s) outlived the service"
