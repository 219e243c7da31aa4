"""`inferledger grafana export DIR` and `inferledger grafana push`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress

from inferledger.cli import AppContext, open_warehouse_for_cli, pass_app


@click.group("grafana")
def command() -> None:
    """Grafana dashboards: export as provisioning files, or push over the HTTP API."""


@command.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--grafana-path", default=None, metavar="PATH",
              help="Where Grafana sees DIR/dashboards (when it runs elsewhere, e.g. in a container).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_app
def export_cmd(app: AppContext, directory: str, grafana_path: str | None, as_json: bool) -> None:
    """Write the dashboards as JSON plus datasource and dashboard-provider YAML into DIRECTORY."""
    from inferledger.dashboards.provisioning import export

    try:
        written = export(directory, app.settings.dashboards.grafana, grafana_path=grafana_path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {directory}: {exc}") from exc
    if as_json:
        click.echo(json.dumps(written, indent=2))
        return
    click.echo(f"{len(written['dashboards'])} dashboards in {written['directory']}/dashboards")
    click.echo(f"datasource:         {written['datasource_file']}")
    click.echo(f"dashboard provider: {written['provider_file']}")
    click.echo(f"Point Grafana's paths.provisioning at {written['directory']}/provisioning "
               "(or copy the two YAML files into its provisioning folders).")


@command.command("push")
@click.option("--url", default=None, help="Grafana base URL (default: dashboards.grafana.url).")
@click.option("--token", default=None, envvar="GRAFANA_TOKEN",
              help="Service-account token (default: dashboards.grafana.token, or $GRAFANA_TOKEN).")
@click.option("--create-datasource/--no-create-datasource", default=None,
              help="Create or update the Prometheus datasource (default: dashboards.grafana.create_datasource).")
@click.option("--message", default="inferledger grafana push", show_default=True,
              help="Version message stored with each dashboard change.")
@click.option("--annotations/--no-annotations", default=True, show_default=True,
              help="Push alert episodes from the warehouse as annotations.")
@click.option("--since-hours", default=24 * 7, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Alert episodes that started within this many hours.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_app
def push_cmd(app: AppContext, url: str | None, token: str | None, create_datasource: bool | None, message: str,
             annotations: bool, since_hours: float, as_json: bool) -> None:
    """Create the folder, optionally the datasource, the dashboards and alert annotations (idempotent)."""
    from inferledger.dashboards.annotations import alert_annotations
    from inferledger.dashboards.push import PushError, push

    cfg = app.settings.dashboards.grafana
    anns = []
    if annotations and Path(app.settings.warehouse.path).exists():
        try:
            wh = open_warehouse_for_cli(app.settings, read_only=True)
        except click.ClickException as exc:
            raise click.ClickException(f"{exc.message} (or push without alert annotations: --no-annotations)") from exc
        try:
            anns = alert_annotations(wh, since_hours=since_hours, public_url=cfg.public_url)
        finally:
            wh.close()
    from inferledger.dashboards.definitions import build_all

    boards = build_all()
    try:
        with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task("pushing to Grafana", total=2 + len(boards) + len(anns))
            result = push(url or cfg.url, token or cfg.token, cfg, dashboards=boards, annotations=anns,
                          create_datasource=create_datasource, message=message,
                          on_step=lambda step: bar.update(task, advance=1, description=step))
    except PushError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"Grafana {result.url}: folder {cfg.folder_uid} {result.folder}"
               + (f", datasource {cfg.datasource_uid} {result.datasource}" if result.datasource else ""))
    for d in result.dashboards:
        click.echo(f"  {d['uid']:<28} {d['status']:<9} version {d.get('version')}")
    a = result.annotations
    click.echo(f"annotations: {a['created']} created, {a['updated']} updated, {a['unchanged']} unchanged")
