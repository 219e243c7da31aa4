"""Where ingest time goes, per span, in one process: decode+normalize (reference and fast
decoder, same bodies), rows -> Arrow, gzip inflate, and the DuckDB append with and
without the primary-key check that drops resent spans.

The server benchmark (bench_ingest.py) measures the whole service over loopback; on a
shared machine its figures move with the neighbours, these per-span CPU costs much
less (process_time, best of 3).

    python benchmarks/bench_ingest_split.py [--batches 20]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_ingest import SPANS_PER_BATCH, make_batches
from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.decode import decompress
from inferledger.collector.fastpath.traces import normalize_traces_fast, scan
from inferledger.collector.ingest_batch import IngestContext
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.settings import AttributionSettings, IngestSettings


def per_span(fn, items: list, spans_each: int) -> float:
    """CPU microseconds per span, best of 3 passes over distinct items."""
    fn(items[0])  # warm-up (numba cache load)
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for it in items:
            fn(it)
        best = min(best, (time.process_time() - t0) / (len(items) * spans_each) * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20)
    args = ap.parse_args()
    bodies = make_batches(args.batches)
    ctx = IngestContext("bench", IngestSettings(), AttributionSettings(), datetime(2026, 1, 1))
    n = SPANS_PER_BATCH

    ref = per_span(lambda b: normalize_traces(ExportTraceServiceRequest.FromString(b), ctx), bodies, n)
    upb = per_span(ExportTraceServiceRequest.FromString, bodies, n)
    fast = per_span(lambda b: normalize_traces_fast(b, ctx), bodies, n)
    kernel = per_span(scan, bodies, n)
    assert all(normalize_traces_fast(b, ctx).rows == normalize_traces(ExportTraceServiceRequest.FromString(b), ctx).rows
               for b in bodies[:2]), "fast path differs from the reference"
    row_batches = [normalize_traces_fast(b, ctx).rows for b in bodies]
    arrow = per_span(lambda rows: rows_to_arrow(rows, SPAN_ARROW_SCHEMA), row_batches, n)
    gz = [gzip.compress(b, 6) for b in bodies]
    inflate = per_span(lambda b: decompress(b, "gzip", 64 << 20), gz, n)

    tables = [rows_to_arrow(r, SPAN_ARROW_SCHEMA) for r in row_batches]
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_warehouse(str(Path(tmp) / "split.duckdb"))
        con = wh.cursor()
        con.execute("CREATE TABLE spans_nopk AS SELECT * FROM spans LIMIT 0")

        def append(sql: str):
            def go(t):
                con.register("_batch", t)
                con.execute("BEGIN")
                con.execute(sql)
                con.execute("COMMIT")
                con.unregister("_batch")
            return go

        # each pass must insert rows not stored yet: fresh ids per pass would cost here, so time one pass
        def once(sql: str) -> float:
            t0 = time.process_time()
            for t in tables:
                append(sql)(t)
            return (time.process_time() - t0) / (len(tables) * n) * 1e6

        pk = once("INSERT OR IGNORE INTO spans SELECT * FROM _batch")
        nopk = once("INSERT INTO spans_nopk SELECT * FROM _batch")
        wh.close()

    tracemalloc.start()
    normalize_traces_fast(bodies[0], ctx)
    _, peak_fast = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    normalize_traces(ExportTraceServiceRequest.FromString(bodies[0]), ctx)
    _, peak_ref = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"{args.batches} distinct SDK-encoded bodies of {n} GenAI spans, {len(bodies[0]):,} bytes each; "
          f"CPU us/span (process_time, best of 3; shared machine: {os.cpu_count()} cores, loaded)")
    print(f"reference  upb parse + normalize_traces  : {ref:7.2f} us/span  ({1e6 / ref:10,.0f} spans/s/core)")
    print(f"  of which upb parse alone               : {upb:7.2f}")
    print(f"fast       normalize_traces_fast         : {fast:7.2f} us/span  ({1e6 / fast:10,.0f} spans/s/core)")
    print(f"  of which the numba wire kernel         : {kernel:7.2f}")
    print(f"rows -> Arrow table                      : {arrow:7.2f}")
    print(f"gzip inflate                             : {inflate:7.2f}")
    print(f"DuckDB append, INSERT OR IGNORE (PK)     : {pk:7.2f}")
    print(f"DuckDB append, plain INSERT (no PK)      : {nopk:7.2f}")
    print(f"peak Python memory for one batch: fast {peak_fast / 1024:,.0f} KiB, reference {peak_ref / 1024:,.0f} KiB")


if __name__ == "__main__":
    main()
