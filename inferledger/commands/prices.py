"""`inferledger prices check / update / reprice` — a thin shell over analytics.cost_reports.

With a running service (it holds the warehouse) the command asks its admin API;
otherwise it opens the warehouse itself. Both give the same answer.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app


def _local_or_remote(app: AppContext, local, method: str, path: str, body: dict | None = None) -> dict:
    """local_or_admin, with a bad overrides or catalog file reported as a clean CLI error."""
    from inferledger.analytics.cost.overrides import OverrideFileError

    def run(wh):
        try:
            return local(wh)
        except (OverrideFileError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc

    return local_or_admin(app.settings, run, method, path, body, timeout=3600)


@click.group("prices")
def command() -> None:
    """Price catalog: health, refresh, re-pricing after a price change."""


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Catalog age and size, overrides, unpriced usage (provider, model, spans, tokens), GPUs with no rate."""
    from inferledger.analytics.cost.reports import check_report

    report = _local_or_remote(app, lambda wh: check_report(wh, app.settings.analytics.cost), "GET", "/admin/cost/check")
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c = report["catalog"]
    console.print(f"catalog {c['version']}: {c['models']} priced models from {c.get('source', c['path'])}, "
                  f"fetched {c['fetched_at']} ({c['age_days']} days ago); {report['overrides']} overrides")
    if c["age_days"] > 90:
        console.print("[yellow]the catalog is over 90 days old: run `inferledger prices update`[/]")
    if report["unpriced"]:
        t = Table(title="unpriced usage (not in any cost total)")
        for col in ("provider", "model", "reason", "spans", "tokens", "first seen", "last seen"):
            t.add_column(col, justify="right" if col in ("spans", "tokens") else "left")
        for u in report["unpriced"]:
            t.add_row(u["provider"], u["model"], u["status"], f"{u['spans']:,}", f"{u['tokens'] or 0:,}",
                      u["first_seen"][:16], u["last_seen"][:16])
        console.print(t)
    else:
        console.print("every span is priced")
    if report.get("reconciliation"):
        t = Table(title="our cost vs the cost instrumentations reported (reconciliation)")
        for col in ("provider", "model", "spans", "client cost", "our cost", "max diff / span"):
            t.add_column(col, justify="left" if col in ("provider", "model") else "right")
        for r in report["reconciliation"]:
            t.add_row(r["provider"], r["model"], f"{r['spans']:,}", f"{r['client_cost']:.6f}", f"{r['our_cost']:.6f}",
                      f"{r['max_abs_diff_per_span']:.2g}")
        console.print(t)
    if report.get("token_conflicts"):
        t = Table(title="input smaller than its cache tokens (uncached input billed as 0)")
        for col in ("scope", "vocabulary", "provider", "model", "spans"):
            t.add_column(col, justify="right" if col == "spans" else "left")
        for r in report["token_conflicts"]:
            t.add_row(r["scope"], r["vocabulary"], r["provider"], r["model"], f"{r['spans']:,}")
        console.print(t)
    if report["gpu_models_without_rate"]:
        console.print(f"[yellow]GPU models with no rate (cost 0): {', '.join(report['gpu_models_without_rate'])}[/]"
                      " — add analytics.cost.gpu_rates")


@command.command("update")
@click.option("--version", "version", default="", help="litellm version to take the prices from (default: latest).")
@click.option("--wheel", type=click.Path(exists=True, dir_okay=False), help="Use this litellm wheel instead of downloading.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the catalog here instead of replacing the bundled one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def update(version: str, wheel: str | None, out: str | None, as_json: bool) -> None:
    """Refresh the price snapshot from the litellm package (pip download --no-deps); then run `reprice`."""
    from inferledger.analytics.cost.catalog import update_catalog

    try:
        result = update_catalog(Path(out) if out else None, version=version, wheel=Path(wheel) if wheel else None)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2))
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
    from inferledger.analytics.cost.reports import reprice_report

    body = {"dry_run": dry_run, "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None}
    result = _local_or_remote(
        app, lambda wh: reprice_report(wh, app.settings.analytics.cost, dry_run=dry_run, since=since, until=until),
        "POST", "/admin/cost/reprice", body,
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=("dry run: nothing written" if dry_run else "re-priced") + f" ({result['lines']:,} cost lines)")
    for col in ("team", "provider", "model", "lines", "old cost", "new cost", "delta", "unpriced old→new"):
        t.add_column(col, justify="left" if col in ("team", "provider", "model") else "right")
    for d in result["changes"]:
        t.add_row(d["team"], d["provider"], d["model"], f"{d['lines']:,}", f"{Decimal(d['old_cost']):.6f}",
                  f"{Decimal(d['new_cost']):.6f}", f"{Decimal(d['delta']):+.6f}", f"{d['old_unpriced']}→{d['new_unpriced']}")
    Console().print(t)
    old, new = Decimal(result["old_total"]), Decimal(result["new_total"])
    click.echo(f"total {old:.6f} -> {new:.6f} ({new - old:+.6f})")
