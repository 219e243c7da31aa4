"""What every command shares: the settings, the warehouse, and finding a running service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from inferledger.config import Settings


@dataclass
class AppContext:
    """What a command gets: the settings, read once, with --db applied."""

    settings: Settings
    json_output: bool = False


pass_app = click.make_pass_decorator(AppContext)


def open_warehouse_for_cli(settings: Settings, *, read_only: bool = False):
    """Open the warehouse for a CLI command, turning a lock into a clean CLI error."""
    from analytics.warehouse import WarehouseLockedError, open_warehouse

    try:
        return open_warehouse(
            Path(settings.warehouse.path), read_only=read_only, memory_limit=settings.warehouse.memory_limit
        )
    except WarehouseLockedError as exc:
        raise click.ClickException(str(exc)) from exc


def local_address(address: str) -> str:
    """A listen address as a client dials it (0.0.0.0 -> 127.0.0.1)."""
    host, _, port = address.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "", "::", "[::]") else address


def running_service_url(settings: Settings) -> str | None:
    """The admin URL of a service that is up (and so holds the warehouse), else None."""
    import httpx

    url = f"http://{local_address(settings.server.admin)}"
    try:
        return url if httpx.get(f"{url}/readyz", timeout=1).status_code == 200 else None
    except httpx.HTTPError:
        return None
