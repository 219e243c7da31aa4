"""`inferledger ingest unmapped`: attribute keys of inference spans no vocabulary maps."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import click
from rich.console import Console
from rich.table import Table

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app


@click.group("ingest")
def command() -> None:
    """Ingest health."""


@command.command("unmapped")
@click.option("--limit", default=20, show_default=True)
@click.option("--tenant", default=None)
@click.option("--scope", default=None, help="Only keys from instrumentation scopes whose name starts with this.")
@click.option("--by-scope", is_flag=True, help="Stored spans per instrumentation scope and vocabulary instead.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def unmapped(app: AppContext, limit: int, tenant: str | None, scope: str | None, by_scope: bool,
             as_json: bool) -> None:
    """Top attribute keys on inference-looking spans that InferLedger could not map, per tenant and
    instrumentation scope (the library that sent them, name and version)."""
    from inferledger.collector.unmapped import spans_by_scope, top_unmapped_keys

    if by_scope:
        query = urlencode({"by": "scope", **({"tenant": tenant} if tenant else {})})
        rows = local_or_admin(app.settings, lambda wh: spans_by_scope(wh.con, tenant), "GET",
                              f"/admin/unmapped?{query}", timeout=30)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        table = Table(title="stored spans per instrumentation scope")
        cols = ("scope", "scope_version", "vocabulary", "spans", "inference", "structure", "duplicates")
        for col in cols:
            table.add_column(col)
        for r in rows:
            table.add_row(*(str(r[c]) for c in cols))
        Console().print(table)
        return

    query = urlencode({"limit": limit, **({"tenant": tenant} if tenant else {}), **({"scope": scope} if scope else {})})
    rows = local_or_admin(app.settings, lambda wh: top_unmapped_keys(wh.con, limit, tenant, scope=scope), "GET",
                          f"/admin/unmapped?{query}", timeout=30)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="unmapped attribute keys on inference-looking spans")
    for col in ("tenant", "scope", "scope version", "key", "spans", "last seen"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["tenant"], r["scope"] or "-", r["scope_version"] or "-", r["key"], str(r["spans"]),
                      r["last_seen"])
    Console().print(table)
