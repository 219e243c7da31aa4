"""`inferledger anomaly score / list` — a thin shell over analytics/anomaly/."""

from __future__ import annotations

import json
import sys

import click

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app


@click.group("anomaly")
def command() -> None:
    """Streaming anomaly detection on cost, token, latency and GPU series."""


@command.command("score")
@click.argument("in_csv", type=click.Path(dir_okay=False))
@click.option("--out", "out_csv", type=click.Path(dir_okay=False), default=None,
              help="Write the scored rows here (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (rows, alarms) instead of the CSV.")
@click.option("--plot", "plot_svg", type=click.Path(dir_okay=False), default=None,
              help="Also draw the series, its expected value and the alarms as an SVG file.")
@pass_app
def score_cmd(app: AppContext, in_csv: str, out_csv: str | None, as_json: bool, plot_svg: str | None) -> None:
    """Score IN_CSV (columns timestamp,value): the same rows plus anomaly_score in [0, 1].

    Each row is scored from the rows before it only (NAB results format). A score of
    0.5 or more is an alarm. Detector parameters come from [analytics.anomaly.detector].
    """
    from inferledger.analytics.anomaly.csv_score import InputError, alarms, read_series_csv, score_frame

    try:
        df = read_series_csv(in_csv)
        scored, result, values = score_frame(df, app.settings.analytics.anomaly.detector, where=in_csv)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    if plot_svg:
        from pathlib import Path

        from inferledger.analytics.anomaly.chart import series_svg
        from inferledger.analytics.anomaly.csv_score import parse_timestamps

        Path(plot_svg).write_text(series_svg(values, result.expected, result.alarm,
                                             title=f"{in_csv}: anomaly score >= 0.5 marked",
                                             timestamps=parse_timestamps(df, in_csv)))
    if out_csv:
        scored.to_csv(out_csv, index=False)
    elif not as_json:
        scored.to_csv(sys.stdout, index=False)
    if as_json:
        click.echo(json.dumps({"input": in_csv, "output": out_csv, "rows": len(scored),
                               "alarms": alarms(df, result)}, indent=2))
    elif out_csv:
        n = int(result.alarm.sum())
        click.echo(f"scored {len(scored)} rows -> {out_csv} ({n} alarm{'s' if n != 1 else ''})", err=True)


@command.command("list")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(min=1), help="How far back to look.")
@click.option("--series", default=None, help="Only series whose key contains this (e.g. spend_5m, 'team=\"search\"').")
@click.option("--team", default=None, help="Only anomalies of this team (its own series, or where it moved most).")
@click.option("--model", default=None, help="Only anomalies of this model (its own series, or where it moved most).")
@click.option("--kind", type=click.Choice(["spike", "level_shift"]), default=None, help="Only this kind of alarm.")
@click.option("--min-score", type=click.FloatRange(0, 1, max_open=True), default=None, help="Only scores at least this.")
@click.option("--incidents", is_flag=True, help="Group into incidents as the alerts do (one row per page).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_cmd(app: AppContext, hours: int, series: str | None, team: str | None, model: str | None, kind: str | None,
             min_score: float | None, incidents: bool, as_json: bool) -> None:
    """Anomalies the scheduled job stored, newest first, with the dimension that moved most."""
    from urllib.parse import urlencode

    from inferledger.analytics.anomaly.routes import filter_from_query
    from inferledger.analytics.anomaly.store import incident_rows, recent_anomalies

    query = {k: v for k, v in {"hours": hours, "series": series, "team": team, "model": model, "kind": kind,
                               "min_score": min_score}.items() if v is not None}
    flt = filter_from_query({k: str(v) for k, v in query.items()})
    gap = app.settings.analytics.anomaly.grouping_minutes

    def local(wh):
        rows = recent_anomalies(wh, flt)
        return incident_rows(rows, gap) if incidents else rows

    path = "/admin/anomaly/list?" + urlencode({**query, **({"incidents": "1"} if incidents else {})})
    rows = local_or_admin(app.settings, local, "GET", path)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo(f"no anomalies in the last {hours} h matching the filters")
        return
    from rich.console import Console
    from rich.table import Table

    if incidents:
        table = Table("start (UTC)", "incident", "most unusual series", "kind", "observed", "expected", "score",
                      "moved most", "series that moved")
        for r in rows:
            moved = f"{r['moved_dimension']}={r['moved_value']}" if r["moved_dimension"] else ""
            shown = ", ".join(r["series"][:4]) + (f" +{len(r['series']) - 4}" if len(r["series"]) > 4 else "")
            table.add_row(str(r["start"]), f"{r['incident']} {r['scope']}".strip(), r["top_series"], r["kind"],
                          f"{r['observed']:.4g}", f"{r['expected']:.4g}", f"{r['score']:.2f}", moved, shown)
        Console().print(table)
        return
    table = Table("bucket (UTC)", "series", "kind", "observed", "expected", "score", "moved most")
    for r in rows:
        moved = f"{r['moved_dimension']}={r['moved_value']}" if r["moved_dimension"] else ""
        table.add_row(str(r["bucket_start"]), r["series_key"], r["kind"], f"{r['observed']:.4g}",
                      f"{r['expected']:.4g}", f"{r['score']:.2f}", moved)
    Console().print(table)
