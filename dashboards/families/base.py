"""The metric families /metrics reads from the warehouse, one function per family.

Each family is one cheap aggregate query, then label bounding (`cardinality`) and
conversion to prometheus_client metric families. A family whose table or column does
not exist yet (another area's migration not applied) raises a DuckDB catalog/binder
error; the exporter turns that into "emit nothing" so a scrape never breaks.

Counters are cumulative over what the warehouse holds (retention trims the oldest
rows, which Prometheus sees as a counter reset and `rate()` handles). Gauges are the
latest state, or a trailing window where the docstring says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily

from inferledger.dashboards.cardinality import bound_cardinality
from inferledger.dashboards.settings import DashboardSettings

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")


@dataclass(frozen=True)
class Family:
    """A group of metrics computed from one query; `tables` are what it reads."""

    name: str
    tables: tuple[str, ...]
    collect: Callable[[object, DashboardSettings, datetime], list[Metric]]


# A dated model version a provider answers with (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929,
# anthropic.claude-3-5-sonnet-20240620-v1:0) without its date: the base model, one `model` label.
_DATED = r"([-@](\d{4}-\d{2}-\d{2}|\d{8}))(-v\d+(:\d+)?)?$"


def base_model_sql(column: str) -> str:
    """SQL for the base model of `column` ('unknown' when null)."""
    return f"coalesce(regexp_replace({column}, '{_DATED}', ''), 'unknown')"


def query(con, sql: str, params: Sequence | None = None) -> pl.DataFrame:
    """Run a small aggregate query into a polars frame (results here are a few thousand rows)."""
    # Through Arrow so an empty result keeps its column types (labels stay strings).
    return pl.from_arrow(con.sql(sql, params=list(params or [])).to_arrow_table())


def table_columns(con, table: str) -> set[str]:
    """Columns of `table` (empty when it does not exist): lets a family adapt to a schema."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {r[0] for r in rows}


def _metric(kind: str, name: str, doc: str, labels: Sequence[str], unit: str = ""):
    if kind == "counter":
        return CounterMetricFamily(name, doc, labels=list(labels), unit=unit)
    return GaugeMetricFamily(name, doc, labels=list(labels), unit=unit)


def emit(
    df: pl.DataFrame, kind: str, name: str, doc: str, labels: Sequence[str], value: str
) -> Metric:
    """One metric family from frame rows: labels from `labels` columns, value from `value`."""
    fam = _metric(kind, name, doc, labels)
    if df.height == 0:
        return fam
    for row in df.select([*labels, value]).iter_rows():
        v = row[-1]
        if v is None:
            continue
        fam.add_metric([str(x) for x in row[:-1]], float(v))
    return fam


# --- spans: requests, errors, tokens, latency -------------------------------------------------

SPAN_LABELS = ("tenant", "team", "model", "model_version", "provider", "environment")


def spans_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    df = query(
        con,
        """
        SELECT tenant, team,
               {model} AS model, coalesce(response_model, request_model, 'unknown') AS model_version,
               coalesce(provider, 'unknown') AS provider,
               coalesce(deployment_environment, 'unknown') AS environment,
               count(*)::DOUBLE AS requests,
               count(*) FILTER (WHERE is_error)::DOUBLE AS errors,
               coalesce(sum(input_tokens), 0)::DOUBLE AS input,
               coalesce(sum(output_tokens), 0)::DOUBLE AS output,
               coalesce(sum(cache_read_tokens), 0)::DOUBLE AS cache_read,
               coalesce(sum(cache_write_tokens), 0)::DOUBLE AS cache_write,
               coalesce(sum(reasoning_tokens), 0)::DOUBLE AS reasoning,
               sum(duration_s) AS duration_sum
        FROM spans WHERE is_inference IS NOT FALSE AND duplicate_of IS NULL GROUP BY ALL
        """.format(model=base_model_sql("coalesce(response_model, request_model)")),
    )
    aggs = {c: "sum" for c in ("requests", "errors", *TOKEN_TYPES, "duration_sum")}
    df = bound_cardinality(df, SPAN_LABELS, aggs, n=cfg.metrics_top_n, rank_by="requests")
    labels = list(SPAN_LABELS)
    out = [
        emit(df, "counter", "inferledger_requests", "Inference spans in the warehouse.", labels, "requests"),
        emit(df, "counter", "inferledger_request_errors", "Inference spans with an error status.", labels, "errors"),
    ]
    tokens = CounterMetricFamily(
        "inferledger_tokens", "Tokens by type (input includes cache tokens; output includes reasoning).",
        labels=[*labels, "type"],
    )
    for row in df.iter_rows(named=True):
        for t in TOKEN_TYPES:
            tokens.add_metric([row[lbl] for lbl in labels] + [t], float(row[t]))
    out.append(tokens)
    summary = SummaryMetricFamily(
        "inferledger_request_duration_seconds", "Inference span duration.", labels=labels
    )
    for row in df.iter_rows(named=True):
        summary.add_metric([row[lbl] for lbl in labels], count_value=row["requests"], sum_value=row["duration_sum"] or 0.0)
    out.append(summary)
    return out


# --- GPU fleet --------------------------------------------------------------------------------

GPU_LABELS = ("host", "gpu_model")


def gpu_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Latest sample of every GPU seen in the trailing `gpu_window_seconds`, per host and model."""
    since = now - timedelta(seconds=cfg.gpu_window_seconds)
    df = query(
        con,
        """
        SELECT coalesce(host, 'unknown') AS host, coalesce(gpu_model, 'unknown') AS gpu_model,
               count(*)::DOUBLE AS gpus,
               count(utilization)::DOUBLE AS util_n,
               coalesce(sum(utilization), 0)::DOUBLE AS util_sum,
               coalesce(sum(memory_used_bytes), 0)::DOUBLE AS mem_used,
               coalesce(sum(memory_total_bytes), 0)::DOUBLE AS mem_total,
               coalesce(sum(power_w), 0)::DOUBLE AS power
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY tenant, host, coalesce(gpu_uuid, gpu_index::VARCHAR), mig_instance
                ORDER BY time DESC) AS rn
            FROM gpu_samples WHERE time >= ?
        ) WHERE rn = 1 GROUP BY ALL
        """,
        [since],
    )
    aggs = {c: "sum" for c in ("gpus", "util_n", "util_sum", "mem_used", "mem_total", "power")}
    df = bound_cardinality(df, GPU_LABELS, aggs, n=cfg.metrics_top_n, rank_by="gpus")
    df = df.with_columns(
        pl.when(pl.col("util_n") > 0).then(pl.col("util_sum") / pl.col("util_n")).otherwise(None).alias("util")
    )
    labels = list(GPU_LABELS)
    return [
        emit(df, "gauge", "inferledger_gpus", "GPUs (or MIG instances) reporting in the window.", labels, "gpus"),
        emit(df, "gauge", "inferledger_gpu_utilization_ratio", "Mean GPU utilisation, 0-1.", labels, "util"),
        emit(df, "gauge", "inferledger_gpu_memory_used_bytes", "GPU memory in use.", labels, "mem_used"),
        emit(df, "gauge", "inferledger_gpu_memory_total_bytes", "GPU memory installed.", labels, "mem_total"),
        emit(df, "gauge", "inferledger_gpu_power_watts", "GPU power draw.", labels, "power"),
    ]


# --- jobs, alerts, warehouse freshness --------------------------------------------------------


def jobs_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    df = query(
        con,
        """
        SELECT job, status, count(*)::DOUBLE AS runs,
               max(epoch(finished_at)) FILTER (WHERE status = 'ok') AS last_ok,
               arg_max(epoch(finished_at) - epoch(started_at), started_at)
                   FILTER (WHERE finished_at IS NOT NULL) AS last_duration
        FROM job_runs GROUP BY ALL
        """,
    )
    runs = df.filter(pl.col("status").is_in(["ok", "failed"]))
    per_job = df.group_by("job").agg(
        pl.col("last_ok").max(), pl.col("last_duration").drop_nulls().first()
    ).sort("job")
    # Every job shows both statuses, so `failed` reads 0 rather than absent.
    full = (
        df.select("job").unique().join(pl.DataFrame({"status": ["ok", "failed"]}), how="cross")
        .join(runs.select("job", "status", "runs"), on=["job", "status"], how="left")
        .with_columns(pl.col("runs").fill_null(0.0))
        .sort("job", "status")
    )
    return [
        emit(full, "counter", "inferledger_job_runs", "Finished job runs by outcome.", ["job", "status"], "runs"),
        emit(per_job, "gauge", "inferledger_job_last_success_timestamp_seconds",
             "When each job last finished successfully (Unix time).", ["job"], "last_ok"),
        emit(per_job, "gauge", "inferledger_job_last_duration_seconds",
             "How long each job's latest finished run took.", ["job"], "last_duration"),
    ]


def alerts_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    df = query(
        con,
        """
        SELECT source, severity, alertname, count(*) FILTER (WHERE status = 'firing')::DOUBLE AS firing FROM (
            SELECT source, severity, alertname, status,
                   row_number() OVER (PARTITION BY fingerprint ORDER BY id DESC) AS rn
            FROM alert_records
        ) WHERE rn = 1 GROUP BY ALL
        """,
    )
    df = bound_cardinality(df, ("source", "severity", "alertname"), {"firing": "sum"}, n=cfg.metrics_top_n)
    totals = query(con, "SELECT source, status, count(*)::DOUBLE AS n FROM alert_records GROUP BY ALL")
    return [
        emit(df, "gauge", "inferledger_alerts_firing", "Conditions whose latest alert record is firing (0 for alerts seen but not firing).",
             ["source", "severity", "alertname"], "firing"),
        emit(totals, "counter", "inferledger_alert_records", "Alert records written by the jobs.",
             ["source", "status"], "n"),
    ]


def warehouse_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    df = query(
        con,
        """
        SELECT 'spans' AS "table", count(*)::DOUBLE AS n, max(epoch(ingested_at)) AS last FROM spans
        UNION ALL SELECT 'gpu_samples', count(*)::DOUBLE, max(epoch(ingested_at)) FROM gpu_samples
        UNION ALL SELECT 'metric_points', count(*)::DOUBLE, max(epoch(ingested_at)) FROM metric_points
        """,
    )
    return [
        emit(df, "gauge", "inferledger_warehouse_rows", "Rows held per canonical table.", ["table"], "n"),
        emit(df, "gauge", "inferledger_warehouse_last_ingest_timestamp_seconds",
             "When a row was last written to each canonical table (Unix time).", ["table"], "last"),
    ]


def provenance_family(con, cfg: DashboardSettings, now: datetime) -> list[Metric]:
    """Stored spans per instrumentation scope and vocabulary, by role: which library sent what,
    and how much of it was workflow structure or a second report of a call already counted."""
    df = query(
        con,
        """
        SELECT coalesce(scope_name, 'unknown') AS scope, coalesce(scope_version, 'unknown') AS scope_version,
               vocabulary,
               CASE WHEN is_inference IS FALSE THEN 'structure'
                    WHEN duplicate_of IS NOT NULL THEN 'duplicate' ELSE 'inference' END AS role,
               count(*)::DOUBLE AS n
        FROM spans GROUP BY ALL
        """,
    )
    labels = ["scope", "scope_version", "vocabulary", "role"]
    df = bound_cardinality(df, tuple(labels), {"n": "sum"}, n=cfg.metrics_top_n, rank_by="n")
    return [emit(df, "counter", "inferledger_spans_by_scope",
                 "Stored spans per instrumentation scope and vocabulary; role inference | structure | duplicate.",
                 labels, "n")]


CORE_FAMILIES: list[Family] = [
    Family("spans", ("spans",), spans_family),
    Family("provenance", ("spans",), provenance_family),
    Family("gpu", ("gpu_samples",), gpu_family),
    Family("jobs", ("job_runs",), jobs_family),
    Family("alerts", ("alert_records",), alerts_family),
    Family("warehouse", ("spans", "gpu_samples", "metric_points"), warehouse_family),
]

