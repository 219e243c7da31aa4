"""The `inferledger` command line.

Every command takes `--config FILE` and `--db PATH` (DESIGN.md). Sub-commands live
one module each in `inferledger/commands/`; each module exposes `command` (a click
command or group) and is discovered here, so areas never edit the same file to add
one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

import inferledger.commands as commands_pkg
from inferledger.app import AppContext, local_address, open_warehouse_for_cli, pass_app, running_service_url
from inferledger.config import ConfigError, load_settings

__all__ = ["AppContext", "cli", "local_address", "main", "open_warehouse_for_cli", "pass_app", "running_service_url"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="INFERLEDGER_CONFIG",
              help="TOML configuration file (INFERLEDGER_* environment variables override it).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Warehouse file (default ./inferledger.duckdb).")
@click.option("--engine", "engine_kind", type=click.Choice(["duckdb", "dask"]), default=None,
              help="Engine of the heavy jobs (engine.kind): the warehouse file, or Dask over the lake.")
@click.option("--scheduler", default=None, help="Dask scheduler, tcp://HOST:PORT (engine.scheduler).")
@click.option("--lake", "lake_path", default=None, help="Lake directory or object-store URL (lake.path).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None, engine_kind: str | None,
        scheduler: str | None, lake_path: str | None) -> None:
    """Observability and FinOps analytics for AI inference."""
    given = {"warehouse.path": db_path, "engine.kind": engine_kind, "engine.scheduler": scheduler,
             "lake.path": lake_path}
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        settings = load_settings(config_path, overrides=overrides)
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from exc
    ctx.obj = AppContext(settings=settings)


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"inferledger.commands.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            cli.add_command(command)



def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="inferledger")


_discover()

if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
