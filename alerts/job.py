"""The scheduled job: evaluate new alert records, then deliver what is due.

One job does both, in order, so evaluation and delivery never race on the outbox
and a notification enqueued by a tick goes out in the same tick.
"""

from __future__ import annotations

from inferledger.alerts.delivery import deliver_due
from inferledger.alerts.pipeline import evaluate, prune
from inferledger.analytics.jobs import JobContext, register_job

EVERY_SECONDS = 5


@register_job("alerts.pipeline", every_seconds=EVERY_SECONDS)
def alerts_pipeline(ctx: JobContext) -> str:
    cfg = ctx.settings.alerts
    ev = evaluate(ctx.warehouse, cfg, ctx.now)
    dl = deliver_due(ctx.warehouse, cfg, ctx.now)
    return f"{ev} {dl}"


@register_job("alerts.prune", cron={"hour": 3, "minute": 17})
def alerts_prune(ctx: JobContext) -> None:
    prune(ctx.warehouse, ctx.settings.alerts, ctx.now)
