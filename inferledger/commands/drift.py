"""`inferledger drift compare / run / status / report` — a thin shell over analytics/drift/."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import click

from inferledger.app import admin_request
from inferledger.cli import AppContext, open_warehouse_for_cli, pass_app


@click.group("drift")
def command() -> None:
    """Drift: compare two files, run the drift job now, latest results, Evidently's HTML report."""


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        col, sep, val = item.partition("=")
        if not sep or not col or not val:
            raise click.BadParameter(f"expected COLUMN={what.upper()}, got {item!r}", param_hint=f"--{what}")
        out[col] = val
    return out


SPARK = "▁▂▃▄▅▆▇█"


def _spark(values: list[float | None]) -> str:
    """A one-line chart of a column's recent scores (gaps where a run had none)."""
    nums = [v for v in values if v is not None and not math.isnan(v)]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    span = (hi - lo) or 1.0
    return "".join(" " if v is None or math.isnan(v) else SPARK[int((v - lo) / span * (len(SPARK) - 1))]
                   for v in values)


def _score(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.6g}"


def _print_results(rows: list[dict[str, Any]], title: str, segment: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    trend = any("trend" in r for r in rows)
    if segment:
        table.add_column("segment")
    for name in ("column", "method", "score", "threshold", "drifted", "ref rows", "cur rows"):
        table.add_column(name, justify="right" if name in ("score", "threshold", "ref rows", "cur rows") else "left")
    if trend:
        table.add_column("score trend")
    for r in rows:
        drifted = "[bold red]DRIFT[/]" if r["drifted"] else ("[dim]n/a[/]" if r.get("detail") else "no")
        cells = [r["column"], r["method"] or "-", _score(r["score"]), _score(r["threshold"]), drifted,
                 str(r["reference_rows"]), str(r["current_rows"])]
        if trend:
            cells.append(_spark(r.get("trend") or []))
        table.add_row(*([r.get("segment_label", "")] if segment else []), *cells)
    Console().print(table)
    for r in rows:
        if r.get("detail"):
            click.echo(f"  {r['column']}: {r['detail']}")


@command.command("compare")
@click.argument("reference", type=click.Path(dir_okay=False))
@click.argument("current", type=click.Path(dir_okay=False))
@click.option("--columns", help="Comma-separated columns (default: every column both files share).")
@click.option("--categorical", multiple=True, help="Treat COLUMN as categorical (repeatable).")
@click.option("--numeric", multiple=True, help="Treat COLUMN as numeric (repeatable).")
@click.option("--method", "methods", multiple=True,
              help="COLUMN=METHOD: ks, wasserstein, psi, jensenshannon, chisquare or z (repeatable).")
@click.option("--threshold", "thresholds", multiple=True, help="COLUMN=VALUE (repeatable).")
@click.option("--fail-on-drift", is_flag=True, help="Exit with status 1 when any column drifted.")
@click.option("--report", "report", type=click.Path(dir_okay=False),
              help="Also write Evidently's HTML report of the same columns here (on a sample).")
@click.option("--sample", "sample", type=int, default=20_000, show_default=True,
              help="Rows per side for --report.")
@click.option("--json", "as_json", is_flag=True, help="Print [{column, method, score, threshold, drifted}, ...].")
def compare_cmd(reference: str, current: str, columns: str | None, categorical: tuple[str, ...],
                numeric: tuple[str, ...], methods: tuple[str, ...], thresholds: tuple[str, ...],
                fail_on_drift: bool, report: str | None, sample: int, as_json: bool) -> None:
    """Drift of each column between REFERENCE and CURRENT (Parquet or CSV files).

    Test and threshold per column follow Evidently 0.7's DataDriftPreset unless overridden.
    """
    from inferledger.analytics.drift.compare import compare_frames, read_table

    kinds: dict[str, Any] = {c: "categorical" for c in categorical}
    kinds.update({c: "numeric" for c in numeric})
    try:
        thr = {c: float(v) for c, v in _pairs(thresholds, "threshold").items()}
    except ValueError as exc:
        raise click.BadParameter(f"threshold must be a number ({exc})", param_hint="--threshold") from exc
    try:
        ref = read_table(reference)
        cur = read_table(current)
        cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        results = compare_frames(ref, cur, columns=cols, kinds=kinds, methods=_pairs(methods, "method"),
                                 thresholds=thr)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [r.as_dict() for r in results]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_results(rows, f"drift: {current} vs {reference}")
    if report:
        from inferledger.analytics.drift.report import render_report

        try:
            # the same tests as above (Evidently refuses chisquare / z by name on numeric columns)
            same = [r for r in results if r.method and not (r.kind == "numeric" and r.method in ("chisquare", "z"))]
            done = render_report(ref, cur, {r.column: r.kind for r in results}, report, sample_rows=sample,
                                 methods={r.column: r.method for r in same},
                                 thresholds={r.column: r.threshold for r in same})
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"wrote {done.path}", err=as_json)
    if fail_on_drift and any(r["drifted"] for r in rows):
        raise SystemExit(1)


@command.command("run")
@click.option("--at", "at", help="Evaluate as of this naive-UTC ISO time (default: now).")
@click.option("--all", "show_all", is_flag=True, help="Show every column, not only the drifted ones (--json: always all).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def run_cmd(app: AppContext, at: str | None, show_all: bool, as_json: bool) -> None:
    """Run the drift job once now, on the warehouse file."""
    from inferledger.analytics.drift.job import run_drift
    from inferledger.analytics.drift.store import latest_results
    from inferledger.analytics.warehouse import utcnow

    now = _parse_at(at) if at else utcnow()
    if app.settings.engine.kind == "dask":  # over the lake; results into the --db warehouse
        from inferledger.analytics.warehouse import open_warehouse
        from inferledger.commands.lake import run_on_dask

        summary = run_on_dask(app.settings, ("drift",), now).get("drift", {"segments": 0, "drifted": []})
        wh = open_warehouse(app.settings.warehouse.path, read_only=True)
        try:
            rows = latest_results(wh)
        finally:
            wh.close()
        shown = rows if (show_all or as_json) else [r for r in rows if r["drifted"]]
        _emit(shown, as_json, f"drift on Dask at {now:%Y-%m-%d %H:%M} UTC: {summary['segments']} segment(s), "
                              f"{len(summary['drifted'])} drifted column(s)")
        return
    wh = _open_or_none(app)
    if wh is None:  # the service holds the file: run the job there
        if at:
            raise click.ClickException("--at needs the warehouse file, which the running service holds")
        _admin(app, "POST", "/admin/jobs/run?name=drift.detect")
        rows = _admin(app, "GET", "/admin/drift/results?all=1")
        shown = rows if (show_all or as_json) else [r for r in rows if r["drifted"]]
        _emit(shown, as_json, f"drift run by the service: {sum(1 for r in rows if r['drifted'])} drifted column(s)")
        return
    try:
        summary = run_drift(wh, app.settings.analytics.drift, now)
        rows = latest_results(wh) if summary["results"] else []
    finally:
        wh.close()
    shown = rows if (show_all or as_json) else [r for r in rows if r["drifted"]]
    _emit(shown, as_json, f"drift at {now:%Y-%m-%d %H:%M} UTC: {summary['segments']} segment(s), "
                          f"{len(summary['drifted'])} drifted column(s)")


@command.command("status")
@click.option("--all", "show_all", is_flag=True, help="Every column, not only the drifted ones.")
@click.option("--trend", type=int, default=24, show_default=True, help="Runs of score history per column.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def status_cmd(app: AppContext, show_all: bool, trend: int, as_json: bool) -> None:
    """Results of the latest drift run."""
    from inferledger.analytics.drift.store import latest_results

    wh = _open_or_none(app)
    if wh is None:
        rows = _admin(app, "GET", "/admin/drift/results" + ("?all=1" if show_all else ""))
    else:
        try:
            rows = latest_results(wh, drifted_only=not show_all, trend=trend)
        finally:
            wh.close()
    _emit(rows, as_json, "latest drift run" + ("" if show_all else ": drifted columns"))


def _open_or_none(app: AppContext):
    """The warehouse, or None when the running service holds this file (then ask its admin API)."""
    from inferledger.app import require_warehouse, running_service_url

    require_warehouse(app.settings)
    if running_service_url(app.settings) is not None:
        return None
    return open_warehouse_for_cli(app.settings)


def _admin(app: AppContext, method: str, path: str) -> Any:
    from inferledger.app import admin_headers, running_service_url

    url = running_service_url(app.settings)
    if url is None:
        raise click.ClickException("the service holding the warehouse stopped answering")
    return admin_request(url, method, path, timeout=120, headers=admin_headers(app.settings))


def _emit(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    elif rows:
        _print_results(rows, title, segment=True)
    else:
        click.echo(f"{title}: nothing to show")


def _parse_at(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise click.BadParameter(f"expected an ISO 8601 time, got {text!r}", param_hint="--at") from None


@command.command("report")
@click.option("--segment", "segment", multiple=True, required=True,
              help="KEY=VALUE over the configured segment keys, e.g. service_name=chat-api model=gpt-4o.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--out", "out", default="drift-report.html", show_default=True, type=click.Path(dir_okay=False))
@click.option("--sample", "sample", type=int, help="Rows per side (default analytics.drift.report_sample_rows).")
@click.option("--at", "at", help="Windows as of this naive-UTC ISO time (default: now).")
@pass_app
def report_cmd(app: AppContext, segment: tuple[str, ...], tenant: str | None, out: str, sample: int | None,
               at: str | None) -> None:
    """Evidently's own HTML drift report for one segment's reference and current windows."""
    from inferledger.analytics.drift.report import segment_report
    from inferledger.analytics.warehouse import utcnow

    seg = _pairs(segment, "segment")
    now = _parse_at(at) if at else utcnow()
    if sample is not None and sample < 1:
        raise click.BadParameter("must be >= 1", param_hint="--sample")
    wh = open_warehouse_for_cli(app.settings)
    try:
        result = segment_report(wh, app.settings.analytics.drift, now, seg, out, tenant=tenant, sample_rows=sample)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        wh.close()
    click.echo(f"wrote {result.path} ({result.reference_rows} reference / {result.current_rows} current rows, "
               f"{len(result.columns)} columns)")
    for col, why in result.skipped.items():
        click.echo(f"  left out {col}: {why}")
