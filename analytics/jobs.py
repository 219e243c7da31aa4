"""The job registry: every scheduled job of every issue registers here.

A job is a plain function of a `JobContext`. The service imports the modules that
define jobs (see `inferledger.service.JOB_MODULES`), then schedules every registered
job on APScheduler and records each run in `job_runs`. Jobs read and write the
warehouse; they do not call each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inferledger.analytics.warehouse import Warehouse, utcnow


@dataclass
class JobContext:
    warehouse: Warehouse
    settings: Any  # inferledger.config.Settings; typed loosely so analytics never imports the shell
    now: datetime = field(default_factory=utcnow)


JobFunc = Callable[[JobContext], Any]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    # APScheduler trigger: ("interval", {"seconds": 60}) or ("cron", {"day": 1, "hour": 2})
    trigger: str
    trigger_args: dict


REGISTRY: dict[str, Job] = {}


def register_job(
    name: str, *, every_seconds: float | None = None, cron: dict | None = None
) -> Callable[[JobFunc], JobFunc]:
    """Decorator: `@register_job("slo.evaluate", every_seconds=60)`."""
    if (every_seconds is None) == (cron is None):
        raise ValueError("give exactly one of every_seconds or cron")

    def decorate(func: JobFunc) -> JobFunc:
        if every_seconds is not None:
            job = Job(name, func, "interval", {"seconds": every_seconds})
        else:
            job = Job(name, func, "cron", dict(cron or {}))
        REGISTRY[name] = job
        return func

    return decorate


def run_job(job: Job, ctx: JobContext) -> Any:
    """Run one job now, recording start, end and outcome in `job_runs`."""
    con = ctx.warehouse.con
    started = utcnow()
    con.execute("INSERT INTO job_runs VALUES (?, ?, NULL, 'running', NULL)", [job.name, started])
    try:
        result = job.func(ctx)
    except Exception as exc:
        con.execute(
            "UPDATE job_runs SET finished_at = ?, status = 'failed', detail = ? WHERE job = ? AND started_at = ?",
            [utcnow(), f"{type(exc).__name__}: {exc}"[:2000], job.name, started],
        )
        raise
    con.execute(
        "UPDATE job_runs SET finished_at = ?, status = 'ok', detail = ? WHERE job = ? AND started_at = ?",
        [utcnow(), None if result is None else str(result)[:2000], job.name, started],
    )
    return result
