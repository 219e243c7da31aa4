"""The `inferledger` command line.

Every command takes `--config FILE`, `--db PATH` and `--json`, before or after the
subcommand (DESIGN.md; the list is `inferledger.options.GLOBAL_OPTIONS`). Sub-commands
live one module each in `inferledger/commands/`; each module exposes `command` (a click
command or group) and is discovered here, so areas never edit the same file to add one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

import inferledger.commands as commands_pkg
from inferledger import __version__
from inferledger.app import AppContext, local_address, open_warehouse_for_cli, pass_app, running_service_url
from inferledger.options import given_options, install

__all__ = ["AppContext", "cli", "local_address", "main", "open_warehouse_for_cli", "pass_app", "running_service_url"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="inferledger", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Observability and FinOps analytics for AI inference."""
    ctx.obj = AppContext(options=given_options(ctx))


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"inferledger.commands.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            cli.add_command(command)
    install(cli)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="inferledger")


_discover()

if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
