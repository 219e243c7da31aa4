"""The heavy jobs on Dask, their results written where the service reads them.

With `[engine] kind = "dask"` a collector's own warehouse holds only the spans it
received, so SLO burn, drift and anomaly scoring over it would see part of the
fleet. The `lake.analyze` job runs them over the lake on the Dask scheduler
instead and writes what the single-node jobs write (`slo_state`, `slo_minute_rollups`,
`drift_results`, `anomalies`, `alert_records`) into this service's warehouse, so
/metrics, the admin API and alert delivery read them unchanged; the single-node
jobs stand down on that engine. Run it on one node (or via `inferledger lake analyze`),
not on every collector, or each would raise the same alerts.

GPU allocation on Dask (`analytics.lake.gpu`) is run by `lake analyze --jobs gpu`
only: the cost job of every node still allocates its own GPU samples.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.lake.engine import RunStats
from inferledger.analytics.lake.settings import on_dask
from inferledger.analytics.lake.slo import rollups_dask
from inferledger.analytics.slo.job import record_evaluation
from inferledger.analytics.slo.spec import SLOSpec
from inferledger.analytics.slo.store import sync_definitions
from inferledger.analytics.warehouse import Warehouse

JOBS = ("slo", "drift", "anomaly", "gpu")
# seconds between runs of each job inside `lake.analyze`, as the single-node jobs are scheduled
EVERY = {"slo": 60, "drift": 600, "anomaly": 300}
_last_run: dict[tuple[str, str], datetime] = {}


def run_evaluation_dask(client: Any, lake_uri: str, wh: Warehouse, specs: list[SLOSpec], now: datetime, *,
                        retention_days: int = 35, history_days: int = 7, stats: RunStats | None = None) -> dict:
    """`run_evaluation` with the minute rollups counted over the lake; state and alert records into `wh`."""
    skipped = sum(s.sli is None for s in specs)
    specs = [s for s in specs if s.sli is not None]
    sync_definitions(wh, specs, now)
    minutes = rollups_dask(client, lake_uri, specs, now, wh, stats, retention_days) if specs else 0
    return record_evaluation(wh, specs, now, minutes, history_days, skipped)


def run_jobs(client: Any, settings: Any, wh: Warehouse, now: datetime, jobs: tuple[str, ...] = JOBS[:3],
             stats: RunStats | None = None, gpu_window: tuple[datetime, datetime] | None = None) -> dict:
    """Run `jobs` over `settings.lake.path` on `client`, writing into `wh`; a summary per job."""
    unknown = [j for j in jobs if j not in JOBS]
    if unknown:
        raise ValueError(f"unknown job(s) {', '.join(unknown)} (known: {', '.join(JOBS)})")
    uri = settings.lake.path
    if not uri:
        raise ValueError("no lake configured: set [lake] path or pass --lake")
    cost = settings.analytics.cost
    out: dict[str, Any] = {}
    if "slo" in jobs:
        from inferledger.analytics.slo.spec import load_configured_specs

        cfg = settings.analytics.slo
        out["slo"] = run_evaluation_dask(client, uri, wh, load_configured_specs(cfg), now,
                                         retention_days=cfg.rollup_retention_days, history_days=cfg.history_days,
                                         stats=stats)
    if "gpu" in jobs:
        from inferledger.analytics.lake.gpu import allocate_window_dask

        start, end = gpu_window or (now - timedelta(hours=24), now)
        out["gpu"] = {"lines": allocate_window_dask(client, uri, wh, cost, start, end, stats)}
    if "drift" in jobs and settings.analytics.drift.enabled:
        from inferledger.analytics.lake.drift import run_drift_dask

        out["drift"] = run_drift_dask(client, uri, wh, settings.analytics.drift, now, cost, stats)
    if "anomaly" in jobs and settings.analytics.anomaly.enabled:
        from inferledger.analytics.lake.anomaly import run_detection_dask

        out["anomaly"] = str(run_detection_dask(client, uri, wh, settings.analytics.anomaly, now, cost, stats))
    return out


@register_job("lake.analyze", every_seconds=60)
def analyze_job(ctx: JobContext) -> dict | str | None:
    if not on_dask(ctx.settings):
        return None
    if not ctx.settings.engine.scheduler:
        return "no [engine] scheduler: the service does not start a Dask cluster of its own"
    due = tuple(j for j, every in EVERY.items()
                if (last := _last_run.get((ctx.settings.lake.path, j))) is None
                or (ctx.now - last).total_seconds() >= every)
    if not due:
        return "not due"
    from inferledger.analytics.lake.engine import dask_client

    with dask_client(ctx.settings.engine.scheduler) as client:
        out = run_jobs(client, ctx.settings, ctx.warehouse, ctx.now, due)
    for j in due:
        _last_run[(ctx.settings.lake.path, j)] = ctx.now
    return out
