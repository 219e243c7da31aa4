"""Metric families reading the tables of the other areas: cost, GPU allocation, SLO, drift,
anomaly, alert outbox.

Every family first checks that its table and columns exist (`table_columns`) and emits
nothing otherwise, so /metrics works on any schema version.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from prometheus_client.core import Metric

from inferledger.dashboards.cardinality import bound_cardinality
from inferledger.dashboards.families.base import Family, base_model_sql, emit, query, table_columns
from inferledger.dashboards.settings import DashboardSettings

# --- cost (analytics/migrations/0100_cost.sql) --------------------------------------------------

COST_LABELS = ("tenant", "team", "model", "model_version", "provider", "environment")


def cost_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Token spend per team/model/provider from `cost_lines` (one line per priced span)."""
    if not table_columns(con, "cost_lines"):
        return []
    df = query(
        con,
        """
        SELECT tenant, team, {model} AS model, coalesce(model, 'unknown') AS model_version,
               coalesce(provider, 'unknown') AS provider, coalesce(environment, 'unknown') AS environment,
               sum(cost)::DOUBLE AS spend,
               count(*) FILTER (WHERE status = 'unpriced')::DOUBLE AS unpriced
        FROM cost_lines GROUP BY ALL
        """.format(model=base_model_sql("model")),
    )
    df = bound_cardinality(df, COST_LABELS, {"spend": "sum", "unpriced": "sum"}, n=cfg.metrics_top_n)
    return [
        emit(df, "counter", "inferledger_cost_usd", "Priced token cost of inference, USD.",
             list(COST_LABELS), "spend"),
        emit(df, "counter", "inferledger_unpriced_requests",
             "Spans whose model has no price (cost unknown, counted as 0).", list(COST_LABELS), "unpriced"),
    ]


def unit_cost_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Unit cost over the trailing `unit_cost_window_hours` from `cost_rollup_hourly`.

    Ratios are taken after top-N bounding, from bounded sums, so `other` is a true mean.
    """
    if not table_columns(con, "cost_rollup_hourly"):
        return []
    since = now - timedelta(hours=cfg.unit_cost_window_hours)
    df = query(
        con,
        """
        SELECT tenant, {model} AS model, coalesce(provider, 'unknown') AS provider,
               sum(cost)::DOUBLE AS spend, sum(requests)::DOUBLE AS requests,
               sum(ok_requests)::DOUBLE AS ok_requests, sum(total_tokens)::DOUBLE AS tokens
        FROM cost_rollup_hourly WHERE hour >= date_trunc('hour', ?::TIMESTAMP) GROUP BY ALL
        """.format(model=base_model_sql("model")),
        [since],
    )
    df = bound_cardinality(
        df, ("tenant", "model", "provider"), {"spend": "sum", "requests": "sum", "ok_requests": "sum", "tokens": "sum"},
        n=cfg.metrics_top_n, rank_by="spend",
    )
    df = df.with_columns(
        pl.when(pl.col("requests") > 0).then(pl.col("spend") / pl.col("requests")).alias("per_request"),
        pl.when(pl.col("ok_requests") > 0).then(pl.col("spend") / pl.col("ok_requests")).alias("per_ok"),
        pl.when(pl.col("tokens") > 0).then(pl.col("spend") / pl.col("tokens") * 1e6).alias("per_mtok"),
    )
    labels = ["tenant", "model", "provider"]
    return [
        emit(df, "gauge", "inferledger_cost_per_request_usd",
             "Mean cost of one request over the unit-cost window, USD.", labels, "per_request"),
        emit(df, "gauge", "inferledger_cost_per_successful_request_usd",
             "Cost over the unit-cost window divided by successful requests, USD.", labels, "per_ok"),
        emit(df, "gauge", "inferledger_cost_per_million_tokens_usd",
             "Cost per million tokens over the unit-cost window, USD.", labels, "per_mtok"),
    ]


def gpu_cost_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """GPU cost split into what workloads used (`allocated`) and what sat `idle`."""
    if not table_columns(con, "gpu_allocations"):
        return []
    df = query(
        con,
        """
        SELECT tenant, coalesce(gpu_model, 'unknown') AS gpu_model, coalesce(k8s_namespace, 'none') AS namespace,
               CASE WHEN line_kind = 'idle' THEN 'idle' ELSE 'allocated' END AS kind,
               sum(cost)::DOUBLE AS cost, sum(gpu_seconds)::DOUBLE AS gpu_seconds
        FROM gpu_allocations GROUP BY ALL
        """,
    )
    labels = ("tenant", "gpu_model", "namespace", "kind")
    df = bound_cardinality(df, labels, {"cost": "sum", "gpu_seconds": "sum"}, n=cfg.metrics_top_n)
    out = [
        emit(df, "counter", "inferledger_gpu_cost_usd", "GPU cost by allocation (allocated or idle), USD.",
             list(labels), "cost"),
        emit(df, "counter", "inferledger_gpu_allocated_seconds",
             "GPU-seconds attributed to workloads (utilisation-weighted) or idle.", list(labels), "gpu_seconds"),
    ]
    if table_columns(con, "gpu_team_costs"):
        team = query(
            con,
            """
            SELECT tenant, team, CASE WHEN line_kind = 'idle' THEN 'idle' ELSE 'allocated' END AS kind,
                   sum(cost)::DOUBLE AS cost FROM gpu_team_costs GROUP BY ALL
            """,
        )
        team = bound_cardinality(team, ("tenant", "team", "kind"), {"cost": "sum"}, n=cfg.metrics_top_n)
        out.append(emit(team, "counter", "inferledger_gpu_team_cost_usd",
                        "GPU cost attributed to the teams whose spans the GPUs served, USD.",
                        ["tenant", "team", "kind"], "cost"))
    return out


def budget_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """This month's budget, spend and forecast per team and feature (`budget_status`)."""
    if not table_columns(con, "budget_status"):
        return []
    df = query(
        con,
        """
        SELECT team, feature, budget::DOUBLE AS budget, spent::DOUBLE AS spent, forecast::DOUBLE AS forecast
        FROM budget_status WHERE month = (SELECT max(month) FROM budget_status)
        """,
    )
    df = bound_cardinality(
        df, ("team", "feature"), {"budget": "sum", "spent": "sum", "forecast": "sum"}, n=cfg.metrics_top_n,
        rank_by="spent",
    )
    labels = ["team", "feature"]
    return [
        emit(df, "gauge", "inferledger_budget_usd", "Monthly budget, USD.", labels, "budget"),
        emit(df, "gauge", "inferledger_budget_spent_usd", "Spent so far this month, USD.", labels, "spent"),
        emit(df, "gauge", "inferledger_budget_forecast_usd", "Forecast spend at month end, USD.", labels, "forecast"),
    ]


# --- alert delivery (analytics/migrations/0500_alerts.sql) ------------------------------------


def outbox_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Notifications waiting in the durable outbox, and delivered/failed totals."""
    if not table_columns(con, "alert_outbox"):
        return []
    df = query(
        con,
        "SELECT receiver, state, count(*)::DOUBLE AS n FROM alert_outbox GROUP BY ALL",
    )
    # Every receiver seen gets a depth, 0 when nothing waits.
    pending = (
        df.select("receiver").unique().sort("receiver")
        .join(df.filter(pl.col("state") == "pending").select("receiver", "n"), on="receiver", how="left")
        .with_columns(pl.col("n").fill_null(0.0))
    )
    done = df.filter(pl.col("state") != "pending")
    return [
        emit(pending, "gauge", "inferledger_alert_outbox_depth",
             "Notifications not yet delivered (pending, including retries).", ["receiver"], "n"),
        emit(done, "counter", "inferledger_alert_notifications",
             "Notifications finished, by final state (delivered or failed).", ["receiver", "state"], "n"),
    ]


# --- SLO (analytics/migrations/0200_slo.sql) ---------------------------------------------------

# Order of slo_state.error_ratios / burn_rates (analytics.kernels.burn_rate.WINDOW_NAMES).
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def slo_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Current state of every SLO: Sloth's quantities under exporter names (see README mapping).

    slo:objective:ratio -> inferledger_slo_objective_ratio; slo:error_budget:ratio (remaining)
    -> inferledger_slo_error_budget_remaining_ratio; slo:sli_error:ratio_rate<w> ->
    inferledger_slo_sli_error_ratio{window=w}; slo:current_burn_rate:ratio (and per window)
    -> inferledger_slo_burn_rate{window=w}.
    """
    if not table_columns(con, "slo_state"):
        return []
    df = query(
        con,
        "SELECT slo_id AS slo, objective / 100.0 AS objective, budget_remaining, error_ratios, burn_rates,"
        " page::INTEGER::DOUBLE AS page, ticket::INTEGER::DOUBLE AS ticket FROM slo_state ORDER BY slo_id",
    )
    # One row per (slo, window): arrays are in SLO_WINDOWS order and equally long by contract.
    per_window = (
        df.select("slo", pl.col("error_ratios").alias("error_ratio"), pl.col("burn_rates").alias("burn_rate"))
        .explode(["error_ratio", "burn_rate"])
        .with_columns(pl.int_range(pl.len()).over("slo").alias("i"))
        .filter(pl.col("i") < len(SLO_WINDOWS))
        .with_columns(pl.col("i").replace_strict(dict(enumerate(SLO_WINDOWS)), return_dtype=pl.Utf8).alias("window"))
    )
    return [
        emit(df, "gauge", "inferledger_slo_objective_ratio", "SLO objective as a ratio (Sloth slo:objective:ratio).",
             ["slo"], "objective"),
        emit(df, "gauge", "inferledger_slo_error_budget_remaining_ratio",
             "Error budget left in the SLO period, 1 = untouched, below 0 = overspent.", ["slo"], "budget_remaining"),
        emit(per_window, "gauge", "inferledger_slo_sli_error_ratio",
             "Error ratio over each window (Sloth slo:sli_error:ratio_rate<window>).", ["slo", "window"], "error_ratio"),
        emit(per_window, "gauge", "inferledger_slo_burn_rate",
             "Budget burn rate over each window (Sloth slo:current_burn_rate:ratio).", ["slo", "window"], "burn_rate"),
        emit(df, "gauge", "inferledger_slo_page", "1 while a page-level burn-rate tier fires.", ["slo"], "page"),
        emit(df, "gauge", "inferledger_slo_ticket", "1 while a ticket-level burn-rate tier fires.", ["slo"], "ticket"),
    ]


# --- drift (analytics/migrations/0300_drift.sql) -----------------------------------------------


def drift_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Latest result per (segment, column). Scores are p-values for ks/chisquare/z (low = drift)
    and distances otherwise (high = drift): `inferledger_drift_detected` is the verdict to use."""
    if not table_columns(con, "drift_results"):
        return []
    df = query(
        con,
        """
        SELECT segment_label AS monitor, column_name AS "column", coalesce(method, 'none') AS method,
               score, threshold, drifted::INTEGER::DOUBLE AS drifted
        FROM drift_results
        QUALIFY row_number() OVER (PARTITION BY tenant, segment_label, column_name ORDER BY run_at DESC) = 1
        """,
    )
    labels = ("monitor", "column", "method")
    df = bound_cardinality(df, labels, {"drifted": "sum", "score": "max", "threshold": "max"},
                           n=cfg.metrics_top_n, rank_by="drifted")
    return [
        emit(df, "gauge", "inferledger_drift_score", "Latest drift statistic (p-value or distance, see method).",
             list(labels), "score"),
        emit(df, "gauge", "inferledger_drift_threshold", "Threshold the drift statistic is compared with.",
             list(labels), "threshold"),
        emit(df, "gauge", "inferledger_drift_detected", "1 when the latest run found drift (count, for other).",
             list(labels), "drifted"),
    ]


# --- anomalies (analytics/migrations/0400_anomaly.sql) -----------------------------------------


def anomaly_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Latest anomaly score of each series alarmed in the trailing `anomaly_window_hours`,
    plus all-time counts of anomalous points by metric and kind."""
    if not table_columns(con, "anomalies"):
        return []
    since = now - timedelta(hours=cfg.anomaly_window_hours)
    latest = query(
        con,
        """
        SELECT series_key AS series, metric, arg_max(score, bucket_start) AS score
        FROM anomalies WHERE bucket_start >= ? GROUP BY ALL
        """,
        [since],
    )
    latest = bound_cardinality(latest, ("series",), {"score": "max"}, n=cfg.metrics_top_n)
    totals = query(con, "SELECT metric, kind, count(*)::DOUBLE AS n FROM anomalies GROUP BY ALL ORDER BY ALL")
    return [
        emit(latest, "gauge", "inferledger_anomaly_score",
             "Latest anomaly score (0-1, >= 0.5 alarms) of each recently alarmed series.", ["series"], "score"),
        emit(totals, "counter", "inferledger_anomalies", "Anomalous points found, by metric and kind.",
             ["metric", "kind"], "n"),
    ]


AREA_FAMILIES: list[Family] = [
    Family("cost", ("cost_lines",), cost_family),
    Family("unit_cost", ("cost_rollup_hourly",), unit_cost_family),
    Family("gpu_cost", ("gpu_allocations", "gpu_team_costs"), gpu_cost_family),
    Family("budget", ("budget_status",), budget_family),
    Family("outbox", ("alert_outbox",), outbox_family),
    Family("slo", ("slo_state",), slo_family),
    Family("drift", ("drift_results",), drift_family),
    Family("anomaly", ("anomalies",), anomaly_family),
]
