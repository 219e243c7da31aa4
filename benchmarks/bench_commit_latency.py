"""Group-commit latency across checkpoints: what a request waits for while the WAL is folded in.

DuckDB checkpoints (writes the WAL into the database file) inside the commit that passes
`warehouse.checkpoint_threshold`, so that commit is slower than the others. This runs the
ingest writer's own transaction (`collector.writer._write`: recent-id filter, append,
duplicate-call links) on distinct groups of spans into a file warehouse, flat out once per
threshold, then at half that rate through the writer thread with and without
`ingest.idle_checkpoint_bytes`, and prints p50 / p99 / max commit latency and checkpoints seen.
First it sweeps the rows per commit (plain BEGIN / INSERT / COMMIT) for each DuckDB thread count:
a commit's CPU has a large fixed part, which is why the writer lingers for requests still being
decoded (`ingest.commit_target_rows`, `ingest.commit_linger_ms`).

    python benchmarks/bench_commit_latency.py [--groups 60] [--thresholds 16MB,256MB,1GB] [--threads 1,0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_ingest import make_batches
from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.fastpath.traces import normalize_traces_fast
from inferledger.collector.ingest_batch import IngestContext
from inferledger.collector.link_index import LinkIndex
from inferledger.collector.recent_ids import RecentIds
from inferledger.collector.settings import AttributionSettings, IngestSettings
from inferledger.collector.writer import IngestWriter, WriteBatch, _write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=60, help="group commits per threshold")
    ap.add_argument("--group", type=int, default=8, help="requests of 512 spans per group commit")
    ap.add_argument("--thresholds", default="16MB,256MB,1GB")
    ap.add_argument("--idle-checkpoint-bytes", type=int, default=64 << 20)
    ap.add_argument("--threads", default="1,0", help="DuckDB threads to compare (0: DuckDB's default, all cores)")
    ap.add_argument("--sweep", default="512,2048,4096,16384,65536", help="rows per commit in the size sweep")
    args = ap.parse_args()
    thresholds = args.thresholds.split(",")
    ctx = IngestContext("bench", IngestSettings(), AttributionSettings(), datetime(2026, 1, 1))
    # Distinct spans for every commit of every threshold: decode once, then vary the ids in Arrow.
    base = [rows_to_arrow(normalize_traces_fast(b, ctx).rows, SPAN_ARROW_SCHEMA) for b in make_batches(args.group)]
    group = pa.concat_tables(base)
    n = group.num_rows
    sweep_rows = [int(x) for x in args.sweep.split(",")]
    _sweep(base, sweep_rows, [int(t) for t in args.threads.split(",")])
    print(f"{args.groups} group commits of {n:,} distinct spans per configuration; file warehouse; "
          f"shared machine ({os.cpu_count()} cores, loaded)")
    print(f"{'load':>10} {'checkpoint_threshold':>20} {'idle ckpt':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
          f" {'checkpoints':>12} {'spans/s':>10}")
    flat_rate = None
    threads = int(args.threads.split(",")[0])
    for threshold in thresholds:
        lat, ckpts, secs = _run(args.groups, group, threshold, 0, None, threads)
        flat_rate = flat_rate or n * len(lat) / secs
        _row("flat out", threshold, 0, lat, ckpts, n * len(lat) / secs)
    for idle in (0, args.idle_checkpoint_bytes):  # half the first flat-out rate, through the writer thread
        lat, ckpts, secs = _run(args.groups, group, thresholds[-1], idle, flat_rate / 2 / n, threads)
        _row("half rate", thresholds[-1], idle, lat, ckpts, n * len(lat) / secs)


def _sweep(base: list[pa.Table], sizes: list[int], thread_counts: list[int]) -> None:
    """CPU µs/row of BEGIN / INSERT / COMMIT by rows per commit, for each DuckDB thread count:
    the cost is about fixed + marginal x rows, and the fixed part is what group commits share."""
    unit = pa.concat_tables(base)
    print(f"{'threads':>8} " + " ".join(f"{r:>9,}" for r in sizes) + "   rows per commit: CPU us/row (process time)")
    for threads in thread_counts:
        cells = []
        for rows in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                wh = open_warehouse(Path(tmp) / "sweep.duckdb", threads=threads, checkpoint_threshold="1GB")
                con = wh.cursor()
                commits = max(2, 65536 // rows)
                tables = [_distinct(pa.concat_tables([unit] * -(-rows // unit.num_rows)).slice(0, rows), g)
                          for g in range(commits + 1)]
                con.register("_batch", tables[0])
                con.execute("INSERT INTO spans SELECT * FROM _batch")  # warm-up
                t0 = time.process_time()
                for t in tables[1:]:
                    con.execute("BEGIN")
                    con.register("_batch", t)
                    con.execute("INSERT INTO spans SELECT * FROM _batch")
                    con.execute("COMMIT")
                cells.append((time.process_time() - t0) / (rows * commits) * 1e6)
                wh.close()
        label = str(threads) if threads else f"0 ({os.cpu_count()})"
        print(f"{label:>8} " + " ".join(f"{c:9.2f}" for c in cells))


def _row(load: str, threshold: str, idle: int, lat: list[float], ckpts: int, rate: float) -> None:
    q = statistics.quantiles(lat, n=100, method="inclusive")
    idle_s = f"{idle >> 20} MiB" if idle else "off"
    print(f"{load:>10} {threshold:>20} {idle_s:>10} {q[49] * 1e3:8.1f} {q[98] * 1e3:8.1f} {max(lat) * 1e3:8.1f}"
          f" {ckpts:>12} {rate:10,.0f}")


def _distinct(group: pa.Table, g: int) -> pa.Table:
    t = group
    for col, width in (("trace_id", 26), ("span_id", 10)):
        ids = pa.array([f"{g:06x}{i:0{width}x}" for i in range(group.num_rows)])
        t = t.set_column(t.schema.get_field_index(col), t.schema.field(col), ids)
    return t


def _run(groups: int, group: pa.Table, threshold: str, idle: int, rate: float | None,
         threads: int = 0) -> tuple[list[float], int, float]:
    """Commit latencies (s), checkpoints seen, seconds; `rate` (groups/s) submits through IngestWriter."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "lat.duckdb"
        wh = open_warehouse(db, checkpoint_threshold=threshold, threads=threads)
        wal = Path(str(db) + ".wal")
        tables = [_distinct(group, g) for g in range(groups)]
        lat: list[float] = []
        ckpts, prev = 0, 0
        start = time.perf_counter()
        if rate is None:
            con = wh.cursor()
            recent, links = RecentIds(2_000_000), LinkIndex(2_000_000)
            recent.load(con, 24, 0)
            links.load(con, 24, 0)
            for t in tables:
                t0 = time.perf_counter()
                done = _write(con, [WriteBatch(tenant="bench", tables={"spans": t})], recent, links)
                lat.append(time.perf_counter() - t0)
                recent.add(done[0], done[1])
                links.add(done[3], done[4])
                size = wal.stat().st_size if wal.exists() else 0
                ckpts += size < prev
                prev = size
        else:
            writer = IngestWriter(wh, idle_checkpoint_bytes=idle)
            writer.start()
            pending = []
            for i, t in enumerate(tables):
                time.sleep(max(0.0, start + i / rate - time.perf_counter()))
                t0 = time.perf_counter()
                fut = writer.submit(WriteBatch(tenant="bench", tables={"spans": t}))
                fut.add_done_callback(lambda _f, t0=t0: lat.append(time.perf_counter() - t0))
                pending.append(fut)
                size = wal.stat().st_size if wal.exists() else 0
                ckpts += size < prev
                prev = size
            for f in pending:
                f.result(120)
            writer.stop()
        secs = time.perf_counter() - start
        wh.close()
    return lat, ckpts, secs


if __name__ == "__main__":
    main()
