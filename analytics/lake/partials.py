"""Work done on a Dask worker for one tenant-day partition of the lake, returning a mergeable partial.

Each task reads only the columns its query needs, keeps one copy of each span
(a span resent to two collectors is in two nodes' files of the same partition,
because the partition comes from the span itself), and runs the warehouse's own
SQL on that slice in a private in-memory DuckDB: the cost pass of
`analytics.cost.lines`, the showback aggregate of `analytics.cost.showback.build`,
the SLI conditions of `analytics.slo.rollup`. Partials are sums keyed by day or
minute, so the client merges them by adding.
"""

from __future__ import annotations

import resource
import threading
import time
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from inferledger.analytics.lake.store import open_lake
from inferledger.analytics.warehouse import Warehouse, open_warehouse

KEY_COLUMNS = ["tenant", "trace_id", "span_id"]
COST_COLUMNS = KEY_COLUMNS + [
    "start_time", "team", "feature", "provider", "request_model", "response_model", "k8s_pod", "host_name", "is_error",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens",
    "attributes", "deployment_environment", "input_includes_cache",
    # what the cost pass filters on: plausibility (analytics.quarantine) and inference-row markers
    "client_cost_usd", "time_to_first_token_s", "is_inference", "duplicate_of",
]
_local = threading.local()


def _warehouse() -> Warehouse:
    """One migrated in-memory warehouse per worker thread, reused by its tasks (migrating costs ~0.3 s)."""
    wh = getattr(_local, "wh", None)
    if wh is None:
        wh = _local.wh = open_warehouse(":memory:")
    return wh


def read_files(lake_uri: str, files: list[str], columns: list[str]) -> tuple[pa.Table, int]:
    """The columns of a partition's files, and the compressed bytes of those column chunks (what was read)."""
    lake = open_lake(lake_uri)
    tables, read = [], 0
    for path in files:
        pf = pq.ParquetFile(lake.fs.open_input_file(path))
        names = set(columns)
        md = pf.metadata
        for rg in range(md.num_row_groups):
            for c in range(md.num_columns):
                col = md.row_group(rg).column(c)
                if col.path_in_schema in names:
                    read += col.total_compressed_size
        tables.append(pf.read(columns=columns))
    return (pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})), read


def load_spans(wh: Warehouse, data: pa.Table) -> int:
    """Replace the worker warehouse's `spans` with the partition's rows, one per (tenant, trace, span)."""
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
    return run


@_timed
def model_keys(lake_uri: str, files: list[str]) -> dict:
    """Distinct (provider, request model, response model) of usage spans: what the client must price."""
    from inferledger.analytics.cost.lines import USAGE_FILTER

    data, read = read_files(lake_uri, files, COST_COLUMNS)
    con = _warehouse().cursor()
    try:
        con.register("s", data)
        keys = con.execute(
            "SELECT DISTINCT coalesce(s.provider, ''), coalesce(s.request_model, ''), coalesce(s.response_model, '')"
            f" FROM s WHERE {USAGE_FILTER}").fetchall()
    finally:
        con.close()
    return {"partial": [tuple(k) for k in keys], "bytes_read": read, "rows": data.num_rows}


@_timed
def showback_usage(lake_uri: str, files: list[str], prices: dict[str, pa.Table], start: datetime,
                   end: datetime) -> dict:
    """Cost lines of the partition's spans, then the showback's daily usage aggregate over them."""
    from inferledger.analytics.cost.lines import compute_cost_lines
    from inferledger.analytics.cost.showback.build import _USAGE

    data, read = read_files(lake_uri, files, COST_COLUMNS)
    wh = _warehouse()
    con = wh.con
    n = load_spans(wh, data)
    con.execute("DELETE FROM cost_lines")
    for name, table in prices.items():
        con.execute(f"DELETE FROM {name}")
        con.register("p", table)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM p")
        con.unregister("p")
    compute_cost_lines(wh, start=start, end=end)
    con.execute(_USAGE, [start, end])
    usage = con.sql("SELECT * FROM sb_usage").to_arrow_table()
    return {"partial": usage, "bytes_read": read, "rows": n}


@_timed
def slo_minutes(lake_uri: str, files: list[str], queries: list[tuple[str, str, list]], columns: list[str],
                since: datetime) -> dict:
    """(slo_id, minute, good, total) of every SLO over the partition's spans from `since`."""
    data, read = read_files(lake_uri, files, sorted(set(KEY_COLUMNS + columns)))
    wh = _warehouse()
    n = load_spans(wh, data)
    parts = []
    for slo_id, sql, params in queries:
        parts.append(wh.con.sql(sql, params=[slo_id, *params, since]).to_arrow_table())
    return {"partial": pa.concat_tables(parts) if parts else None, "bytes_read": read, "rows": n}
