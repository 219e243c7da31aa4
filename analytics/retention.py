"""Retention: facts older than `warehouse.retention_days` are deleted daily."""

from __future__ import annotations

from datetime import datetime, timedelta

from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.warehouse import Warehouse

# table -> its time column; derived tables own their own retention.
FACT_TABLES = {
    "spans": "start_time",
    "gpu_samples": "time",
    "metric_points": "time",
    "log_records": "time",
}


# Job bookkeeping: frequent jobs write thousands of rows a day; a fortnight is plenty.
JOB_RUNS_DAYS = 14


def enforce_retention(wh: Warehouse, now: datetime, retention_days: int) -> dict[str, int]:
    """Delete fact rows older than the cut-off; returns rows deleted per table."""
    cutoffs = {table: (column, now - timedelta(days=retention_days)) for table, column in FACT_TABLES.items()}
    cutoffs["job_runs"] = ("started_at", now - timedelta(days=JOB_RUNS_DAYS))
    deleted = {}
    for table, (column, cutoff) in cutoffs.items():
        # Table and column names come from the constants above, never from input.
        row = wh.con.execute(f"DELETE FROM {table} WHERE {column} < ? RETURNING 1", [cutoff]).fetchall()
        deleted[table] = len(row)
    return deleted


@register_job("warehouse.retention", cron={"hour": 3, "minute": 17})
def retention_job(ctx: JobContext) -> dict[str, int]:
    return enforce_retention(ctx.warehouse, ctx.now, ctx.settings.warehouse.retention_days)
