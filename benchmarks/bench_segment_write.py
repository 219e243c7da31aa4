"""What a durable Arrow segment log in front of DuckDB would cost, against today's direct commits.

    .venv/bin/python -m benchmarks.bench_segment_write [--rows 2048] [--total 262144] [--merge 131072]

The ingest writer acknowledges after a DuckDB commit of each group (about 2,000 spans), and a
small commit costs DuckDB far more per row than a large one, plus the checkpoint that later
folds the WAL into the file. The alternative measured here: acknowledge after the group is
appended to an Arrow IPC segment file and fsync'd, and merge the segments into DuckDB in
commits of `--merge` rows. Same run, same distinct spans, 1 DuckDB thread, file warehouse:

* direct: BEGIN / INSERT / COMMIT per group of `--rows`, then CHECKPOINT (counted: the
  service pays it sooner or later);
* segments: per group, write the Arrow batch to the open segment and fsync it; every
  `--merge` rows, read the segment back (memory-mapped) and INSERT it in one commit, then
  CHECKPOINT at the end.

Printed: CPU µs/row (process time) and wall µs/row of each part, and the fsync latency
p50/p99 (what an acknowledgement would wait for).
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
import pyarrow.ipc as ipc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_commit_latency import _distinct
from benchmarks.bench_ingest import make_batches
from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.fastpath.traces import normalize_traces_fast
from inferledger.collector.ingest_batch import IngestContext
from inferledger.collector.settings import AttributionSettings, IngestSettings


def _groups(rows: int, total: int) -> list[pa.Table]:
    ctx = IngestContext("bench", IngestSettings(), AttributionSettings(), datetime(2026, 1, 1))
    unit = pa.concat_tables([rows_to_arrow(normalize_traces_fast(b, ctx).rows, SPAN_ARROW_SCHEMA)
                             for b in make_batches(max(1, rows // 512))])
    unit = pa.concat_tables([unit] * -(-rows // unit.num_rows)).slice(0, rows)
    return [_distinct(unit, g) for g in range(total // rows)]


def _direct(tmp: Path, groups: list[pa.Table]) -> tuple[float, float, float]:
    wh = open_warehouse(tmp / "direct.duckdb", threads=1, checkpoint_threshold="1GB")
    con = wh.cursor()
    c0, w0 = time.process_time(), time.perf_counter()
    for t in groups:
        con.execute("BEGIN")
        con.register("_batch", t)
        con.execute("INSERT INTO spans SELECT * FROM _batch")
        con.execute("COMMIT")
    c1 = time.process_time()
    con.execute("CHECKPOINT")
    c2, w2 = time.process_time(), time.perf_counter()
    wh.close()
    return c1 - c0, c2 - c1, w2 - w0


def _segments(tmp: Path, groups: list[pa.Table], merge_rows: int) -> tuple[float, float, float, list[float]]:
    wh = open_warehouse(tmp / "segments.duckdb", threads=1, checkpoint_threshold="1GB")
    con = wh.cursor()
    seg_cpu = merge_cpu = 0.0
    fsyncs: list[float] = []
    w0 = time.perf_counter()
    n_seg = 0

    def open_segment():
        path = tmp / f"seg-{n_seg:06d}.arrows"
        f = open(path, "wb")
        return path, f, ipc.new_stream(f, groups[0].schema)

    path, f, writer = open_segment()
    in_segment = 0
    for i, t in enumerate(groups):
        c = time.process_time()
        writer.write_table(t)
        f.flush()
        s = time.perf_counter()
        os.fdatasync(f.fileno())
        fsyncs.append(time.perf_counter() - s)
        seg_cpu += time.process_time() - c
        in_segment += t.num_rows
        if in_segment >= merge_rows or i == len(groups) - 1:
            c = time.process_time()
            writer.close()
            f.close()
            with pa.memory_map(str(path)) as src:
                table = ipc.open_stream(src).read_all()
            con.execute("BEGIN")
            con.register("_batch", table)
            con.execute("INSERT INTO spans SELECT * FROM _batch")
            con.execute("COMMIT")
            con.unregister("_batch")
            del table
            path.unlink()
            merge_cpu += time.process_time() - c
            n_seg += 1
            in_segment = 0
            if i < len(groups) - 1:
                path, f, writer = open_segment()
    c = time.process_time()
    con.execute("CHECKPOINT")
    merge_cpu += time.process_time() - c
    wall = time.perf_counter() - w0
    wh.close()
    return seg_cpu, merge_cpu, wall, fsyncs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2048, help="spans per acknowledged group")
    ap.add_argument("--total", type=int, default=262_144, help="spans written by each path")
    ap.add_argument("--merge", type=int, default=131_072, help="rows per DuckDB commit of the segment path")
    args = ap.parse_args()
    groups = _groups(args.rows, args.total)
    n = sum(t.num_rows for t in groups)
    with tempfile.TemporaryDirectory() as tmp:
        commit_cpu, ckpt_cpu, direct_wall = _direct(Path(tmp), groups)
        seg_cpu, merge_cpu, seg_wall, fsyncs = _segments(Path(tmp), groups, args.merge)
    q = statistics.quantiles(fsyncs, n=100, method="inclusive")
    us = 1e6 / n
    print(f"{n:,} distinct spans in groups of {args.rows:,}; file warehouse, 1 DuckDB thread; "
          f"{os.cpu_count()} cores, shared machine")
    print(f"direct   : commits {commit_cpu * us:.2f} + checkpoint {ckpt_cpu * us:.2f} = "
          f"{(commit_cpu + ckpt_cpu) * us:.2f} CPU us/row; wall {direct_wall * us:.2f} us/row")
    print(f"segments : append+fsync {seg_cpu * us:.2f} + merges of {args.merge:,} rows and checkpoint "
          f"{merge_cpu * us:.2f} = {(seg_cpu + merge_cpu) * us:.2f} CPU us/row; wall {seg_wall * us:.2f} us/row")
    print(f"fsync per group: p50 {q[49] * 1e3:.2f} ms, p99 {q[98] * 1e3:.2f} ms, max {max(fsyncs) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
