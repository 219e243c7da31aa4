"""The options every command takes, before or after the subcommand (DESIGN.md: the command line).

`inferledger --db x.duckdb slo status` and `inferledger slo status --db x.duckdb` mean the
same. Each global option is one `GlobalOption` entry in `GLOBAL_OPTIONS`; `install` puts
a copy on the root group and on every group and command below it, and all copies write
into one dict on the root context, which `AppContext` reads when a command first asks
for its settings (so a value given after the subcommand counts as much as one before).
Where a command already has an option of the same name (most have their own `--json`),
that option is kept and merged: given at either place, the command sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

META_KEY = "inferledger.options"
EXPLICIT = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


@dataclass(frozen=True)
class GlobalOption:
    flag: str                     # e.g. "--db"
    key: str                      # key in AppContext.options
    help: str
    setting: str | None = None    # dotted Settings key the value overrides, e.g. "warehouse.path"
    is_flag: bool = False
    metavar: str | None = None
    envvar: str | None = None     # read on the root group only, when the option is given nowhere


GLOBAL_OPTIONS: list[GlobalOption] = [
    GlobalOption("--config", "config", "TOML configuration file (or $INFERLEDGER_CONFIG; INFERLEDGER_*__* "
                 "environment variables override it).", metavar="FILE", envvar="INFERLEDGER_CONFIG"),
    GlobalOption("--db", "db", "Warehouse file (default ./inferledger.duckdb).", setting="warehouse.path",
                 metavar="PATH"),
    GlobalOption("--json", "json", "Machine-readable output, where the command prints results.", is_flag=True),
    GlobalOption("--lake", "lake", "Lake directory or object-store URL (lake.path).", setting="lake.path",
                 metavar="PATH"),
    GlobalOption("--engine", "engine", "Engine of the heavy jobs: duckdb (the warehouse file) or dask (over the "
                 "lake) (engine.kind).", setting="engine.kind", metavar="duckdb|dask"),
    GlobalOption("--scheduler", "scheduler", "Dask scheduler, tcp://HOST:PORT; empty starts a local cluster "
                 "(engine.scheduler).", setting="engine.scheduler", metavar="URL"),
]


def given_options(ctx: click.Context) -> dict[str, Any]:
    """The global options given so far, at any level of the command line."""
    return ctx.find_root().meta.setdefault(META_KEY, {})


def _store(opt: GlobalOption, previous: Callable | None = None) -> Callable:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if previous is not None:
            value = previous(ctx, param, value)
        given = given_options(ctx)
        if ctx.get_parameter_source(param.name) in EXPLICIT:
            given[opt.key] = value
        elif opt.key in given:  # given before the subcommand: the command's own option takes it
            value = given[opt.key]
        return value

    return callback


def _option(opt: GlobalOption, *, root: bool) -> click.Option:
    return click.Option(
        [opt.flag, f"_global_{opt.key}"], is_flag=opt.is_flag, default=None if not opt.is_flag else False,
        metavar=opt.metavar, help=opt.help, envvar=opt.envvar if root else None, expose_value=False,
        callback=_store(opt),
    )


def install(root: click.Group, options: list[GlobalOption] | None = None) -> None:
    """Put every global option on `root` and on each group and command below it."""
    options = GLOBAL_OPTIONS if options is None else options
    for opt in options:
        root.params.append(_option(opt, root=True))
    _install_below(root, options)


def _install_below(group: click.Group, options: list[GlobalOption]) -> None:
    for command in group.commands.values():
        for opt in options:
            own = next((p for p in command.params if isinstance(p, click.Option) and opt.flag in p.opts), None)
            if own is None:
                command.params.append(_option(opt, root=False))
            elif not getattr(own, "_inferledger_merged", False):
                own.callback = _store(opt, own.callback)
                own._inferledger_merged = True
        if isinstance(command, click.Group):
            _install_below(command, options)
