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
    """Reports people read: the monthly showback."""


@command.command("showback")
@click.option("--month", required=True, help="Month to report, YYYY-MM (UTC).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: analytics.cost.showback_dir/YYYY-MM, else showback/YYYY-MM beside the warehouse).")
@click.option("--no-update", is_flag=True, help="Do not price newly ingested spans first (the DuckDB engine).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_app
def showback(app: AppContext, month: str, out_dir: str | None, no_update: bool, as_json: bool) -> None:
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
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"showback {month} — total {Decimal(summary['total']):,.2f} {summary['currency']}")
    for col in ("team", "total", "previous", "change", "GPU allocated", "GPU idle", "unpriced spans"):
        t.add_column(col, justify="left" if col == "team" else "right")
    for row in summary["teams"]:
        t.add_row(row["team"], f"{Decimal(row['total']):,.2f}", f"{Decimal(row['previous']):,.2f}",
                  "—" if row["mom"] is None else f"{row['mom']:+.1%}", f"{Decimal(row['gpu_allocated']):,.2f}",
                  f"{Decimal(row['gpu_idle']):,.2f}", f"{row['unpriced_spans']:,}")
    Console().print(t)
    for kind, path in summary["files"].items():
        click.echo(f"{kind}: {path}")
