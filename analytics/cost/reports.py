"""The cost engine's answers as plain JSON-ready dicts, shared by the CLI and the admin API.

The CLI opens the warehouse itself when no service holds it, and asks the running
service otherwise; both paths call these functions, so they print the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from inferledger.analytics.cost.catalog import catalog_meta
from inferledger.analytics.cost.gpu import allocate_window, rate_for
from inferledger.analytics.cost.lines import price_new_spans, set_state
from inferledger.analytics.cost.pricing import MAX_TIME, MIN_TIME, load_price_book
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.cost.unpriced import raise_unpriced_alerts, unpriced_usage
from inferledger.analytics.warehouse import Warehouse, utcnow


def _money(v: Decimal) -> str:
    return format(v, "f")


def check_report(wh: Warehouse, settings: CostSettings) -> dict:
    """Catalog age and size, overrides, unpriced usage, GPU models with no rate."""
    book = load_price_book(settings)
    price_new_spans(wh, book)
    unpriced = [{**u, "first_seen": u["first_seen"].isoformat(), "last_seen": u["last_seen"].isoformat()}
                for u in unpriced_usage(wh)]
    gpus = wh.con.execute("SELECT DISTINCT gpu_model FROM gpu_samples WHERE gpu_model IS NOT NULL").fetchall()
    now = utcnow()
    rates = [(r.gpu_model, Decimal(repr(r.usd_per_hour)), MIN_TIME, MAX_TIME, "config") for r in settings.gpu_rates]
    no_rate = sorted(g for (g,) in gpus if rate_for(g, now, rates) is None)
    meta = catalog_meta(settings.catalog_path)
    fetched = datetime.fromisoformat(meta["fetched_at"].replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    return {
        "catalog": {**meta, "version": book.catalog.version, "models": len(book.catalog), "age_days": (now - fetched).days},
        "overrides": len(book.overrides),
        "unpriced": unpriced,
        "gpu_models_without_rate": no_rate,
        "reconciliation": reconcile_client_cost(wh),
        "token_conflicts": token_conflicts(wh),
        "ok": not unpriced and not no_rate,
    }


def token_conflicts(wh: Warehouse) -> list[dict]:
    """Lines whose input count, read as including cache tokens, is smaller than the cache tokens.

    Their uncached input is billed as 0 (never negative); a source listed here reports
    input without cache, and collector.token_semantics (or the provider default) is wrong for it.
    """
    rows = wh.con.execute(
        """
        SELECT coalesce(s.scope_name, ''), s.vocabulary, coalesce(l.provider, ''), coalesce(l.model, ''), count(*),
               min(l.start_time), max(l.start_time)
        FROM cost_lines l JOIN spans s ON l.tenant = s.tenant AND l.trace_id = s.trace_id AND l.span_id = s.span_id
        WHERE l.negative_uncached
        GROUP BY ALL ORDER BY 5 DESC
        """
    ).fetchall()
    return [{"scope": sc, "vocabulary": v, "provider": p, "model": m, "spans": n, "first_seen": a.isoformat(),
             "last_seen": b.isoformat()} for sc, v, p, m, n, a, b in rows]


def reconcile_client_cost(wh: Warehouse) -> list[dict]:
    """Our cost next to the cost instrumentations reported themselves (OpenLIT, OpenInference), per model.

    The client's figure is never used as the price; a large gap points at a wrong price
    or token accounting on one side.
    """
    rows = wh.con.execute(
        """
        SELECT coalesce(s.provider, ''), coalesce(l.model, ''), count(*), sum(s.client_cost_usd),
               CAST(sum(l.cost) AS DOUBLE), max(abs(s.client_cost_usd - CAST(l.cost AS DOUBLE)))
        FROM spans s JOIN cost_lines l ON l.tenant = s.tenant AND l.trace_id = s.trace_id AND l.span_id = s.span_id
        WHERE s.client_cost_usd IS NOT NULL AND l.status = 'priced'
        GROUP BY ALL ORDER BY 4 DESC
        """
    ).fetchall()
    return [{"provider": p, "model": m, "spans": n, "client_cost": round(c, 6), "our_cost": round(o, 6),
             "max_abs_diff_per_span": round(d, 9)} for p, m, n, c, o, d in rows]


def reprice_report(wh: Warehouse, settings: CostSettings, *, dry_run: bool, since: datetime | None = None,
                   until: datetime | None = None) -> dict:
    """Re-price (or show what a re-price would change); a real run also refreshes GPU, rollups and alerts."""
    from inferledger.analytics.cost.job import book_fingerprint
    from inferledger.analytics.cost.reprice import reprice
    from inferledger.analytics.cost.unit_economics import rebuild_rollup

    book = load_price_book(settings)
    result = reprice(wh, book, dry_run=dry_run, start=since, end=until)
    if not dry_run:
        lo, hi = result.span_range
        if lo is not None:
            allocate_window(wh, settings, lo, hi + timedelta(hours=1))
            rebuild_rollup(wh, lo, hi + timedelta(hours=1))
        if since is None and until is None:
            set_state(wh, "price_book", book_fingerprint(book))
        raise_unpriced_alerts(wh, utcnow())
    changed = [d for d in result.diffs if d.delta != 0 or d.old_unpriced != d.new_unpriced]
    return {
        "dry_run": dry_run, "lines": result.lines, "old_total": _money(result.old_total),
        "new_total": _money(result.new_total),
        "changes": [{"team": d.team, "provider": d.provider, "model": d.model, "lines": d.lines,
                     "old_cost": _money(d.old_cost), "new_cost": _money(d.new_cost), "delta": _money(d.delta),
                     "old_unpriced": d.old_unpriced, "new_unpriced": d.new_unpriced} for d in changed],
    }


def showback_report(wh: Warehouse, settings: CostSettings, month: str, out: Path, *, update: bool = True,
                    progress: bool = False) -> dict:
    """Price what is new, then write the month's showback to `out`; returns the summary."""
    from inferledger.analytics.cost.job import update_costs
    from inferledger.analytics.cost.showback.build import build_showback

    if update:
        update_costs(wh, settings, utcnow())
    return showback_summary(build_showback(wh, settings, month, out, progress=progress))


def showback_summary(sb) -> dict:
    """The JSON-ready summary of a built `Showback`, whichever engine built it."""
    return {
        "month": sb.month, "currency": sb.currency, "total": _money(sb.total), "focus_rows": sb.focus_rows,
        "files": sb.files, "empty": sb.empty, "period": sb.period_label, "previous_period": sb.previous_label,
        "as_of": sb.as_of.isoformat() if sb.as_of else None,
        "gpu_pools": [p.as_dict() for p in sb.pools],
        "teams": [{"team": t.team, "total": _money(t.total), "previous": _money(t.previous), "mom": t.mom,
                   "gpu_allocated": _money(t.gpu_allocated), "gpu_idle": _money(t.gpu_idle),
                   "unpriced_spans": sum(u["spans"] for u in t.unpriced)} for t in sb.teams],
    }


def reconcile_report(wh: Warehouse, settings: CostSettings, month: str, *, update: bool = True) -> dict:
    """Price and allocate what is new, then the month's GPU reconciliation (see analytics.cost.reconcile)."""
    from inferledger.analytics.cost.job import update_costs
    from inferledger.analytics.cost.reconcile import reconcile_month

    if update:
        update_costs(wh, settings, utcnow())
    return reconcile_month(wh, settings, month)


def budget_report(wh: Warehouse, settings: CostSettings, *, update: bool = True) -> dict:
    """Each configured budget this month: spend so far, month-end forecast, highest threshold crossed."""
    from inferledger.analytics.cost.budgets import evaluate_budgets, highest_crossed
    from inferledger.analytics.cost.job import update_costs

    now = utcnow()
    if update:
        update_costs(wh, settings, now)
    out = []
    for s in evaluate_budgets(wh, settings, now):
        crossed = highest_crossed(s, settings.budget_thresholds)
        out.append({"team": s.team, "feature": s.feature or "*", "budget": _money(s.budget),
                    "spent": _money(s.spent.quantize(Decimal("0.01"))),
                    "forecast": _money(s.forecast.quantize(Decimal("0.01"))), "consumed": round(s.consumed, 4),
                    "threshold_crossed": None if crossed is None else f"{round(crossed * 100)}%",
                    "forecast_over_budget": s.forecast > s.budget})
    return {"month": f"{now:%Y-%m}", "as_of": now.isoformat(), "currency": settings.currency, "budgets": out}
