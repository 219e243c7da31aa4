"""Ingest benchmark: pre-encoded OTLP/HTTP protobuf batches of 512 GenAI spans from a
concurrent loopback client into `inferledger serve` (ack after commit).

Runs one server per `ingest.decoder` (reference, then fast) and per `ingest.workers` value
on distinct batches, and with `--baseline DIR` the last decoder again from another checkout
(its own .venv) on the same kind of payloads: before and after in one run. Prints
acknowledged spans/s at full speed, p50/p99 request latency at full speed and at half that
rate, then (last decoder) gzip bodies and OTLP/gRPC flat out; CPU per span of the server,
split by thread (event loop, writer, other threads) and worker processes; rows per group
commit (from /metrics); peak RSS (server and workers) and the spans actually persisted
(counted in the warehouse, not 200s). No body is sent twice.

    python -m benchmarks.bench_ingest [--batches 120] [--workers 1,2] [--decoders reference,fast] [--baseline /work/main]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx
import psutil
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rich.console import Console
from rich.progress import track
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.harness import free_port, wait_ready
from tests.otlp_payloads import genai_spans, traces_request_bytes

SPANS_PER_BATCH = 512
HEADERS = {"Content-Type": "application/x-protobuf"}


def make_batches(n: int, spans: int = SPANS_PER_BATCH) -> list[bytes]:
    """`n` distinct requests of `spans` spans: one SDK-encoded template, fresh trace/span ids per batch."""
    template = ExportTraceServiceRequest.FromString(traces_request_bytes(genai_spans(spans)))
    out = []
    for _ in track(range(n), description="encoding batches", transient=True):
        req = ExportTraceServiceRequest()
        req.CopyFrom(template)
        for span in req.resource_spans[0].scope_spans[0].spans:
            span.trace_id = os.urandom(16)
            span.span_id = os.urandom(8)
        out.append(req.SerializeToString())
    return out


async def send_grpc(target: str, batches: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    """Send every batch over OTLP/gRPC flat out (raw serialized requests, no re-encoding)."""
    latencies: list[float] = []
    acked = 0
    queue: asyncio.Queue = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    async with grpc.aio.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)]) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        start = time.perf_counter()

        async def worker() -> None:
            nonlocal acked
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                while True:
                    try:
                        await export(body, timeout=60)
                        acked += SPANS_PER_BATCH
                        break
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                            break
                        await asyncio.sleep(1)
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, acked, time.perf_counter() - start


async def send_all(url: str, batches: list[bytes], concurrency: int, rate: float | None,
                   headers: dict | None = None) -> tuple[list[float], int, float]:
    """Send every batch; `rate` (requests/s) paces an open loop, None sends flat out."""
    latencies: list[float] = []
    acked = 0
    queue: asyncio.Queue = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    start = time.perf_counter()
    sent = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acked, sent
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if rate:
                due = start + sent / rate
                sent += 1
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            t0 = time.perf_counter()
            while True:
                r = await client.post(url, content=body, headers=headers or HEADERS)
                if r.status_code != 429:
                    break
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))
            latencies.append(time.perf_counter() - t0)
            if r.status_code == 200:
                acked += SPANS_PER_BATCH

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, acked, time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


PHASES = ("full speed", "half rate", "gzip, full speed", "gRPC, full speed")
# Where the server's CPU went, from /proc/<pid>/task: the event loop thread (HTTP/gRPC framing, auth,
# hand-off to the workers, futures), the writer thread, the other threads of the service process
# (DuckDB's workers, the process pool's feeder/manager, gRPC's core) and the decode worker processes.
PARTS = ("event loop", "writer", "other threads", "workers")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=120, help="requests per phase (512 spans each)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", default="1", help="ingest.workers values to run, comma-separated (0 = inline)")
    ap.add_argument("--decoders", default="reference,fast", help="ingest.decoder values to run, in this order")
    ap.add_argument("--baseline", default="", help="another checkout (e.g. /work/main) whose server runs the "
                    "last decoder too, with its own .venv, on the same payloads: the before/after in one run")
    ap.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for every server (config overrides)")
    ap.add_argument("--phoenix", default=os.environ.get("PHOENIX_BIN"),
                    help="path of a `phoenix` executable: send the same payloads to Arize Phoenix as the peer")
    ap.add_argument("--phoenix-wait", type=float, default=120, help="seconds to wait for Phoenix to persist")
    args = ap.parse_args()
    console = Console(width=max(Console().width, 140))
    decoders = args.decoders.split(",")
    configs = [(tree, d, int(w)) for w in args.workers.split(",") for tree, d in
               [("", d) for d in decoders] + ([(args.baseline, decoders[-1])] if args.baseline else [])]
    batches = iter(make_batches(args.batches * sum(4 if d == decoders[-1] else 2 for _, d, _ in configs)))
    extra_env = dict(kv.split("=", 1) for kv in args.env)
    results = [_run_server(tree, decoder, workers, args, batches, decoder == decoders[-1], extra_env)
               for tree, decoder, workers in configs]
    table = Table(title=f"OTLP ingest, {SPANS_PER_BATCH} GenAI spans per request, concurrency {args.concurrency}, "
                        "ack after commit (same run, distinct payloads)")
    for col in ("server", "workers", "phase", "acked spans", "spans/s", "p50 ms", "p99 ms", "CPU us/span",
                *(f"{p} us" for p in PARTS), "rows/commit"):
        table.add_column(col, justify="right")
    for r in results:
        for phase in PHASES:
            if phase not in r:
                continue
            acked, secs, lat = r[phase]
            split = r["split"][phase]
            table.add_row(r["name"], str(r["workers"]), phase, f"{acked:,}", f"{acked / secs:,.0f}",
                          f"{pct(lat, 50):.1f}", f"{pct(lat, 99):.1f}", f"{r['cpu_us'][phase]:.1f}",
                          *(f"{split[p]:.1f}" for p in PARTS), f"{r['rows_per_commit'][phase]:,.0f}")
    console.print(table)
    for r in results:
        console.print(f"{r['name']}, workers={r['workers']}: persisted {r['persisted']:,} "
                      f"(acknowledged {r['acked_total']:,}; equal: {r['persisted'] == r['acked_total']}); "
                      f"peak RSS: server {r['rss'] / 2**20:,.0f} MiB, workers {r['rss_workers'] / 2**20:,.0f} MiB")
    console.print("a server that does not name its writer thread (il-writer) shows the writer under 'other threads'")
    console.print(f"machine: {os.cpu_count()} cores; figures from a shared machine move with its load")
    console.print("goal: >= 150,000 spans/s, p99 < 100 ms at half rate")
    if args.phoenix:
        rate_full = results[-1]["full speed"][0] / results[-1]["full speed"][1]
        _compare_with_phoenix(console, args, [next(batches) for _ in range(args.batches)], rate_full)
    else:
        console.print("peer: Arize Phoenix not measured (pass --phoenix PATH; see benchmarks/phoenix_peer.py)")


def _run_server(tree: str, decoder: str, workers: int, args, batches, more: bool, extra_env: dict) -> dict:
    """One server: full speed, then half that rate (then gzip and gRPC when `more`), each phase on
    batches no phase sent. `tree` runs another checkout's server with its own virtualenv."""
    full = [next(batches) for _ in range(args.batches)]
    half = [next(batches) for _ in range(args.batches)]
    gz = [gzip.compress(next(batches), 6) for _ in range(args.batches)] if more else []
    grpc_bodies = [next(batches) for _ in range(args.batches)] if more else []
    python = str(Path(tree) / ".venv/bin/python") if tree else sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        http, grpc_port, admin = free_port(), free_port(), free_port()
        proc = subprocess.Popen(
            [python, "-m", "inferledger", "--db", str(db), "serve", "--no-jobs",
             "--otlp-http", f"127.0.0.1:{http}", "--otlp-grpc", f"127.0.0.1:{grpc_port}", "--admin", f"127.0.0.1:{admin}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tree or None,
            env={**os.environ, "INFERLEDGER_INGEST__WORKERS": str(workers), "INFERLEDGER_INGEST__DECODER": decoder,
                 **extra_env},
        )
        name = f"{decoder} ({Path(tree).name})" if tree else decoder
        out: dict = {"name": name, "workers": workers, "cpu_us": {}, "split": {}, "rows_per_commit": {}}
        try:
            wait_ready(f"http://127.0.0.1:{admin}", proc)
            server = psutil.Process(proc.pid)
            url = f"http://127.0.0.1:{http}/v1/traces"
            asyncio.run(send_all(url, make_batches(4), 2, None))  # warm-up (and numba cache load)
            sends = {
                "full speed": lambda: send_all(url, full, args.concurrency, None),
                "half rate": lambda: send_all(url, half, args.concurrency, _half(out)),
            }
            if more:
                sends["gzip, full speed"] = lambda: send_all(url, gz, args.concurrency, None,
                                                             {**HEADERS, "Content-Encoding": "gzip"})
                sends["gRPC, full speed"] = lambda: send_grpc(f"127.0.0.1:{grpc_port}", grpc_bodies, args.concurrency)
            for phase, send in sends.items():
                parts0, commits0 = _cpu_parts(server), _commits(admin)
                lat, acked, secs = asyncio.run(send())
                parts1, commits1 = _cpu_parts(server), _commits(admin)
                out["rows_per_commit"][phase] = (commits1[0] - commits0[0]) / max(commits1[1] - commits0[1], 1)
                out[phase] = (acked, secs, lat)
                split = {p: (parts1.get(p, 0.0) - parts0.get(p, 0.0)) / max(acked, 1) * 1e6 for p in PARTS}
                out["split"][phase] = split
                out["cpu_us"][phase] = sum(split.values())
            stats = httpx.get(f"http://127.0.0.1:{admin}/admin/stats", timeout=30).json()
            out["rss"] = _peak_rss(server)
            out["rss_workers"] = sum(_peak_rss(c) for c in server.children(recursive=True))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    out["persisted"] = stats["tables"]["spans"]
    out["acked_total"] = sum(out[p][0] for p in PHASES if p in out) + 4 * SPANS_PER_BATCH  # + the warm-up
    return out


def _commits(admin: int) -> tuple[float, float]:
    """(rows committed, commits) so far, from the server's /metrics."""
    text = httpx.get(f"http://127.0.0.1:{admin}/metrics", timeout=30).text
    got = {}
    for line in text.splitlines():
        for suffix in ("sum", "count"):
            if line.startswith(f"inferledger_ingest_commit_rows_{suffix} "):
                got[suffix] = float(line.split()[1])
    return got.get("sum", 0.0), got.get("count", 0.0)


def _half(out: dict) -> float:
    acked, secs, _ = out["full speed"]
    return acked / secs / 2 / SPANS_PER_BATCH


def _cpu_parts(proc: psutil.Process) -> dict[str, float]:
    """CPU seconds so far of the server's threads, grouped as in PARTS, and of its worker processes."""
    parts = dict.fromkeys(PARTS, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{proc.pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        part = "event loop" if task.name == str(proc.pid) else "writer" if comm == "il-writer" else "other threads"
        parts[part] += cpu
    for child in proc.children(recursive=True):
        try:
            t = child.cpu_times()
            parts["workers"] += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return parts


def _compare_with_phoenix(console: Console, args, batches: list[bytes], our_rate: float) -> None:
    from benchmarks.phoenix_peer import phoenix_server

    with phoenix_server(args.phoenix, free_port(), free_port()) as phx:
        url = f"{phx.url}/v1/traces"
        lat, acked, secs = asyncio.run(send_all(url, batches, args.concurrency, None))
        stored_at_ack = phx.persisted_spans()
        stored, waited = phx.wait_persisted(acked, args.phoenix_wait)
        rss = _peak_rss(psutil.Process(phx.proc.pid))
    acked_rate = acked / secs
    table = Table(title="peer: Arize Phoenix, same payloads, same client")
    for col in ("", "acked spans/s", "p50 ms", "p99 ms", "persisted when the last 200 came", "persisted later", "peak RSS MiB"):
        table.add_column(col, justify="right")
    table.add_row("Phoenix", f"{acked_rate:,.0f}", f"{pct(lat, 50):.1f}", f"{pct(lat, 99):.1f}",
                  f"{stored_at_ack:,} of {acked:,}", f"{stored:,} after {waited:.0f} s", f"{rss / 2**20:,.0f}")
    console.print(table)
    # Ours are durable when acknowledged; Phoenix's only when counted in its database.
    phoenix_durable_rate = stored / (secs + waited)
    console.print(f"InferLedger / Phoenix: {our_rate / acked_rate:.1f}x acknowledged spans/s; "
                  f"{our_rate / max(phoenix_durable_rate, 1e-9):.0f}x persisted spans/s "
                  f"(Phoenix: {stored:,} persisted in {secs + waited:.0f} s = {phoenix_durable_rate:,.0f} spans/s)")


def _peak_rss(proc: psutil.Process) -> int:
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return proc.memory_info().rss


if __name__ == "__main__":
    main()
