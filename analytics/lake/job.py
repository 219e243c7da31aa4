"""The `lake.seal` job: every few minutes, this node's completed hours go into the lake.

The registry's triggers are fixed at import, before any configuration is read, so
the job ticks every 30 s and seals when `[lake] seal_every_seconds` has passed
since this process last sealed.
"""

from __future__ import annotations

from datetime import datetime

from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.lake.export import seal_completed
from inferledger.analytics.lake.store import open_lake

_last_seal: dict[str, datetime] = {}


@register_job("lake.seal", every_seconds=30)
def seal_job(ctx: JobContext) -> dict | str:
    cfg = ctx.settings.lake
    if not cfg.path:
        return "no lake configured"
    last = _last_seal.get(cfg.path)
    if last is not None and (ctx.now - last).total_seconds() < cfg.seal_every_seconds:
        return "not due"
    res = seal_completed(ctx.warehouse, open_lake(cfg.path), cfg.node_id, ctx.now,
                         delay_seconds=cfg.seal_delay_seconds, overlap_seconds=cfg.overlap_seconds)
    _last_seal[cfg.path] = ctx.now
    return {"node": cfg.node_id, **res.summary()}
