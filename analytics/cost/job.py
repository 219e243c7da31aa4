"""Scheduled jobs of the cost engine.

- `cost.update` (every 60 s): price spans ingested since the watermark, allocate GPU
  cost for the hours new spans or GPU samples touched, rebuild those hours' unit
  economics, raise or resolve unpriced alerts. When the price book changed since the
  last run (catalog updated, overrides edited), everything is re-priced first.
- `cost.budgets` (hourly): budget consumption, forecast and alert records.
- `cost.showback` (02:30 on the 1st): last month's showback report on disk.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from inferledger.analytics.cost.budgets import check_budgets, month_bounds
from inferledger.analytics.cost.gpu import allocate_window
from inferledger.analytics.cost.lines import WATERMARK_OVERLAP, get_state, price_new_spans, set_state
from inferledger.analytics.cost.pricing import PriceBook, load_price_book
from inferledger.analytics.cost.reprice import reprice
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.cost.unit_economics import rebuild_rollup
from inferledger.analytics.cost.unpriced import raise_unpriced_alerts
from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.quarantine import count_quarantined
from inferledger.analytics.warehouse import Warehouse


def book_fingerprint(book: PriceBook) -> str:
    s = book.settings
    canon = json.dumps([book.catalog.version, book.override_version, sorted(book.self_hosted),
                        sorted(book.excludes_cache), s.currency])
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def _range_union(*ranges: tuple[datetime | None, datetime | None]) -> tuple[datetime | None, datetime | None]:
    los = [r[0] for r in ranges if r[0] is not None]
    his = [r[1] for r in ranges if r[1] is not None]
    return (min(los) if los else None, max(his) if his else None)


def update_costs(wh: Warehouse, settings: CostSettings, now: datetime, book: PriceBook | None = None) -> dict:
    """One incremental pass of the whole cost pipeline; safe to run any number of times."""
    book = book or load_price_book(settings)
    fp = book_fingerprint(book)
    repriced = None
    if get_state(wh, "price_book") not in (None, fp):
        repriced = reprice(wh, book, dry_run=False)
    set_state(wh, "price_book", fp)
    run = price_new_spans(wh, book)
    raw = get_state(wh, "gpu_watermark")
    since = datetime.fromisoformat(raw) - WATERMARK_OVERLAP if raw else datetime(1970, 1, 1)
    gpu_lo, gpu_hi, gpu_wm = wh.con.execute(
        "SELECT min(time), max(time), max(ingested_at) FROM gpu_samples WHERE ingested_at > ?", [since]
    ).fetchone()
    lo, hi = _range_union((run.min_start, run.max_start), (gpu_lo, gpu_hi),
                          repriced.span_range if repriced else (None, None))
    allocated = 0
    if lo is not None:
        end = hi + timedelta(hours=1)
        allocated = allocate_window(wh, settings, lo, end)
        rebuild_rollup(wh, lo, end)
    if gpu_wm is not None:
        set_state(wh, "gpu_watermark", gpu_wm.isoformat())
    alerts = raise_unpriced_alerts(wh, now)
    return {"spans_priced": run.spans, "new_model_keys": run.new_model_keys, "gpu_lines": allocated,
            "repriced_lines": repriced.lines if repriced else 0, "unpriced_alert_records": alerts,
            "quarantined_spans": count_quarantined(wh.con)}


def enforce_cost_retention(wh: Warehouse, now: datetime, retention_days: int) -> int:
    """Cost lines live as long as the spans they are derived from; hourly rollups stay."""
    cutoff = now - timedelta(days=retention_days)
    return wh.con.execute("DELETE FROM cost_lines WHERE start_time < ?", [cutoff]).fetchone()[0]


@register_job("cost.update", every_seconds=60)
def cost_update_job(ctx: JobContext) -> dict:
    result = update_costs(ctx.warehouse, ctx.settings.analytics.cost, ctx.now)
    result["expired_lines"] = enforce_cost_retention(ctx.warehouse, ctx.now, ctx.settings.warehouse.retention_days)
    return result


@register_job("cost.budgets", every_seconds=3600)
def budgets_job(ctx: JobContext) -> dict:
    return check_budgets(ctx.warehouse, ctx.settings.analytics.cost, ctx.now)


@register_job("cost.showback", cron={"day": 1, "hour": 2, "minute": 30})
def showback_job(ctx: JobContext) -> str:
    from inferledger.analytics.cost.showback.build import build_showback

    prev_start, prev_end = month_bounds((ctx.now.replace(day=1) - timedelta(days=1)).date())
    month = prev_start.strftime("%Y-%m")
    has_data = ctx.warehouse.con.execute(
        "SELECT count(*) FROM cost_rollup_hourly WHERE hour >= ? AND hour < ?", [prev_start, prev_end]
    ).fetchone()[0]
    if not has_data:
        return f"no cost data for {month}: no report written"
    out = ctx.settings.analytics.cost.report_dir(ctx.settings.warehouse.path, month)
    build_showback(ctx.warehouse, ctx.settings.analytics.cost, month, out, progress=False)
    return str(out)
