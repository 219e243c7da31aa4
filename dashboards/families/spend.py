"""Spend and usage over fixed event-time windows: what Grafana shows agrees with the showback.

Counters that total what the warehouse holds cannot back a spend panel: a retention
delete or a re-price that lowers cost makes them fall, Prometheus reads the fall as a
counter reset, and `rate()` turns it into a spike. Backfilled or late data also lands
at scrape time, not at its event time. These gauges are instead sums over fixed
windows of event time, read from `cost_rollup_hourly` (the rollup the showback and the
budgets use):

- `month_to_date`: the UTC calendar month of the scrape, up to now;
- `today`: the UTC day of the scrape, up to now;
- `last_hour`: the last complete UTC hour.

So `sum(inferledger_spend_window_usd{window="month_to_date"})` is the showback total
of the month in progress, and a re-price or late data simply moves the gauge.

`model` is the base model (the dated suffix a provider answers with is dropped:
`gpt-4o-2024-08-06` -> `gpt-4o`), the same label the span families carry, and
`model_version` keeps the name as reported. `environment` is the spans' deployment
environment; GPU cost has none (`unknown`): a GPU serves every environment routed to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from prometheus_client.core import Metric

from inferledger.dashboards.cardinality import bound_cardinality
from inferledger.dashboards.families.base import Family, base_model_sql, emit, query, table_columns
from inferledger.dashboards.settings import DashboardSettings

WINDOW_LABELS = ("tenant", "team", "feature", "model", "model_version", "provider", "environment")


def windows(now: datetime) -> dict[str, tuple[datetime, datetime]]:
    """The event-time windows, [start, end) in whole rollup hours, for a scrape at `now`."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    end = hour + timedelta(hours=1)
    return {
        "month_to_date": (hour.replace(day=1, hour=0), end),
        "today": (hour.replace(hour=0), end),
        "last_hour": (hour - timedelta(hours=1), hour),
    }


def spend_window_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Spend (by cost kind: tokens or gpu), requests and tokens per window and label set."""
    if not table_columns(con, "cost_rollup_hourly"):
        return []
    bounds = windows(now)
    values = ", ".join("(?, ?::TIMESTAMP, ?::TIMESTAMP)" for _ in bounds)
    df = query(
        con,
        f"""
        WITH w(name, lo, hi) AS (VALUES {values})
        SELECT w.name AS "window", tenant, team, feature, {base_model_sql("model")} AS model,
               coalesce(model, 'unknown') AS model_version, coalesce(provider, 'unknown') AS provider,
               coalesce(environment, 'unknown') AS environment, sum(token_cost)::DOUBLE AS tokens_cost, sum(gpu_cost)::DOUBLE AS gpu_cost,
               sum(requests)::DOUBLE AS requests, sum(total_tokens)::DOUBLE AS tokens
        FROM cost_rollup_hourly r JOIN w ON r.hour >= w.lo AND r.hour < w.hi
        WHERE r.hour >= ? GROUP BY ALL
        """,
        [x for name, (lo, hi) in bounds.items() for x in (name, lo, hi)] + [min(lo for lo, _ in bounds.values())],
    )
    frames = [
        bound_cardinality(df.filter(pl.col("window") == name).drop("window"), WINDOW_LABELS,
                          {"tokens_cost": "sum", "gpu_cost": "sum", "requests": "sum", "tokens": "sum"},
                          n=cfg.metrics_top_n, rank_by="tokens_cost").with_columns(pl.lit(name).alias("window"))
        for name in bounds
    ]
    df = pl.concat(frames, how="vertical")
    spend = pl.concat([
        df.select(*WINDOW_LABELS, "window", pl.lit("tokens").alias("cost_kind"), pl.col("tokens_cost").alias("usd")),
        df.select(*WINDOW_LABELS, "window", pl.lit("gpu").alias("cost_kind"), pl.col("gpu_cost").alias("usd")),
    ]).filter(pl.col("usd") != 0)
    labels = ["window", *WINDOW_LABELS]
    return [
        emit(spend, "gauge", "inferledger_spend_window_usd",
             "Spend in a fixed event-time window (month_to_date, today, last_hour), USD; "
             "month_to_date sums to the showback of the month in progress.", [*labels, "cost_kind"], "usd"),
        emit(df, "gauge", "inferledger_requests_window",
             "Requests in a fixed event-time window (as counted by the cost rollup).", labels, "requests"),
        emit(df, "gauge", "inferledger_tokens_window", "Tokens in a fixed event-time window.", labels, "tokens"),
    ]


SPEND_FAMILIES: list[Family] = [Family("spend_window", ("cost_rollup_hourly",), spend_window_family)]
