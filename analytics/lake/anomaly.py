"""Anomaly scoring of every watched series on Dask over the lake, equal to the single-node `run_detection`.

Workers turn their tenant-day partitions into per-bucket pieces of the series
(`analytics.lake.tasks.anomaly_parts`, GPU samples from `tasks.gpu_samples`); the
client gathers them into a small in-memory warehouse whose tables hold the
columns the single node's series SQL reads, so `analytics.anomaly.series` builds
the same series from them (a sum of per-bucket sums is the sum: cost is an exact
decimal, tokens are integers; quantiles and means are taken over the shipped
values). The series are scored through `analytics.anomaly.job.score_all`, the
alarms explained over the same tables, and new anomalies and alert records
written to the warehouse the service reads (`anomalies`, `alert_records`), as
`run_detection` writes them. GPU idle cost is read from that warehouse's
`gpu_allocations`, which `analytics.lake.gpu.allocate_window_dask` fills.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from inferledger.analytics.anomaly.detectors import KIND_NAMES
from inferledger.analytics.anomaly.explain import explain
from inferledger.analytics.anomaly.job import MAX_EXPLAINED_PER_RUN, Found, RunSummary, _alerts, _select, score_all
from inferledger.analytics.anomaly.series import (
    BUCKETS,
    COST_DIMS,
    SERIES_DIMS,
    SOURCE_FILTERS,
    SPAN_DIMS,
    Series,
    Source,
    _grouped,
    _has_rows,
    _to_series,
    floor_time,
    source_for,
)
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.lake import tasks
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.lake.prices import price_tables
from inferledger.analytics.lake.store import open_lake, partitions
from inferledger.analytics.warehouse import Warehouse, open_warehouse, utcnow

GPU_UTIL = Source("lk_gpu", "time", "avg(utilization)::DOUBLE", {"pool": "coalesce(gpu_model, 'unknown')"},
                  "ratio", False)
_TABLES = {  # client table -> columns, for partitions that shipped none
    "lk_cost": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, model VARCHAR, cost DECIMAL(38, 18)",
    "lk_client_cost": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, request_model VARCHAR,"
                      " response_model VARCHAR, client_cost_usd DOUBLE",
    "lk_tokens": "start_time TIMESTAMP, team VARCHAR, feature VARCHAR, request_model VARCHAR,"
                 " response_model VARCHAR, tokens DOUBLE",
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
            return Source("lk_cost", "start_time", "sum(cost)::DOUBLE", COST_DIMS, "usd", True)
        if _has_rows(lk, "lk_client_cost", "start_time", start, end, "AND client_cost_usd IS NOT NULL"):
            return Source("lk_client_cost", "start_time", "sum(coalesce(client_cost_usd, 0))::DOUBLE", SPAN_DIMS,
                          "usd", True)
        return Source("lk_tokens", "start_time", "sum(tokens)::DOUBLE", SPAN_DIMS, "tokens", True)
    if kind == "tokens_1m":
        return Source("lk_tokens", "start_time", "sum(tokens)::DOUBLE", SPAN_DIMS, "tokens", True)
    if kind in ("latency_p95_5m", "error_rate_5m"):
        single = source_for(lk, kind, start, end)
        assert single is not None
        return Source("lk_spans", single.time_col, single.value_expr, single.dims, single.unit, single.additive)
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
    out: list[Series] = []
    sources: dict[str, tuple[Warehouse, Source]] = {}
    for kind in cfg.series:
        step = BUCKETS[kind]
        start, end = kind_window(kind, now, cfg.lookback_hours)
        if end <= start:
            continue
        db = wh if kind == "gpu_idle_cost_1h" else lk
        src = source_for(wh, kind, start, end) if db is wh else lake_source(lk, kind, start, end)
        if src is None:
            continue
        sources[kind] = (db, src)
        where = SOURCE_FILTERS.get(src.table, "") or ("AND utilization IS NOT NULL" if src.table == "lk_gpu" else "")
        for d in SERIES_DIMS[kind]:
            df = _grouped(db, src.table, src.time_col, src.value_expr, None if d is None else src.dims[d],
                          step, start, end, where)
            min_rows = cfg.min_requests if src.table == "lk_spans" else 1
            out += _to_series(df, kind, src.unit, d, step, start, end, dense=src.additive, min_rows=min_rows)
    return out, sources


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
    found: list[Found] = []
    for s, r in zip(series, score_all(series, cfg)):
        summary.points += len(s.values)
        for i in np.flatnonzero(r.alarm):
            found.append(Found(s, int(i), float(r.score[i]), float(r.expected[i]), KIND_NAMES[int(r.kind[i])]))
    summary.alarms = len(found)
    stored = set(wh.con.execute("SELECT series_key, bucket_start FROM anomalies WHERE bucket_start >= ?",
                                [now - timedelta(hours=cfg.lookback_hours + 1)]).fetchall())
    new = sorted((f for f in found if (f.series.key, f.bucket_start) not in stored),
                 key=lambda f: f.bucket_start, reverse=True)
    for f in new[:MAX_EXPLAINED_PER_RUN]:
        db, src = sources[f.series.metric]
        f.movement = explain(db, src, f.series.labels, f.bucket_start, f.series.bucket_seconds,
                             cfg.explain_baseline_buckets)
    detected_at = utcnow()
    if new:
        wh.con.executemany(
            "INSERT INTO anomalies (series_key, metric, unit, labels, bucket_start, bucket_seconds, observed,"
            " expected, score, kind, moved_dimension, moved_value, moved_observed, moved_expected, moved_share,"
            " detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [[f.series.key, f.series.metric, f.series.unit, f.series.labels_json, f.bucket_start,
              f.series.bucket_seconds, f.observed, f.expected, f.score, f.kind,
              *((f.movement.dimension, f.movement.value, f.movement.observed, f.movement.expected,
                 f.movement.share) if f.movement else (None, None, None, None, None)),
              detected_at] for f in new])
    summary.new_anomalies = len(new)
    _alerts(wh, cfg, now, found, summary)
    return summary
