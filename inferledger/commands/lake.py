"""`inferledger lake export|status`, and the Dask-engine paths of the reports.

`lake export` seals this node's hours from its warehouse file into the lake (the
service does the same on a schedule, `lake.seal`); `lake status` reads the
manifests every node wrote.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from inferledger.cli import AppContext, open_warehouse_for_cli, pass_app
from inferledger.config import Settings


def _lake_uri(settings: Settings) -> str:
    if not settings.lake.path:
        raise click.UsageError("no lake: pass --lake DIR|URL or set [lake] path")
    return settings.lake.path


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected an ISO date or time (UTC), got {value!r}", param_hint=name) from exc
    return t.replace(tzinfo=None) if t.tzinfo is None else t.astimezone(tz=None).replace(tzinfo=None)


@click.group("lake")
def command() -> None:
    """The Parquet lake many collector nodes seal their facts into."""


@command.command("export")
@click.option("--since", default=None, help="First hour to seal, ISO date/time UTC (default: the first row).")
@click.option("--until", default=None, help="End, exclusive (default: the last completed hour).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_app
def export_cmd(app: AppContext, since: str | None, until: str | None, as_json: bool) -> None:
    """Seal (or re-seal) this node's hours of spans, GPU samples and metric points into the lake."""
    from inferledger.analytics.lake.export import export_range
    from inferledger.analytics.lake.store import open_lake

    start, end = _when(since, "--since"), _when(until, "--until")
    lake = open_lake(_lake_uri(app.settings))
    if not Path(app.settings.warehouse.path).exists():
        raise click.ClickException(f"no warehouse at {app.settings.warehouse.path} (pass --db FILE)")
    wh = open_warehouse_for_cli(app.settings, read_only=True)
    try:
        res = export_range(wh, lake, app.settings.lake.node_id, start, end,
                           delay_seconds=app.settings.lake.seal_delay_seconds)
    finally:
        wh.close()
    out = {"lake": lake.uri, "node": app.settings.lake.node_id, **res.summary()}
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(f"sealed {res.files} hour files ({res.rows:,} rows, {res.bytes:,} bytes) "
                   f"as node {out['node']} into {lake.uri}")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def status_cmd(app: AppContext, as_json: bool) -> None:
    """Which node sealed what: hours, rows and bytes per node and table, from the manifests."""
    from inferledger.analytics.lake.export import lake_status
    from inferledger.analytics.lake.store import open_lake

    status = lake_status(open_lake(_lake_uri(app.settings)))
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"lake {status['lake']}")
    for col in ("node", "table", "tenants", "hours", "rows", "bytes", "first hour", "last hour", "last sealed"):
        t.add_column(col)
    for node in status["nodes"]:
        for name, tb in sorted(node["tables"].items()):
            t.add_row(node["node"], name, str(tb["tenants"]), str(tb["hours"]), f"{tb['rows']:,}", f"{tb['bytes']:,}",
                      tb["first"], tb["last"], node["last_sealed_at"] or "")
    Console().print(t)
    if not status["nodes"]:
        click.echo("no node has sealed anything yet")


def showback_on_dask(settings: Settings, month: str, out: Path) -> dict:
    """`report showback` with `[engine] kind = "dask"`: workers read the lake, the client merges."""
    from inferledger.analytics.cost.reports import showback_summary
    from inferledger.analytics.lake.engine import dask_client
    from inferledger.analytics.lake.showback import showback_dask

    uri = _lake_uri(settings)
    with dask_client(settings.engine.scheduler, settings.engine.workers) as client:
        sb = showback_dask(client, uri, settings.analytics.cost, month, out)
    return showback_summary(sb)


def run_on_dask(settings: Settings, jobs: tuple[str, ...], now: datetime,
                gpu_window: tuple[datetime, datetime] | None = None, create: bool = False) -> dict:
    """Run `jobs` on the Dask engine over the lake, their results written into the --db warehouse."""
    from inferledger.analytics.lake.engine import dask_client
    from inferledger.analytics.lake.writeback import run_jobs

    _lake_uri(settings)
    wh = open_warehouse_for_cli(settings, create=create)
    try:
        with dask_client(settings.engine.scheduler, settings.engine.workers) as client:
            try:
                return run_jobs(client, settings, wh, now, jobs, gpu_window=gpu_window)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
    finally:
        wh.close()


@command.command("analyze")
@click.option("--jobs", default="slo,drift,anomaly", show_default=True,
              help="Comma-separated: slo, drift, anomaly, gpu.")
@click.option("--at", "at", default=None, help="Evaluate as of this ISO time, UTC (default: now).")
@click.option("--since", default=None, help="GPU allocation: first hour (default: 24 h before --at).")
@click.option("--until", default=None, help="GPU allocation: end, exclusive (default: --at).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_app
def analyze_cmd(app: AppContext, jobs: str, at: str | None, since: str | None, until: str | None,
                as_json: bool) -> None:
    """Run SLO burn, drift, anomaly scoring and GPU allocation on Dask over the lake.

    The results go into the --db warehouse (created if missing) exactly as the
    single-node jobs write them, for /metrics, the admin API and alert delivery.
    """
    from datetime import timedelta

    from inferledger.analytics.warehouse import utcnow

    now = _when(at, "--at") or utcnow()
    names = tuple(j.strip() for j in jobs.split(",") if j.strip())
    window = None
    if "gpu" in names:
        window = (_when(since, "--since") or now - timedelta(hours=24), _when(until, "--until") or now)
    if app.settings.engine.kind != "dask":
        raise click.UsageError("lake analyze runs on the Dask engine: pass --engine dask (and --scheduler URL)")
    out = run_on_dask(app.settings, names, now, window, create=True)
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    for name, summary in out.items():
        click.echo(f"{name}: {summary}")
