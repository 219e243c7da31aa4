"""Ingest benchmark: pre-encoded OTLP/HTTP protobuf batches of 512 GenAI spans from a
concurrent loopback client into `inferledger serve` (ack after commit).

Runs one server per `ingest.decoder` (reference, then fast) on distinct batches.
Prints acknowledged spans/s at full speed, p50/p99 request latency at full speed and
at half that rate, then (last server) gzip bodies and OTLP/gRPC flat out; CPU per span of
the server and its workers, the server's peak RSS (workers' too), and the spans actually
persisted (counted in the warehouse, not 200s). No body is sent twice.

    python -m benchmarks.bench_ingest [--batches 120] [--concurrency 8] [--decoders reference,fast]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=120, help="requests per phase (512 spans each)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="ingest.workers of the server (0 = inline)")
    ap.add_argument("--decoders", default="reference,fast", help="ingest.decoder values to run, in this order")
    ap.add_argument("--phoenix", default=os.environ.get("PHOENIX_BIN"),
                    help="path of a `phoenix` executable: send the same payloads to Arize Phoenix as the peer")
    ap.add_argument("--phoenix-wait", type=float, default=120, help="seconds to wait for Phoenix to persist")
    args = ap.parse_args()
    console = Console(width=max(Console().width, 120))
    batches = make_batches(args.batches * 2 * (len(args.decoders.split(",")) + 1))  # + the gzip and gRPC phases

    results = [_run_server(decoder, args, batches) for decoder in args.decoders.split(",")]
    table = Table(title=f"OTLP/HTTP ingest, {SPANS_PER_BATCH} GenAI spans per batch, concurrency {args.concurrency}, "
                        f"ingest.workers={args.workers}, ack after commit (same run, same distinct payloads)")
    for col in ("decoder", "phase", "acked spans", "seconds", "spans/s", "p50 ms", "p99 ms", "CPU us/span"):
        table.add_column(col, justify="right")
    for r in results:
        for phase in ("full speed", "half rate", "gzip, full speed", "gRPC, full speed"):
            if phase not in r:
                continue
            acked, secs, lat = r[phase]
            table.add_row(r["decoder"], phase, f"{acked:,}", f"{secs:.2f}", f"{acked / secs:,.0f}",
                          f"{pct(lat, 50):.1f}", f"{pct(lat, 99):.1f}", f"{r['cpu_us'][phase]:.1f}")
    console.print(table)
    for r in results:
        console.print(f"{r['decoder']}: persisted spans in the warehouse: {r['persisted']:,} "
                      f"(acknowledged {r['acked_total']:,}; equal: {r['persisted'] == r['acked_total']}); "
                      f"peak RSS: server {r['rss'] / 2**20:,.0f} MiB, workers {r['rss_workers'] / 2**20:,.0f} MiB")
    console.print(f"machine: {os.cpu_count()} cores; figures from a shared machine move with its load")
    console.print("goal: >= 150,000 spans/s, p99 < 100 ms at half rate")
    rate_full = results[-1]["full speed"][0] / results[-1]["full speed"][1]
    full = batches[: args.batches]
    if args.phoenix:
        _compare_with_phoenix(console, args, full, rate_full)
    else:
        console.print("peer: Arize Phoenix not measured (pass --phoenix PATH; see benchmarks/phoenix_peer.py)")


def _run_server(decoder: str, args, batches: list[bytes]) -> dict:
    """One server with `ingest.decoder = decoder`: full speed, then half that rate, on batches no run sent."""
    idx = args.decoders.split(",").index(decoder)
    mine = batches[idx * 2 * args.batches:(idx + 1) * 2 * args.batches]
    full, half = mine[: args.batches], mine[args.batches:]
    last = idx == len(args.decoders.split(",")) - 1
    extra = batches[-2 * args.batches:]
    gz = [gzip.compress(b, 6) for b in extra[: args.batches]] if last else []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        http, grpc_port, admin = free_port(), free_port(), free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "inferledger", "--db", str(db), "serve", "--no-jobs",
             "--otlp-http", f"127.0.0.1:{http}", "--otlp-grpc", f"127.0.0.1:{grpc_port}", "--admin", f"127.0.0.1:{admin}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "INFERLEDGER_INGEST__WORKERS": str(args.workers), "INFERLEDGER_INGEST__DECODER": decoder},
        )
        out: dict = {"decoder": decoder, "cpu_us": {}}
        try:
            wait_ready(f"http://127.0.0.1:{admin}", proc)
            server = psutil.Process(proc.pid)
            url = f"http://127.0.0.1:{http}/v1/traces"
            asyncio.run(send_all(url, make_batches(4), 2, None))  # warm-up (and numba cache load)
            for phase, rate in (("full speed", None), ("half rate", 0.0)):
                if rate is not None:
                    acked_f, secs_f, _ = out["full speed"]
                    rate = acked_f / secs_f / 2 / SPANS_PER_BATCH
                cpu0 = _tree_cpu(server)
                lat, acked, secs = asyncio.run(send_all(url, full if rate is None else half, args.concurrency, rate))
                out[phase] = (acked, secs, lat)
                out["cpu_us"][phase] = (_tree_cpu(server) - cpu0) / max(acked, 1) * 1e6
            if last:  # gzip bodies and OTLP/gRPC, flat out, on batches no phase sent
                for phase, send in (
                    ("gzip, full speed", lambda: send_all(url, gz, args.concurrency, None,
                                                          {**HEADERS, "Content-Encoding": "gzip"})),
                    ("gRPC, full speed", lambda: send_grpc(f"127.0.0.1:{grpc_port}", extra[args.batches:],
                                                           args.concurrency)),
                ):
                    cpu0 = _tree_cpu(server)
                    lat, acked, secs = asyncio.run(send())
                    out[phase] = (acked, secs, lat)
                    out["cpu_us"][phase] = (_tree_cpu(server) - cpu0) / max(acked, 1) * 1e6
            stats = httpx.get(f"http://127.0.0.1:{admin}/admin/stats", timeout=30).json()
            out["rss"] = _peak_rss(server)
            out["rss_workers"] = sum(_peak_rss(c) for c in server.children(recursive=True))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    out["persisted"] = stats["tables"]["spans"]
    out["acked_total"] = sum(v[0] for k, v in out.items() if k not in ("decoder", "cpu_us") and isinstance(v, tuple))
    out["acked_total"] += 4 * SPANS_PER_BATCH  # the warm-up
    return out


def _tree_cpu(proc: psutil.Process) -> float:
    """CPU seconds of the server and its worker processes."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


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
