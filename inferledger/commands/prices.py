"""`inferledger prices check / update / reprice` — a thin shell over analytics.pricing and friends."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import click

from inferledger.cli import AppContext, open_warehouse_for_cli, pass_app


def _book(app: AppContext):
    from analytics.price_overrides import OverrideFileError
    from analytics.pricing import load_price_book

    try:
        return load_price_book(app.settings.analytics.cost)
    except (OverrideFileError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _dump(obj) -> str:
    return json.dumps(obj, indent=2, default=lambda v: format(v, "f") if isinstance(v, Decimal) else str(v))


@click.group("prices")
def command() -> None:
    """Price catalog: health, refresh, re-pricing after a price change."""


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Catalog age and size, overrides, unpriced usage (provider, model, spans, tokens), GPUs with no rate."""
    from analytics.catalog_update import catalog_meta
    from analytics.cost import price_new_spans
    from analytics.unpriced import unpriced_usage

    book = _book(app)
    cost = app.settings.analytics.cost
    wh = open_warehouse_for_cli(app.settings)
    try:
        price_new_spans(wh, book)
        unpriced = unpriced_usage(wh)
        gpus = wh.con.execute("SELECT DISTINCT gpu_model FROM gpu_samples WHERE gpu_model IS NOT NULL").fetchall()
    finally:
        wh.close()
    from analytics.gpu_allocation import rate_for
    from analytics.pricing import MAX_TIME, MIN_TIME

    rates = [(r.gpu_model, Decimal(repr(r.usd_per_hour)), MIN_TIME, MAX_TIME, "config") for r in cost.gpu_rates]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    no_rate = sorted(g for (g,) in gpus if rate_for(g, now, rates) is None)
    meta = catalog_meta(cost.catalog_path)
    fetched = datetime.fromisoformat(meta["fetched_at"].replace("Z", "+00:00")).replace(tzinfo=None)
    report = {
        "catalog": {**meta, "version": book.catalog.version, "models": len(book.catalog),
                    "age_days": (now - fetched).days},
        "overrides": len(book.overrides),
        "unpriced": unpriced,
        "gpu_models_without_rate": no_rate,
        "ok": not unpriced and not no_rate,
    }
    if as_json:
        click.echo(_dump(report))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c = report["catalog"]
    console.print(f"catalog {c['version']}: {c['models']} priced models from {c.get('source', c['path'])}, "
                  f"fetched {c['fetched_at']} ({c['age_days']} days ago); {report['overrides']} overrides")
    if c["age_days"] > 90:
        console.print("[yellow]the catalog is over 90 days old: run `inferledger prices update`[/]")
    if unpriced:
        t = Table(title="unpriced usage (not in any cost total)")
        for col in ("provider", "model", "reason", "spans", "tokens", "first seen", "last seen"):
            t.add_column(col, justify="right" if col in ("spans", "tokens") else "left")
        for u in unpriced:
            t.add_row(u["provider"], u["model"], u["status"], f"{u['spans']:,}", f"{u['tokens'] or 0:,}",
                      f"{u['first_seen']:%Y-%m-%d %H:%M}", f"{u['last_seen']:%Y-%m-%d %H:%M}")
        console.print(t)
    else:
        console.print("every span is priced")
    if no_rate:
        console.print(f"[yellow]GPU models with no rate (cost 0): {', '.join(no_rate)}[/] — add analytics.cost.gpu_rates")


@command.command("update")
@click.option("--version", "version", default="", help="litellm version to take the prices from (default: latest).")
@click.option("--wheel", type=click.Path(exists=True, dir_okay=False), help="Use this litellm wheel instead of downloading.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the catalog here instead of replacing the bundled one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def update(version: str, wheel: str | None, out: str | None, as_json: bool) -> None:
    """Refresh the price snapshot from the litellm package (pip download --no-deps); then run `reprice`."""
    from analytics.catalog_update import update_catalog

    try:
        result = update_catalog(Path(out) if out else None, version=version, wheel=Path(wheel) if wheel else None)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(_dump(result))
        return
    click.echo(f"catalog {result['path']}: {result['models']} priced models from {result['source']}")
    click.echo(f"  {result['added']} added, {result['removed']} removed, {result['changed']} with changed prices")
    click.echo("run `inferledger prices reprice --dry-run` to see what this changes")


@command.command("reprice")
@click.option("--dry-run", is_flag=True, help="Show the diff per team and model; write nothing.")
@click.option("--since", type=click.DateTime(), help="Only spans starting at or after this UTC time.")
@click.option("--until", type=click.DateTime(), help="Only spans starting before this UTC time.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def reprice_cmd(app: AppContext, dry_run: bool, since: datetime | None, until: datetime | None, as_json: bool) -> None:
    """Recompute cost lines with the current catalog and overrides (facts are never changed)."""
    from analytics.cost import set_state
    from analytics.cost_jobs import book_fingerprint
    from analytics.gpu_allocation import allocate_window
    from analytics.reprice import reprice
    from analytics.unit_economics import rebuild_rollup
    from analytics.unpriced import raise_unpriced_alerts
    from analytics.warehouse import utcnow

    book = _book(app)
    wh = open_warehouse_for_cli(app.settings)
    try:
        result = reprice(wh, book, dry_run=dry_run, start=since, end=until)
        if not dry_run:
            lo, hi = result.span_range
            if lo is not None:
                from datetime import timedelta

                allocate_window(wh, app.settings.analytics.cost, lo, hi + timedelta(hours=1))
                rebuild_rollup(wh, lo, hi + timedelta(hours=1))
            if since is None and until is None:
                set_state(wh, "price_book", book_fingerprint(book))
            raise_unpriced_alerts(wh, utcnow())
    finally:
        wh.close()
    changed = [d for d in result.diffs if d.delta != 0 or d.old_unpriced != d.new_unpriced]
    if as_json:
        click.echo(_dump({
            "dry_run": dry_run, "lines": result.lines, "old_total": result.old_total, "new_total": result.new_total,
            "changes": [{"team": d.team, "provider": d.provider, "model": d.model, "lines": d.lines,
                         "old_cost": d.old_cost, "new_cost": d.new_cost, "delta": d.delta,
                         "old_unpriced": d.old_unpriced, "new_unpriced": d.new_unpriced} for d in changed],
        }))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=("dry run: nothing written" if dry_run else "re-priced") + f" ({result.lines:,} cost lines)")
    for col in ("team", "provider", "model", "lines", "old cost", "new cost", "delta", "unpriced old→new"):
        t.add_column(col, justify="left" if col in ("team", "provider", "model") else "right")
    for d in changed:
        t.add_row(d.team, d.provider, d.model, f"{d.lines:,}", f"{d.old_cost:.6f}", f"{d.new_cost:.6f}",
                  f"{d.delta:+.6f}", f"{d.old_unpriced}→{d.new_unpriced}")
    Console().print(t)
    click.echo(f"total {result.old_total:.6f} -> {result.new_total:.6f} ({result.new_total - result.old_total:+.6f})")
