"""Where ingest time goes, per span, in one process: decode+normalize (reference and fast
decoder, same bodies), rows -> Arrow, the columnar fast decoder (straight to Arrow), gzip
inflate, the hand-off to and from a worker process (pickling; the event-loop side is in
bench_ingest's per-thread split), and the DuckDB append: with the old
primary key, plain, with the writer's recent-id filter (collector.recent_ids), and the
writer's whole transaction (filter + append + duplicate-call links, collector.dedupe).

The server benchmark (bench_ingest.py) measures the whole service over loopback; on a
shared machine its figures move with the neighbours, these per-span CPU costs much
less (process_time, best of 3).

    python benchmarks/bench_ingest_split.py [--batches 20] [--decode-only]
"""

from __future__ import annotations

import argparse
import gzip
import os
import pickle
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_ingest import SPANS_PER_BATCH, make_batches
from inferledger.analytics.warehouse import apply_migrations, bundled_migrations, open_warehouse, utcnow
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.decode import decompress
from inferledger.collector.dedupe import dedupe_batch
from inferledger.collector.fastpath.columnar import traces_table_fast
from inferledger.collector.fastpath.traces import normalize_traces_fast, scan
from inferledger.collector.ingest_batch import IngestContext
from inferledger.collector.link_index import LinkIndex
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.prepare import prepare_payload
from inferledger.collector.recent_ids import RecentIds
from inferledger.collector.settings import AttributionSettings, IngestSettings
from inferledger.collector.writer import WriteBatch, _write


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
    ap.add_argument("--batches", type=int, default=24)
    ap.add_argument("--group", type=int, default=8, help="requests per group commit in the append figures")
    ap.add_argument("--preload", type=int, default=200_000,
                    help="inference spans stored in the linking window before the linking comparison")
    ap.add_argument("--decode-only", action="store_true",
                    help="only the decoders (reference, columnar, worker-side prepare_payload); no DuckDB")
    args = ap.parse_args()
    bodies = make_batches(args.batches)
    ctx = IngestContext("bench", IngestSettings(), AttributionSettings(), datetime(2026, 1, 1))
    n = SPANS_PER_BATCH

    ref = per_span(lambda b: normalize_traces(ExportTraceServiceRequest.FromString(b), ctx), bodies, n)
    upb = per_span(ExportTraceServiceRequest.FromString, bodies, n)
    if args.decode_only:
        decode_only(bodies, ctx, ref, n)
        return
    fast = per_span(lambda b: normalize_traces_fast(b, ctx), bodies, n)
    kernel = per_span(scan, bodies, n)
    columnar = per_span(lambda b: traces_table_fast(b, ctx), bodies, n)
    for b in bodies[:2]:
        built = traces_table_fast(b, ctx)
        assert built.row_code_spans == 0, "bench spans should not need the row code"
        ref_rows = normalize_traces(ExportTraceServiceRequest.FromString(b), ctx).rows
        assert built.table.to_pylist() == rows_to_arrow(ref_rows, SPAN_ARROW_SCHEMA).to_pylist(), "columnar differs"
    assert all(normalize_traces_fast(b, ctx).rows == normalize_traces(ExportTraceServiceRequest.FromString(b), ctx).rows
               for b in bodies[:2]), "fast path differs from the reference"
    row_batches = [normalize_traces_fast(b, ctx).rows for b in bodies]
    arrow = per_span(lambda rows: rows_to_arrow(rows, SPAN_ARROW_SCHEMA), row_batches, n)
    gz = [gzip.compress(b, 6) for b in bodies]
    inflate = per_span(lambda b: decompress(b, "gzip", 64 << 20), gz, n)
    # The hand-off to and from an ingest worker: the request crosses as pickled bytes, the
    # worker's PreparedPayload comes back pickled with its tables as Arrow IPC streams.
    payloads = [prepare_payload("traces", b, "protobuf", None, "bench", IngestSettings(), AttributionSettings())
                for b in bodies]
    to_worker = per_span(lambda b: pickle.loads(pickle.dumps(("traces", b, "protobuf", None, "bench"))), bodies, n)
    pickled = [pickle.dumps(p) for p in payloads]
    result_out = per_span(pickle.dumps, payloads, n)
    result_in = per_span(pickle.loads, pickled, n)

    # The writer commits the requests queued together in one transaction: append in groups.
    singles = [rows_to_arrow(r, SPAN_ARROW_SCHEMA) for r in row_batches]
    tables = [pa.concat_tables(singles[i:i + args.group]) for i in range(0, len(singles), args.group)]
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_warehouse(str(Path(tmp) / "split.duckdb"))
        con = wh.cursor()
        con.execute("CREATE TABLE spans_nopk AS SELECT * FROM spans LIMIT 0")
        con.execute("CREATE TABLE spans_pk AS SELECT * FROM spans LIMIT 0")
        con.execute("ALTER TABLE spans_pk ADD PRIMARY KEY (tenant, trace_id, span_id)")  # the key before 0005

        def append(sql: str):
            def go(t):
                con.register("_batch", t)
                con.execute("BEGIN")
                con.execute(sql)
                con.execute("COMMIT")
                con.unregister("_batch")
            return go

        # each pass must insert rows not stored yet: fresh ids per pass would cost here, so time one pass
        def once(fn) -> float:
            t0 = time.process_time()
            for t in tables:
                fn(t)
            return (time.process_time() - t0) / sum(t.num_rows for t in tables) * 1e6

        pk = once(append("INSERT OR IGNORE INTO spans_pk SELECT * FROM _batch"))
        nopk = once(append("INSERT INTO spans_nopk SELECT * FROM _batch"))
        recent = RecentIds(2_000_000)
        recent.load(con, 24, 0)
        recent.new_rows(con, singles[0].slice(0, 1))  # warm-up (numba cache load)
        recent.add(np.zeros(0, np.uint64), np.zeros(0, np.int64))

        def check(t):
            fresh, hashes, starts = recent.new_rows(con, t)
            recent.add(hashes[fresh], starts[fresh])

        filt = once(check)
        recent = RecentIds(2_000_000)
        recent.load(con, 24, 0)
        links = LinkIndex(2_000_000)
        links.load(con, 24, 0)

        def writer(t):
            done = _write(con, [WriteBatch(tenant="bench", tables={"spans": t})], recent, links)
            recent.add(done[0], done[1])
            links.add(done[3], done[4])

        whole = once(writer)
        stored = con.execute("SELECT count(*) FROM spans").fetchone()[0]
        resend = once(writer)  # every span again: all dropped by the filter
        assert con.execute("SELECT count(*) FROM spans").fetchone()[0] == stored == len(singles) * n
        wh.close()

        # The writer as it was: the same transaction against a warehouse still on the keyed table.
        old = open_warehouse(str(Path(tmp) / "keyed.duckdb"), migrate=False)
        apply_migrations(old, [m for m in bundled_migrations() if m.version != 5])
        ocon = old.cursor()

        def keyed_writer(t):
            ocon.execute("BEGIN")
            ocon.register("_batch", t)
            ocon.execute("INSERT OR IGNORE INTO spans SELECT * FROM _batch")
            ocon.unregister("_batch")
            dedupe_batch(ocon, t, utcnow())
            ocon.execute("COMMIT")

        keyed = once(keyed_writer)
        keyed_resend = once(keyed_writer)
        old.close()
        linking = compare_linking(Path(tmp), singles[0], tables, args.preload)

    tracemalloc.start()
    normalize_traces_fast(bodies[0], ctx)
    _, peak_fast = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    traces_table_fast(bodies[0], ctx)
    _, peak_columnar = tracemalloc.get_traced_memory()
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
    print(f"rows -> Arrow table                      : {arrow:7.2f}   (fast rows + Arrow: {fast + arrow:.2f})")
    print(f"fast columnar traces_table_fast (+Arrow) : {columnar:7.2f} us/span  ({1e6 / columnar:10,.0f} spans/s/core)")
    print(f"gzip inflate                             : {inflate:7.2f}")
    print(f"hand-off: request to a worker (pickle)   : {to_worker:7.2f}")
    print(f"hand-off: worker's result out / back in  : {result_out:7.2f} / {result_in:.2f}  "
          f"(Arrow IPC, {len(pickled[0]):,} bytes a request)")
    print(f"-- appends in group commits of {args.group} requests ({args.group * n:,} spans), file warehouse --")
    print(f"DuckDB append, INSERT OR IGNORE (old PK) : {pk:7.2f}")
    print(f"DuckDB append, plain INSERT (no PK)      : {nopk:7.2f}")
    print(f"recent-id filter (hash, probe, record)   : {filt:7.2f}")
    print(f"writer transaction (filter+append+links) : {whole:7.2f}   old keyed table (PK append+links): {keyed:7.2f}")
    print(f"  the same batches resent (all dropped)  : {resend:7.2f}   old keyed table                  : {keyed_resend:7.2f}")
    print(f"-- linking with {args.preload:,} inference spans already stored in the window (distinct traces) --")
    print(f"writer transaction, every span linked    : {linking['all']:7.2f}   (as before the link index)")
    print(f"writer transaction, link index           : {linking['index']:7.2f}   "
          f"(spans queried {linking['queried']:,}, skipped {linking['skipped']:,}; index {linking['nbytes'] / 2**20:.0f} MiB, "
          f"load {linking['load_s']:.2f} s)")
    print(f"peak Python memory for one batch: fast rows {peak_fast / 1024:,.0f} KiB, columnar {peak_columnar / 1024:,.0f} KiB "
          f"(NumPy buffers counted, Arrow's own not), reference {peak_ref / 1024:,.0f} KiB")


def decode_only(bodies: list[bytes], ctx: IngestContext, ref: float, n: int) -> None:
    """The decode worker's share: the columnar decoder, and the whole worker-side request
    (prepare_payload: context, decode, counters) plus pickling its result (Arrow IPC)."""
    kernel = per_span(scan, bodies, n)
    columnar = per_span(lambda b: traces_table_fast(b, ctx), bodies, n)
    worker = per_span(lambda b: pickle.dumps(prepare_payload("traces", b, "protobuf", None, "bench", ctx.ingest,
                                                             ctx.attribution)), bodies, n)
    for b in bodies[:2]:
        ref_rows = normalize_traces(ExportTraceServiceRequest.FromString(b), ctx).rows
        assert traces_table_fast(b, ctx).table.to_pylist() == rows_to_arrow(ref_rows, SPAN_ARROW_SCHEMA).to_pylist()
    print(f"{len(bodies)} distinct SDK-encoded bodies of {n} GenAI spans, {len(bodies[0]):,} bytes each; "
          f"CPU us/span (process_time, best of 3; shared machine: {os.cpu_count()} cores, loaded)")
    print(f"reference  upb parse + normalize_traces  : {ref:7.2f} us/span  ({1e6 / ref:10,.0f} spans/s/core)")
    print(f"fast columnar traces_table_fast (+Arrow) : {columnar:7.2f} us/span  ({1e6 / columnar:10,.0f} spans/s/core)")
    print(f"  of which the numba wire kernel         : {kernel:7.2f}")
    print(f"worker side: prepare_payload + pickle    : {worker:7.2f}")


def compare_linking(tmp: Path, seed: pa.Table, tables: list[pa.Table], preload: int) -> dict:
    """The writer transaction with every inference span sent to the linking query, and with the
    link index, each on its own warehouse already holding `preload` distinct inference spans that
    start within the window of the batches (the query re-read them for every commit)."""
    out: dict = {}
    for variant in ("all", "index"):
        wh = open_warehouse(str(tmp / f"links_{variant}.duckdb"))
        con = wh.cursor()
        con.register("_seed", seed)
        con.execute(
            "INSERT INTO spans SELECT s.* REPLACE (md5(s.span_id || r.i::VARCHAR) AS trace_id,"
            " substr(md5(r.i::VARCHAR || s.span_id), 1, 16) AS span_id) FROM _seed s, range(?) r(i)",
            [max(1, preload // seed.num_rows)],
        )
        con.unregister("_seed")
        con.execute("CHECKPOINT")
        recent = RecentIds(2_000_000)
        recent.load(con, 24, 0)
        links = None
        if variant == "index":
            links = LinkIndex(2_000_000)
            t0 = time.perf_counter()
            links.load(con, 24, 0)
            out["load_s"] = time.perf_counter() - t0
        t0 = time.process_time()
        for t in tables:
            done = _write(con, [WriteBatch(tenant="bench", tables={"spans": t})], recent, links)
            recent.add(done[0], done[1])
            if links is not None:
                links.add(done[3], done[4])
        out[variant] = (time.process_time() - t0) / sum(t.num_rows for t in tables) * 1e6
        if links is not None:
            out.update(queried=links.queried, skipped=links.skipped, nbytes=links.nbytes)
        wh.close()
    return out


if __name__ == "__main__":
    main()
