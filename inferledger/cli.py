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
from dataclasses import dataclass
from pathlib import Path

import click

import inferledger.commands as commands_pkg
from inferledger.config import ConfigError, Settings, load_settings


@dataclass
class AppContext:
    """What a command gets: the settings, read once, with --db applied."""

    settings: Settings
    json_output: bool = False


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="INFERLEDGER_CONFIG",
              help="TOML configuration file (INFERLEDGER_* environment variables override it).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Warehouse file (default ./inferledger.duckdb).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """Observability and FinOps analytics for AI inference."""
    overrides = {"warehouse.path": db_path} if db_path else {}
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


_discover()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="inferledger")


def open_warehouse_for_cli(settings: Settings, *, read_only: bool = False):
    """Open the warehouse for a CLI command, turning a lock into a clean CLI error."""
    from analytics.warehouse import WarehouseLockedError, open_warehouse

    try:
        return open_warehouse(
            Path(settings.warehouse.path), read_only=read_only, memory_limit=settings.warehouse.memory_limit
        )
    except WarehouseLockedError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
