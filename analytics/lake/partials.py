"""Work done on a Dask worker for one tenant-day partition of the lake, returning a mergeable partial.

Each task reads only the columns its query needs (pyarrow, through the lake's
filesystem, so a local disk and object storage read alike), keeps one copy of each
span, and runs the warehouse's own SQL text over that Arrow slice in a plain
in-process DuckDB connection: the cost pass of `analytics.cost.lines` feeding the
showback aggregate of `analytics.cost.showback.build` in one statement, and the SLI
conditions of `analytics.slo.rollup`. No warehouse is built and no cost line is
stored: the partition's rows go from Parquet to a few hundred aggregate rows in one
vectorised pass. Partials are sums keyed by day or minute, so the client merges
them by adding.

Why dedupe only across nodes: a span resent to two collectors is in two nodes'
files of the same partition (the partition comes from the span itself), while one
node's files hold each span once (its warehouse's primary key, one file per hour).
"""

from __future__ import annotations

import os
import resource
import threading
import time
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from inferledger.analytics.lake.store import open_lake
from inferledger.analytics.warehouse import Warehouse, open_warehouse

KEY_COLUMNS = ["tenant", "trace_id", "span_id"]
MODEL_KEY_COLUMNS = ["provider", "request_model", "response_model"]
COST_COLUMNS = KEY_COLUMNS + [
    "start_time", "team", "feature", "provider", "request_model", "response_model", "k8s_pod", "host_name", "is_error",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens",
    "attributes", "deployment_environment", "input_includes_cache",
    # what the cost pass filters on: plausibility (analytics.quarantine) and inference-row markers
    "client_cost_usd", "time_to_first_token_s", "is_inference", "duplicate_of",
]
# read by every span SLI besides its own filter and value columns (REQUEST_ROW, the minute)
SLO_COLUMNS = ["start_time", "is_error", "is_inference", "duplicate_of"]
_local = threading.local()


def _warehouse() -> Warehouse:
    """One migrated in-memory warehouse per worker thread, for jobs that need the warehouse's tables."""
    wh = getattr(_local, "wh", None)
    if wh is None:
        wh = _local.wh = open_warehouse(":memory:")
    return wh


def _duck(threads: int) -> duckdb.DuckDBPyConnection:
    """One plain DuckDB connection per worker thread (no schema, nothing to migrate), `threads` wide."""
    con = getattr(_local, "duck", None)
    if con is None:
        con = _local.duck = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        _local.threads = 0
    if _local.threads != threads:
        con.execute(f"SET threads = {int(threads)}")
        _local.threads = threads
    return con


def node_of(path: str) -> str:
    """The collector node in a lake file name `HH.<node>.parquet` (the whole name if it has another shape)."""
    name = path.rsplit("/", 1)[-1]
    parts = name.split(".")
    return ".".join(parts[1:-1]) if len(parts) >= 3 else name


def read_files(lake_uri: str, files: list[str], columns: list[str]) -> tuple[pa.Table, int]:
    """The columns of a partition's files, and the compressed bytes of those column chunks (what was read)."""
    lake = open_lake(lake_uri)
    tables, read = [], 0
    names = set(columns)
    for path in files:
        pf = pq.ParquetFile(lake.fs.open_input_file(path))
        md = pf.metadata
        for rg in range(md.num_row_groups):
            group = md.row_group(rg)
            for c in range(md.num_columns):
                col = group.column(c)
                if col.path_in_schema in names:
                    read += col.total_compressed_size
        tables.append(pf.read(columns=columns))
    return (pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})), read


def unique_spans(data: pa.Table, files: list[str]) -> pa.Table:
    """One row per (tenant, trace_id, span_id): the first copy, when the files come from more than one node.

    Resent spans are rare, so the exact key comparison runs only on the rows whose
    span_id hash occurs more than once (a sort of 64-bit hashes finds them); every
    other row is unique without comparing strings.
    """
    if len({node_of(f) for f in files}) <= 1 or data.num_rows < 2:
        return data
    import numpy as np
    import polars as pl

    h = pl.from_arrow(data["span_id"]).hash(seed=0).to_numpy()
    hs = np.sort(h)
    dup = np.unique(hs[1:][hs[1:] == hs[:-1]])
    if not len(dup):
        return data
    cand = dup[np.minimum(np.searchsorted(dup, h), len(dup) - 1)] == h
    idx = np.flatnonzero(cand)  # ascending: file order, so "first" is the first copy read
    keys = pl.from_arrow(data.select(KEY_COLUMNS).take(pa.array(idx)))
    first = keys.select(pl.struct(KEY_COLUMNS).is_first_distinct()).to_series().to_numpy()
    keep = np.ones(len(h), dtype=bool)
    keep[idx[~first]] = False
    return data if keep.all() else data.filter(pa.array(keep))


def read_spans(lake_uri: str, files: list[str], columns: list[str]) -> tuple[pa.Table, int, int]:
    """A partition's spans, each once, with `columns`: (table, bytes read, rows before dedupe)."""
    need = list(dict.fromkeys(columns + (KEY_COLUMNS if len({node_of(f) for f in files}) > 1 else [])))
    data, read = read_files(lake_uri, files, need)
    return unique_spans(data, files), read, data.num_rows


def load_spans(wh: Warehouse, data: pa.Table) -> int:
    """Replace a warehouse's `spans` with `data`, one row per (tenant, trace, span); returns the rows kept."""
    con = wh.con
    con.register("lake_part", data)
    try:
        con.execute("DROP TABLE IF EXISTS spans")
        con.execute("CREATE TABLE spans AS SELECT DISTINCT ON (tenant, trace_id, span_id) * FROM lake_part")
    finally:
        con.unregister("lake_part")
    return con.execute("SELECT count(*) FROM spans").fetchall()[0][0]


def _timed(fn):
    """Wrap a task: its partial plus seconds, bytes read and the worker's peak RSS."""

    def run(*args: Any, **kwargs: Any) -> dict:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        out["seconds"] = time.perf_counter() - t0
        out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return out

    run.__name__ = fn.__name__
    run.__qualname__ = fn.__qualname__
    run.__doc__ = fn.__doc__
    return run


def usage_sql() -> str:
    """The showback's daily usage aggregate over the cost pass, as one statement over `spans`.

    Both are the single node's SQL text: the cost pass's SELECT becomes the
    `cost_lines` the aggregate reads, so every token and decimal is computed by the
    same expressions. Parameters: start, end, computed_at (unused), start, end.
    """
    from inferledger.analytics.cost.lines import HAS_USAGE, INFERENCE_ROW, _cost_select
    from inferledger.analytics.cost.showback.build import _USAGE

    head = "CREATE OR REPLACE TEMP TABLE sb_usage AS"
    text = _USAGE.strip()
    if not text.startswith(head) or text.count("FROM cost_lines") != 1:
        raise RuntimeError("the showback usage aggregate changed shape; update analytics.lake.partials.usage_sql")
    lines = _cost_select(f"{HAS_USAGE} AND s.start_time >= ? AND s.start_time < ? AND {INFERENCE_ROW}")
    return text[len(head):].replace("FROM cost_lines", f"FROM ({lines}) cost_lines")


def default_threads(workers: int = 1) -> int:
    """DuckDB threads for one task: the machine's cores shared by the worker processes on it."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


@_timed
def model_keys(lake_uri: str, files: list[str]) -> dict:
    """Distinct (provider, request model, response model) of the partition: what the client must price.

    Every key is sent, usage or not: pricing a key no usage span has adds price rows
    no cost line joins, and reading three dictionary-encoded columns is what keeps
    this pass cheap next to the pricing pass.
    """
    data, read = read_files(lake_uri, files, MODEL_KEY_COLUMNS)
    keys = data.group_by(MODEL_KEY_COLUMNS).aggregate([]) if data.num_rows else data
    out = {(p or "", rq or "", rs or "") for p, rq, rs in zip(*(keys[c].to_pylist() for c in MODEL_KEY_COLUMNS))}
    return {"partial": sorted(out), "bytes_read": read, "rows": data.num_rows}


@_timed
def showback_usage(lake_uri: str, files: list[str], prices: dict[str, pa.Table], start: datetime,
                   end: datetime, threads: int = 1) -> dict:
    """The showback's daily usage rows (`sb_usage`) of the partition's spans in [start, end), priced."""
    data, read, _ = read_spans(lake_uri, files, COST_COLUMNS)
    con = _duck(threads)
    names = ["spans", *prices]
    con.register("spans", data)
    for name, table in prices.items():
        con.register(name, table)
    try:
        usage = con.sql(usage_sql(), params=[start, end, datetime(1970, 1, 1), start, end]).to_arrow_table()
    finally:
        for name in names:
            con.unregister(name)
    return {"partial": usage, "bytes_read": read, "rows": data.num_rows}


@_timed
def slo_minutes(lake_uri: str, files: list[str], queries: list[tuple[str, str, list]], columns: list[str],
                since: datetime, threads: int = 1) -> dict:
    """(slo_id, minute, good, total) of every SLO over the partition's spans from `since`."""
    data, read, _ = read_spans(lake_uri, files, sorted(set(SLO_COLUMNS + columns)))
    con = _duck(threads)
    con.register("spans", data)
    try:
        parts = [con.sql(sql, params=[slo_id, *params, since]).to_arrow_table() for slo_id, sql, params in queries]
    finally:
        con.unregister("spans")
    return {"partial": pa.concat_tables(parts) if parts else None, "bytes_read": read, "rows": data.num_rows}
