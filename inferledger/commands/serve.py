"""`inferledger serve`: receivers, scheduler and admin API until SIGTERM."""

from __future__ import annotations

import logging

import click

from inferledger.cli import AppContext, pass_app


@click.command("serve")
@click.option("--otlp-grpc", metavar="HOST:PORT", help="OTLP/gRPC address (default 0.0.0.0:4317).")
@click.option("--otlp-http", metavar="HOST:PORT", help="OTLP/HTTP address (default 0.0.0.0:4318).")
@click.option("--admin", metavar="HOST:PORT", help="/metrics, health and admin API (default 127.0.0.1:9464).")
@click.option("--no-jobs", is_flag=True, help="Do not run the scheduled analytics jobs.")
@pass_app
def command(app: AppContext, otlp_grpc: str | None, otlp_http: str | None, admin: str | None, no_jobs: bool) -> None:
    """Run the OTLP receivers, the scheduler and the admin API until SIGTERM."""
    from inferledger.analytics.warehouse import WarehouseLockedError
    from inferledger.app import locked_message
    from inferledger.config import ConfigError
    from inferledger.service import serve_forever

    s = app.settings
    s.server.otlp_grpc = otlp_grpc or s.server.otlp_grpc
    s.server.otlp_http = otlp_http or s.server.otlp_http
    s.server.admin = admin or s.server.admin
    if no_jobs:
        s.analytics.jobs_enabled = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(
        f"inferledger serving: OTLP/gRPC {s.server.otlp_grpc}  OTLP/HTTP {s.server.otlp_http}  "
        f"admin http://{s.server.admin}  warehouse {s.warehouse.path}",
        err=True,
    )
    try:
        serve_forever(s)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    except WarehouseLockedError as exc:
        raise click.ClickException(locked_message(s, exc)) from exc
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
