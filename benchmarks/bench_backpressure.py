"""Backpressure benchmark: many clients each send one large OTLP/HTTP request at once.

Runs the server twice in the same process tree: with the default bound on bytes in
flight (`ingest.max_inflight_bytes`) and, as the reference, with the bound lifted
(what the service did before it had one). Prints per run: 200s, 429s, p50/p99 of the
acknowledged requests, and the peak RSS of the server plus its ingest workers.

    python benchmarks/bench_backpressure.py [--clients 100] [--spans 6000] [--bound-mib 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_ingest import make_batches, pct
from tests.harness import free_port, wait_ready

HEADERS = {"Content-Type": "application/x-protobuf"}


async def burst(url: str, bodies: list[bytes]) -> tuple[list[float], int, int, int]:
    lat: list[float] = []
    codes = {"ok": 0, "busy": 0, "other": 0}

    async def one(client: httpx.AsyncClient, body: bytes) -> None:
        t0 = time.perf_counter()
        try:
            r = await client.post(url, content=body, headers=HEADERS)
        except httpx.HTTPError:
            codes["other"] += 1
            return
        if r.status_code == 200:
            codes["ok"] += 1
            lat.append(time.perf_counter() - t0)
        elif r.status_code == 429:
            codes["busy"] += 1
        else:
            codes["other"] += 1

    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(one(client, b) for b in bodies))
    return lat, codes["ok"], codes["busy"], codes["other"]


def run(bodies: list[bytes], inflight: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        http, grpc_port, admin = free_port(), free_port(), free_port()
        env = {**os.environ, "INFERLEDGER_INGEST__MAX_INFLIGHT_BYTES": str(inflight)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "inferledger", "--db", str(Path(tmp) / "b.duckdb"), "serve", "--no-jobs",
             "--otlp-http", f"127.0.0.1:{http}", "--otlp-grpc", f"127.0.0.1:{grpc_port}", "--admin", f"127.0.0.1:{admin}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    rss = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
                time.sleep(0.05)

        try:
            wait_ready(f"http://127.0.0.1:{admin}", proc)
            threading.Thread(target=sample, daemon=True).start()
            t0 = time.perf_counter()
            lat, ok, busy, other = asyncio.run(burst(f"http://127.0.0.1:{http}/v1/traces", bodies))
            secs = time.perf_counter() - t0
        finally:
            done.set()
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
    return {"ok": ok, "busy": busy, "other": other, "secs": secs, "p50": pct(lat, 50) if lat else 0,
            "p99": pct(lat, 99) if lat else 0, "rss": peak[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--spans", type=int, default=6000, help="spans per request (6000 ~ 3 MB)")
    ap.add_argument("--bound-mib", type=int, default=64, help="ingest.max_inflight_bytes of the bounded run")
    args = ap.parse_args()
    bodies = make_batches(args.clients, args.spans)
    size = sum(map(len, bodies)) / len(bodies)
    print(f"{args.clients} clients x {size / 2**20:.1f} MiB at once (shared, loaded machine: compare rows, not absolutes)")
    for label, bound in (("bounded", args.bound_mib * 2**20), ("reference: unbounded", 2**62)):
        r = run(bodies, bound)
        print(f"{label:>22}: 200s {r['ok']:4d}  429s {r['busy']:4d}  other {r['other']:3d}  "
              f"p50 {r['p50']:8.0f} ms  p99 {r['p99']:8.0f} ms  wall {r['secs']:6.1f} s  peak RSS {r['rss'] / 2**20:7.0f} MiB")


if __name__ == "__main__":
    main()
