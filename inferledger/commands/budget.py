"""`inferledger budget status [--json]`: each monthly budget, its spend so far and the month-end forecast."""

from __future__ import annotations

import json
from decimal import Decimal

import click

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app


@click.group("budget")
def command() -> None:
    """Monthly team budgets (analytics.cost.budgets)."""


@command.command("status")
@click.option("--no-update", is_flag=True, help="Do not price newly ingested spans first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@pass_app
def status(app: AppContext, no_update: bool, as_json: bool) -> None:
    """Spend this month, forecast to month end, and the highest threshold crossed, per budget."""
    from inferledger.analytics.cost.reports import budget_report

    cost = app.settings.analytics.cost
    result = local_or_admin(app.settings, lambda wh: budget_report(wh, cost, update=not no_update),
                            "GET", "/admin/cost/budgets", None, timeout=3600)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    print_budgets(result)


def print_budgets(result: dict, console=None) -> None:
    """The budget table as a person reads it (also printed by the demo)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=max(Console().width, 140))
    if not result["budgets"]:
        console.print("no budgets configured (analytics.cost.budgets)")
        return
    t = Table(title=f"budgets {result['month']} (as of {result['as_of'][:16]} UTC, {result['currency']})")
    for col in ("team", "feature", "budget", "spent", "used", "forecast", "threshold crossed"):
        t.add_column(col, justify="left" if col in ("team", "feature") else "right")
    for b in result["budgets"]:
        over = " [red](over budget)[/]" if b["forecast_over_budget"] else ""
        t.add_row(b["team"], b["feature"], f"{Decimal(b['budget']):,.2f}", f"{Decimal(b['spent']):,.2f}",
                  f"{b['consumed']:.1%}", f"{Decimal(b['forecast']):,.2f}{over}", b["threshold_crossed"] or "—")
    console.print(t)
