"""Arize Phoenix as the ingest benchmark's peer: started on loopback, fed the same
OTLP/HTTP payloads, and asked (GraphQL `recordCount`) how many spans it persisted —
acknowledged is not the same as stored.

Phoenix is not a dependency of InferLedger: install it in its own environment
(`python3 -m venv /tmp/phx && /tmp/phx/bin/pip install arize-phoenix`) and pass
`--phoenix /tmp/phx/bin/phoenix` to bench_ingest.py.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

COUNT_QUERY = '{ projects { edges { node { name recordCount } } } }'


@dataclass
class PhoenixServer:
    url: str
    proc: subprocess.Popen

    def persisted_spans(self) -> int:
        r = httpx.post(f"{self.url}/graphql", json={"query": COUNT_QUERY}, timeout=60)
        r.raise_for_status()
        return sum(e["node"]["recordCount"] for e in r.json()["data"]["projects"]["edges"])

    def wait_persisted(self, expected: int, timeout_s: float) -> tuple[int, float]:
        """Poll until `expected` spans are stored or time runs out; (stored, seconds waited)."""
        start = time.monotonic()
        stored = self.persisted_spans()
        while stored < expected and time.monotonic() - start < timeout_s:
            time.sleep(2)
            stored = self.persisted_spans()
        return stored, time.monotonic() - start


@contextmanager
def phoenix_server(phoenix_bin: str, http_port: int, grpc_port: int) -> Iterator[PhoenixServer]:
    with tempfile.TemporaryDirectory() as workdir:
        env = {**os.environ, "PHOENIX_PORT": str(http_port), "PHOENIX_GRPC_PORT": str(grpc_port),
               "PHOENIX_HOST": "127.0.0.1", "PHOENIX_WORKING_DIR": workdir}
        proc = subprocess.Popen([phoenix_bin, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{http_port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"phoenix exited with {proc.returncode}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("phoenix did not start in 180 s")
                time.sleep(1)
            yield PhoenixServer(url, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
