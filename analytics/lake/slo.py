"""SLO burn on Dask over the lake, equal to the single-node evaluation.

Workers count good and total events per SLO and minute in their partitions with
the SLI conditions of `analytics.slo.rollup`; the client adds the partials into the
same `slo_minute_rollups` table the single node keeps, and evaluates them with the
single node's engine (the numba burn-rate kernels) unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from inferledger.analytics.lake import partials
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.lake.store import open_lake, partitions
from inferledger.analytics.slo.engine import TAIL_MINUTES, SLOState, evaluate
from inferledger.analytics.slo.model import FILTER_COLUMNS
from inferledger.analytics.slo.rollup import REQUEST_ROW, VALUE_COLUMN, sli_sql
from inferledger.analytics.slo.spec import SLOSpec
from inferledger.analytics.warehouse import Warehouse, open_warehouse


def minute_queries(specs: list[SLOSpec]) -> tuple[list[tuple[str, str, list]], list[str]]:
    """Per SLO: (id, SQL over `spans` with ? for id ... since, params); and the span columns they read."""
    queries, columns = [], set(partials.SLO_COLUMNS)
    for spec in specs:
        where, wparams, good, gparams = sli_sql(spec.sli)
        sql = (f"SELECT CAST(? AS VARCHAR) AS slo_id, date_trunc('minute', start_time) AS minute,"
               f" count(*) FILTER (WHERE {good}) AS good, count(*) AS total"
               f" FROM spans WHERE {where} AND {REQUEST_ROW} AND start_time >= ? GROUP BY 2")
        # the `since` bound is the last parameter: move it after the SLI parameters
        queries.append((spec.id, sql, [*gparams, *wparams]))
        columns.update(c for key, _ in spec.sli.filters for c in FILTER_COLUMNS[key])
        if spec.sli.kind in VALUE_COLUMN:
            columns.add(VALUE_COLUMN[spec.sli.kind])
    return queries, sorted(columns)


def rollups_dask(client: Any, lake_uri: str, specs: list[SLOSpec], now: datetime, wh: Warehouse,
                 stats: RunStats | None = None, retention_days: int = 35) -> int:
    """Fill `wh.slo_minute_rollups` from the lake for every span SLO; returns the minutes written."""
    specs = [s for s in specs if s.sli is not None]
    end_minute = now.replace(second=0, microsecond=0)
    horizon = now - timedelta(days=retention_days)
    first = min([s.period_start(now) for s in specs] + [end_minute - timedelta(minutes=TAIL_MINUTES)])
    first = max(first, horizon)
    lake = open_lake(lake_uri)
    items = [(lake_uri, files) for _, _, files in partitions(lake, "spans", first, end_minute + timedelta(minutes=1))]
    queries, columns = minute_queries(specs)
    threads = partials.default_threads() if client is None else 1
    parts = [p for p in map_partitions(client, partials.slo_minutes, items, stats, queries=queries, columns=columns,
                                       since=horizon, threads=threads) if p is not None and p.num_rows]
    if not parts:
        return 0
    wh.con.register("slo_parts", pa.concat_tables(parts))
    try:
        n = wh.con.execute(
            "INSERT OR REPLACE INTO slo_minute_rollups SELECT slo_id, minute, sum(good), sum(total)"
            " FROM slo_parts GROUP BY ALL").fetchall()[0][0]
    finally:
        wh.con.unregister("slo_parts")
    return int(n)


def evaluate_dask(client: Any, lake_uri: str, specs: list[SLOSpec], now: datetime,
                  stats: RunStats | None = None) -> list[SLOState]:
    """The state of every span SLO at `now`, from the lake (`client=None`: in this process)."""
    wh = open_warehouse(":memory:")
    try:
        rollups_dask(client, lake_uri, specs, now, wh, stats)
        return evaluate(wh, specs, now)
    finally:
        wh.close()
