"""`inferledger report showback --month YYYY-MM --out DIR` — a thin shell over analytics.cost_reports."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import click

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app


@click.group("report")
def command() -> None:
    """Reports people read: the monthly showback and the GPU reconciliation."""


@command.command("showback")
@click.option("--month", required=True, help="Month to report, YYYY-MM (UTC).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: analytics.cost.showback_dir/YYYY-MM, else showback/YYYY-MM beside the warehouse).")
@click.option("--no-update", is_flag=True, help="Do not price newly ingested spans first (the DuckDB engine).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.option("--strict", is_flag=True, help="Exit 1 when the month has no data.")
@pass_app
def showback(app: AppContext, month: str, out_dir: str | None, no_update: bool, as_json: bool, strict: bool) -> None:
    """Write showback.html (a page per team), showback.csv and FOCUS 1.2 focus.csv / focus.parquet."""
    from inferledger.analytics.cost.reports import showback_report
    from inferledger.analytics.cost.showback.build import parse_month

    try:
        parse_month(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    cost = app.settings.analytics.cost
    out = (Path(out_dir) if out_dir else cost.report_dir(app.settings.warehouse.path, month)).resolve()
    if app.settings.engine.kind == "dask":
        from inferledger.commands.lake import showback_on_dask

        summary = showback_on_dask(app.settings, month, out)
    else:
        summary = local_or_admin(
            app.settings,
            lambda wh: showback_report(wh, cost, month, out, update=not no_update, progress=not as_json),
            "POST", "/admin/cost/showback", {"month": month, "out": str(out)}, timeout=3600,
        )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif summary.get("empty"):
        click.echo(f"no data for {month}: no priced spans and no GPU cost in the warehouse for that month", err=True)
    else:
        _print_showback(month, summary)
    if strict and summary.get("empty"):
        raise SystemExit(1)


def _print_showback(month: str, summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"showback {month} ({summary.get('period', 'whole month')}) — total "
                    f"{Decimal(summary['total']):,.2f} {summary['currency']}")
    for col in ("team", "total", summary.get("previous_period", "previous"), "change", "GPU allocated", "GPU idle",
                "unpriced spans"):
        t.add_column(col, justify="left" if col == "team" else "right")
    for row in summary["teams"]:
        t.add_row(row["team"], f"{Decimal(row['total']):,.2f}", f"{Decimal(row['previous']):,.2f}",
                  "—" if row["mom"] is None else f"{row['mom']:+.1%}", f"{Decimal(row['gpu_allocated']):,.2f}",
                  f"{Decimal(row['gpu_idle']):,.2f}", f"{row['unpriced_spans']:,}")
    Console().print(t)
    for kind, path in summary["files"].items():
        click.echo(f"{kind}: {path}")


@command.command("reconcile")
@click.option("--month", required=True, help="Month to reconcile, YYYY-MM (UTC).")
@click.option("--no-update", is_flag=True, help="Do not price and allocate newly ingested data first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@click.option("--strict", is_flag=True, help="Exit 1 when any pool warns (coverage under 95 %, unlisted GPUs).")
@pass_app
def reconcile(app: AppContext, month: str, no_update: bool, as_json: bool, strict: bool) -> None:
    """GPU-hours expected by the inventory vs observed, allocated, idle and uncovered; bill vs allocated cost."""
    from inferledger.analytics.cost.reports import reconcile_report
    from inferledger.analytics.cost.showback.build import parse_month

    try:
        parse_month(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    cost = app.settings.analytics.cost
    result = local_or_admin(
        app.settings, lambda wh: reconcile_report(wh, cost, month, update=not no_update),
        "GET", f"/admin/cost/reconcile?month={month}", None, timeout=3600,
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        print_reconciliation(result)
    if strict and not result["ok"]:
        raise SystemExit(1)


def print_reconciliation(result: dict, console=None) -> None:
    """The reconciliation table as a person reads it (also printed by the demo)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"GPU reconciliation {result['month']} (as of {result['as_of'][:16]} UTC, {result['currency']})")
    cols = ("pool", "GPUs", "expected h", "observed h", "allocated h", "idle h", "uncovered h", "coverage",
            "billed", "allocated cost", "difference")
    for col in cols:
        t.add_column(col, justify="left" if col == "pool" else "right")
    for p in result["pools"]:
        money = (lambda v: "—" if v is None else f"{Decimal(v):,.2f}")
        t.add_row(p["pool"], str(p["count"] or "—"), f"{p['expected_gpu_hours']:,.1f}", f"{p['observed_gpu_hours']:,.1f}",
                  f"{p['allocated_gpu_hours']:,.1f}", f"{p['idle_gpu_hours']:,.1f}", f"{p['uncovered_gpu_hours']:,.1f}",
                  "—" if p["coverage"] is None else f"{p['coverage']:.1%}",
                  money(p["billed"]) + ("" if p["bill_source"] != "inventory" else " (inventory × rate)"),
                  money(p["allocated_cost"]), money(p["difference"]))
    console = console or Console(width=max(Console().width, 140))
    console.print(t)
    for w in result["warnings"]:
        console.print(f"[yellow]warning:[/] {w}")
    if result["ok"]:
        console.print("[green]every pool's GPU time is covered (>= 95 %)[/]")
