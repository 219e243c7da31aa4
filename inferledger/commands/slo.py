"""`inferledger slo rules / status / evaluate` — a thin shell over analytics/slo/."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app

SPARK = "▁▂▃▄▅▆▇█"


@click.group("slo")
def command() -> None:
    """SLO error-budget burn: Prometheus rules, status, one evaluation now."""


def _extra_labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected key=value", param_hint="--extra-labels")
        out[key] = value
    return out


@command.command("rules")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--out", "out", default="-", show_default=True,
              help="Output file (`-`: stdout); a folder when several inputs are given (one file per input).")
@click.option("-l", "--extra-labels", multiple=True, help="key=value label added to every rule (repeatable).")
@click.option("--disable-alerts", is_flag=True, help="Leave out the alert rules.")
@click.option("--disable-recordings", is_flag=True, help="Leave out the recording rules.")
@click.option("--default-slo-period", default="30d", show_default=True,
              help="SLO period of specs that have none (Sloth and OpenSLO v1alpha specs).")
@click.option("-w", "--slo-period-windows-path", "windows_paths", multiple=True, type=click.Path(exists=True),
              help="AlertWindows specs (files or folders) replacing the built-in 28d/30d windows.")
@click.option("--json", "as_json", is_flag=True, help="The rule groups as JSON instead of YAML.")
def rules_cmd(inputs: tuple[str, ...], out: str, extra_labels: tuple[str, ...], disable_alerts: bool,
              disable_recordings: bool, default_slo_period: str, windows_paths: tuple[str, ...], as_json: bool) -> None:
    """Prometheus recording and alert rules (Sloth names) for INPUTS (spec files or folders of them).

    Reads our format, OpenSLO v1 / v1alpha, Sloth's prometheus/v1 and its
    PrometheusServiceLevel CRD (which gives a PrometheusRule object, as Sloth does).
    Each YAML document gets its own rule group set, like Sloth.
    """
    from inferledger.analytics.slo.rules_output import render_inputs
    from inferledger.analytics.slo.spec import SpecError

    try:
        outputs, warnings = render_inputs(list(inputs), extra_labels=_extra_labels(extra_labels),
                                          disable_alerts=disable_alerts, disable_recordings=disable_recordings,
                                          default_period=default_slo_period, windows_paths=list(windows_paths),
                                          as_json=as_json)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    if out == "-":
        click.echo("".join(text for _, text in outputs), nl=False)
        return
    target = Path(out)
    if len(outputs) == 1 and not target.is_dir():
        target.write_text(outputs[0][1])
        return
    target.mkdir(parents=True, exist_ok=True)
    for name, text in outputs:
        (target / name).write_text(text)


@command.command("validate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--default-slo-period", default="30d", show_default=True, help="SLO period of specs that have none.")
@click.option("-w", "--slo-period-windows-path", "windows_paths", multiple=True, type=click.Path(exists=True),
              help="AlertWindows specs (files or folders) replacing the built-in 28d/30d windows.")
@click.option("--ignore-slo-duplicates", is_flag=True, help="Allow one SLO ID in several files.")
def validate_cmd(inputs: tuple[str, ...], default_slo_period: str, windows_paths: tuple[str, ...],
                 ignore_slo_duplicates: bool) -> None:
    """Check SLO spec files or folders with Sloth's validation rules; exit 1 naming every bad file."""
    from inferledger.analytics.slo.rules_output import validate_inputs

    results = validate_inputs(list(inputs), default_period=default_slo_period, windows_paths=list(windows_paths),
                              ignore_duplicates=ignore_slo_duplicates)
    bad = [(f, e) for f, e in results if e]
    for f, e in results:
        click.echo(f"{'FAIL' if e else 'ok'}  {f}" + (f": {e}" if e else ""))
    if bad:
        raise click.ClickException(f"{len(bad)} of {len(results)} spec files are invalid")


def _states(app: AppContext) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """States and 24h budget history (history only when read from the file itself)."""
    from inferledger.analytics.slo.store import read_history, read_states
    from inferledger.analytics.warehouse import utcnow

    def local(wh) -> dict[str, Any]:
        rows = read_states(wh)
        since = utcnow() - timedelta(hours=24)
        return {"slos": rows, "history": {r["slo_id"]: read_history(wh, r["slo_id"], since) for r in rows}}

    data = local_or_admin(app.settings, local, "GET", "/admin/slo/status")
    return data["slos"], data.get("history", {})


def sparkline(values: list[float], width: int = 24) -> str:
    """Budget remaining over time as a unicode sparkline (clipped to 0..1)."""
    if not values:
        return ""
    step = max(1, len(values) // width)
    pts = [min(1.0, max(0.0, v)) for v in values[::step]][-width:]
    return "".join(SPARK[min(len(SPARK) - 1, int(v * (len(SPARK) - 1) + 0.5))] for v in pts)


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def status_cmd(app: AppContext, as_json: bool) -> None:
    """Each SLO's burn rates, error budget remaining, time to exhaustion and firing alerts."""
    rows, history = _states(app)
    if as_json:
        click.echo(json.dumps({"slos": rows}, indent=2, default=str))
        return
    _render(rows, history)


def _render(rows: list[dict[str, Any]], history: dict[str, list]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not rows:
        console.print("No SLO state yet: configure [bold]analytics.slo[/] and run the service "
                      "(or `inferledger slo evaluate`).")
        return
    table = Table(title="SLO error-budget burn (burn rate = error ratio / (1 - objective))")
    for col in ("SLO", "objective", "window", "burn 5m", "1h", "6h", "1d", "3d", "budget left",
                "exhausted in", "24h budget", "alerts"):
        table.add_column(col, justify="left" if col in ("SLO", "alerts", "24h budget") else "right")
    for r in rows:
        b = r["burn_rates"]
        alerts = " ".join(s for s, on in (("[red]PAGE[/]", r["page"]), ("[yellow]TICKET[/]", r["ticket"])) if on)
        exh = r["exhaustion_hours"]
        exh_txt = ("—" if exh is None else "exhausted" if exh <= 0
                   else f"{exh:.1f} h" if exh < 72 else f"{exh / 24:.1f} d")
        left = r["budget_remaining"]
        colour = "green" if left > 0.5 else "yellow" if left > 0 else "red"
        table.add_row(
            f"{r['service']}/{r['name']} ({r['sli_kind']})", f"{r['objective']:g}%", r["period"],
            *(f"{b[i]:.2f}x" for i in (0, 2, 4, 5, 6)), f"[{colour}]{left:.1%}[/]", exh_txt,
            sparkline([h[2] for h in history.get(r["slo_id"], [])]), alerts or "ok",
        )
    console.print(table)


@command.command("evaluate")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def evaluate_cmd(app: AppContext, as_json: bool) -> None:
    """Run the `slo.evaluate` job once now (rollups, burn rates, state, alert records)."""
    from inferledger.analytics.slo.job import run_evaluation
    from inferledger.analytics.slo.spec import SpecError, load_configured_specs
    from inferledger.analytics.warehouse import utcnow
    from inferledger.cli import open_warehouse_for_cli

    cfg = app.settings.analytics.slo
    try:
        specs = load_configured_specs(cfg)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc
    if app.settings.engine.kind == "dask":  # minute rollups over the lake; state into the --db warehouse
        from inferledger.commands.lake import run_on_dask

        summary = run_on_dask(app.settings, ("slo",), utcnow())["slo"]
        click.echo(json.dumps(summary) if as_json else
                   f"evaluated {summary['slos']} SLOs on Dask: {summary['page']} paging, {summary['ticket']} ticketing, "
                   f"{summary['alert_records']} alert records written")
        return
    wh = open_warehouse_for_cli(app.settings)
    try:
        summary = run_evaluation(wh, specs, utcnow(), overlap_seconds=cfg.rollup_overlap_seconds,
                                 retention_days=cfg.rollup_retention_days, history_days=cfg.history_days)
    finally:
        wh.close()
    click.echo(json.dumps(summary) if as_json else
               f"evaluated {summary['slos']} SLOs: {summary['page']} paging, {summary['ticket']} ticketing, "
               f"{summary['alert_records']} alert records written")


@command.command("replay")
@click.option("--hours", default=48.0, show_default=True, help="How far back to replay, ending now.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def replay_cmd(app: AppContext, hours: float, as_json: bool) -> None:
    """When each configured SLO would have paged or ticketed, minute by minute, over the last HOURS.

    Brings the minute rollups up to date first; writes no state and no alerts.
    """
    from inferledger.analytics.slo.replay import replay
    from inferledger.analytics.slo.rollup import update_rollups
    from inferledger.analytics.slo.spec import SpecError, load_configured_specs
    from inferledger.analytics.warehouse import utcnow
    from inferledger.cli import open_warehouse_for_cli

    cfg = app.settings.analytics.slo
    try:
        specs = [s for s in load_configured_specs(cfg) if s.sli is not None]
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc
    now = utcnow()
    wh = open_warehouse_for_cli(app.settings)
    try:
        for s in specs:
            update_rollups(wh, s, now, overlap_seconds=cfg.rollup_overlap_seconds,
                           retention_days=cfg.rollup_retention_days)
        results = replay(wh, specs, now - timedelta(hours=hours), now + timedelta(minutes=1))
    finally:
        wh.close()
    if as_json:
        click.echo(json.dumps({"slos": [{
            "slo_id": r.spec.id, "episodes": [{"severity": e.severity, "start": e.start, "end": e.end,
                                               "ongoing": e.ongoing}
                                              for e in r.episodes],
            "budget_remaining_end": float(r.budget_remaining[-1]) if len(r.budget_remaining) else None,
        } for r in results]}, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"SLO alert replay, last {hours:g} h (same tiers and thresholds as the job)")
    for col in ("SLO", f"budget remaining over {hours:g} h", "alert episodes (UTC)"):
        table.add_column(col)
    for r in results:
        eps = "\n".join(f"{'[red]PAGE[/]' if e.severity == 'page' else '[yellow]TICKET[/]'} "
                        f"{e.start:%m-%d %H:%M} - {'now' if e.ongoing else format(e.end, '%H:%M')} "
                        f"({(e.end - e.start).total_seconds() / 60:.0f} min{', ongoing' if e.ongoing else ''})"
                        for e in r.episodes) or "none"
        rem = r.budget_remaining
        table.add_row(f"{r.spec.service}/{r.spec.name}",
                      f"{sparkline(rem.tolist(), 40)} {rem[0]:.0%} -> {rem[-1]:.0%}" if len(rem) else "", eps)
    Console().print(table)
