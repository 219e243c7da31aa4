"""What linking duplicate spans at commit costs: group commits of 512 GenAI spans with and
without collector.dedupe, on the same warehouse size, in the same run.

Every span has its own trace and response id (the common case: nothing to link), so
the figure is the price of looking; half the batches also carry nested pairs (an
instrumentation span over the SDK's) to show the linking itself. Peak RSS is printed.

usage: .venv/bin/python benchmarks/bench_dedupe.py [--batches N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import inferledger.collector.writer as writer
from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.dedupe import dedupe_batch
from inferledger.collector.link_index import LinkIndex
from inferledger.collector.normalize import normalize_traces
from tests.otlp_builders import T0, ctx, span, traces

ATTRS = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 3}


def batch(k: int, pairs: bool):
    spans = []
    for i in range(512 if not pairs else 256):
        tid = (k * 1_000_000 + i + 1).to_bytes(16, "big")
        parent = (k * 1_000_000 + i + 1).to_bytes(8, "big")
        start = T0 + k * 1_000_000_000
        spans.append(span({**ATTRS, "gen_ai.response.id": f"r{k}-{i}"}, trace_id=tid, span_id=parent, start=start))
        if pairs:
            child = (k * 1_000_000 + i + 500_001).to_bytes(8, "big")
            spans.append(span({**ATTRS, "gen_ai.response.id": f"r{k}-{i}"}, trace_id=tid, span_id=child,
                              parent=parent, start=start + 1000))
    return rows_to_arrow(normalize_traces(traces(spans), ctx()).rows, SPAN_ARROW_SCHEMA)


def run(tables, with_dedupe: bool, index: bool = False) -> tuple[float, float, int]:
    writer.dedupe_batch = dedupe_batch if with_dedupe else (lambda *a, **k: 0)
    links = LinkIndex(2_000_000) if index else None  # a new warehouse is empty: nothing is missing from it
    d = Path(tempfile.mkdtemp())
    wh = open_warehouse(d / "w.duckdb")
    con = wh.cursor()
    times = []
    for t in tables:
        s = time.perf_counter()
        done = writer._write(con, [writer.WriteBatch(tenant="acme", tables={"spans": t})], None, links)
        if links is not None:
            links.add(done[3], done[4])
        times.append(time.perf_counter() - s)
    (dups,) = con.execute("SELECT count(*) FROM spans WHERE duplicate_of IS NOT NULL").fetchone()
    con.close()
    wh.close()
    tail = times[len(times) // 2:]
    return sum(times), 1000 * sum(tail) / len(tail), dups


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=60)
    args = ap.parse_args()
    tables = [batch(k, pairs=k % 2 == 1) for k in range(args.batches)]
    n = sum(t.num_rows for t in tables)
    ref_total, ref_ms, _ = run(tables, False)
    total, ms, dups = run(tables, True)
    idx_total, idx_ms, idx_dups = run(tables, True, index=True)
    assert dups == idx_dups == 256 * (args.batches // 2), (dups, idx_dups)
    print(f"{n} spans in {args.batches} commits (half with nested pairs)")
    print(f"without dedupe (reference): {ref_total:.2f} s, {ref_ms:.1f} ms a commit (second half)")
    print(f"with dedupe:                {total:.2f} s, {ms:.1f} ms a commit (second half); {dups} spans linked")
    print(f"with dedupe and link index: {idx_total:.2f} s, {idx_ms:.1f} ms a commit (second half); {idx_dups} spans linked")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    writer.dedupe_batch = dedupe_batch


if __name__ == "__main__":
    main()
