"""Anomaly scoring of every watched series on Dask over the lake, equal to the single-node `run_detection`.

Workers turn their tenant-day partitions into per-bucket pieces of the series
(`analytics.lake.tasks.anomaly_parts`, GPU samples from `tasks.gpu_samples`); the
client gathers them into a small in-memory warehouse whose tables hold the
columns the single node's series SQL reads, so `analytics.anomaly.series` builds
the same series from them (a sum of per-bucket sums is the sum: cost is an exact
decimal, tokens are integers; quantiles and means are taken over the shipped
values). The cost and token pieces also carry their request count and sum of
squared request values, so the series carry the single node's `trials` and
`squares`; spans ship as rows (from the p95 count test's baseline day before the
window on), so request counts, failures and that test are computed as on `spans`.
The series are scored through `analytics.anomaly.job.score_all`, confirmed by
the same `confirmed_alarms` and p95 count test, the
alarms explained over the same tables, and new anomalies and alert records
written to the warehouse the service reads (`anomalies`, `alert_records`), as
`run_detection` writes them. GPU idle cost is read from that warehouse's
`gpu_allocations`, which `analytics.lake.gpu.allocate_window_dask` fills.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from inferledger.analytics.anomaly.explain import explain
from inferledger.analytics.anomaly.job import (
    MAX_EXPLAINED_PER_RUN,
    P95_BASELINE_HOURS,
    RunSummary,
    _alerts,
    _select,
    standing_alarms,
    stored_alarms,
)
from inferledger.analytics.anomaly.series import (
    BUCKETS,
    CLIENT_COST_SUM,
    COST_DIMS,
    GPU_DIMS,
    SPAN_DIMS,
    SQUARES_EXPR,
    Series,
    Source,
    _has_rows,
    floor_time,
    load_series_from,
    source_for,
)
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.anomaly.store import insert_anomalies
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.lake import tasks
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.lake.prices import price_tables
from inferledger.analytics.lake.store import open_lake, partitions
from inferledger.analytics.warehouse import Warehouse, open_warehouse, utcnow

GPU_UTIL = Source("lk_gpu", "time", "avg(utilization)::DOUBLE", GPU_DIMS, "ratio", False,
                  where="AND utilization IS NOT NULL")
# per-bucket partial sums (lk_cost, lk_tokens): requests and squared request values are sums of the parts
LK_COST = Source("lk_cost", "start_time", "sum(cost)::DOUBLE", COST_DIMS, "usd", True,
                 count_expr="sum(n)", squares_expr="sum(sq)")
LK_TOKENS = Source("lk_tokens", "start_time", "sum(tokens)::DOUBLE", SPAN_DIMS, "tokens", True,
                   count_expr="sum(n)", squares_expr="sum(sq)")
# one row per request, as in `spans`
LK_CLIENT_COST = Source("lk_client_cost", "start_time", CLIENT_COST_SUM, SPAN_DIMS, "usd", True,
                        squares_expr=SQUARES_EXPR[CLIENT_COST_SUM])
_TABLES = {  # client table -> columns, for partitions that shipped none
    "lk_cost": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, model VARCHAR, cost DECIMAL(38, 18),"
               " n BIGINT, sq DOUBLE",
    "lk_client_cost": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, request_model VARCHAR,"
                      " response_model VARCHAR, client_cost_usd DOUBLE",
    "lk_tokens": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, request_model VARCHAR,"
                 " response_model VARCHAR, tokens DOUBLE, n BIGINT, sq DOUBLE",
    "lk_spans": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, request_model VARCHAR,"
                " response_model VARCHAR, duration_s DOUBLE, is_error BOOLEAN",
    "lk_gpu": "time TIMESTAMP, gpu_model VARCHAR, utilization DOUBLE",
}
_PART_TABLE = {"cost": "lk_cost", "client_cost": "lk_client_cost", "tokens": "lk_tokens", "spans": "lk_spans"}


def kind_window(kind: str, now: datetime, lookback_hours: int) -> tuple[datetime, datetime]:
    """[start, end) of a series kind's complete buckets, as `load_series` takes them."""
    step = BUCKETS[kind]
    end = floor_time(now, step)
    return floor_time(end - timedelta(hours=lookback_hours), step), end


def lake_source(lk: Warehouse, kind: str, start: datetime, end: datetime) -> Source | None:
    """`source_for` with the lake's client tables in place of `spans`, `cost_lines` and `gpu_samples`."""
    if kind in ("spend_5m", "spend_1h"):
        if _has_rows(lk, "lk_cost", "start_time", start, end):
            return LK_COST
        if _has_rows(lk, "lk_client_cost", "start_time", start, end, "AND client_cost_usd IS NOT NULL"):
            return LK_CLIENT_COST
        return LK_TOKENS
    if kind == "tokens_1m":
        return LK_TOKENS
    if kind in ("latency_p95_5m", "error_rate_5m"):
        single = source_for(lk, kind, start, end)
        assert single is not None
        return replace(single, table="lk_spans")
    if kind == "gpu_util_5m":
        return GPU_UTIL
    raise ValueError(f"series kind {kind!r} is not read from the lake")


def gather(client: Any, lake_uri: str, cfg: AnomalySettings, now: datetime, cost: CostSettings | None,
           stats: RunStats | None = None) -> Warehouse:
    """The client warehouse: every partition's pieces of the watched series over the lookback."""
    kinds = [k for k in cfg.series if k != "gpu_idle_cost_1h"]
    lk = open_warehouse(":memory:")
    for name, cols in _TABLES.items():
        lk.con.execute(f"CREATE TABLE {name} ({cols})")
    if not kinds:
        return lk
    bounds = [kind_window(k, now, cfg.lookback_hours) for k in kinds]
    lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    if "latency_p95_5m" in kinds:
        # the p95 count test compares a bucket with the model's spans of the day before it
        lo -= timedelta(hours=P95_BASELINE_HOURS)
    lake = open_lake(lake_uri)
    span_kinds = [k for k in kinds if k != "gpu_util_5m"]
    items = [(lake_uri, files) for _, _, files in partitions(lake, "spans", lo, hi)] if span_kinds else []
    prices = price_tables(client, items, cost, stats) if cost is not None and items else None
    for part in map_partitions(client, tasks.anomaly_parts, items, stats, prices=prices, start=lo, end=hi,
                               kinds=span_kinds):
        for key, table in part.items():
            _append(lk, _PART_TABLE[key], table)
    if "gpu_util_5m" in kinds:
        gitems = [(lake_uri, files) for _, _, files in partitions(lake, "gpu_samples", lo, hi)]
        for table in map_partitions(client, tasks.gpu_samples, gitems, stats, start=lo, end=hi):
            _append(lk, "lk_gpu", table.select(["time", "gpu_model", "utilization"]))
    return lk


def _append(lk: Warehouse, name: str, table: pa.Table) -> None:
    if table.num_rows:
        lk.con.register("__part", table)
        try:
            lk.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM __part")
        finally:
            lk.con.unregister("__part")


def lake_series(lk: Warehouse, wh: Warehouse, cfg: AnomalySettings,
                now: datetime) -> tuple[list[Series], dict[str, tuple[Warehouse, Source]]]:
    """`load_series` over the client tables (GPU idle cost over `wh`); also each kind's table and source."""
    def resolve(kind: str, start: datetime, end: datetime) -> tuple[Warehouse, Source] | None:
        if kind == "gpu_idle_cost_1h":
            src = source_for(wh, kind, start, end)
            return None if src is None else (wh, src)
        return lk, lake_source(lk, kind, start, end)

    return load_series_from(resolve, cfg.series, now, cfg.lookback_hours, cfg.min_requests)


def run_detection_dask(client: Any, lake_uri: str, wh: Warehouse, cfg: AnomalySettings, now: datetime,
                       cost: CostSettings | None = None, stats: RunStats | None = None) -> RunSummary:
    """`run_detection` over the lake: anomalies and alert records go to `wh`, the warehouse the service reads.

    `cost`: price the spans for the spend series (None: spend falls back to the instrumentation's
    cost, then tokens, as on a warehouse whose cost job has not run).
    """
    lk = gather(client, lake_uri, cfg, now, cost, stats)
    try:
        return _detect(lk, wh, cfg, now)
    finally:
        lk.close()


def _detect(lk: Warehouse, wh: Warehouse, cfg: AnomalySettings, now: datetime) -> RunSummary:
    summary = RunSummary()
    loaded, sources = lake_series(lk, wh, cfg, now)
    series = _select(loaded, cfg)
    summary.series = len(series)
    stored = stored_alarms(wh, cfg, now)
    found = standing_alarms(series, cfg, stored, summary, lk, "lk_spans")
    new = sorted((f for f in found if (f.series.key, f.bucket_start) not in stored),
                 key=lambda f: f.bucket_start, reverse=True)
    for f in new[:MAX_EXPLAINED_PER_RUN]:
        db, src = sources[f.series.metric]
        f.movement = explain(db, src, f.series.labels, f.bucket_start, f.series.bucket_seconds,
                             cfg.explain_baseline_buckets)
    insert_anomalies(wh, new, utcnow())
    summary.new_anomalies = len(new)
    _alerts(wh, cfg, now, found, summary)
    return summary
