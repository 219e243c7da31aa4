"""What every command shares: the settings, the warehouse, and finding a running service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    from inferledger.analytics.warehouse import WarehouseLockedError, open_warehouse

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


def admin_headers(settings: Settings) -> dict[str, str]:
    """What every admin API call sends: the admin token (INFERLEDGER_ADMIN_TOKEN, else the first configured)."""
    import os

    token = os.environ.get("INFERLEDGER_ADMIN_TOKEN") or next(iter(settings.auth.admin_tokens), None)
    return {"Authorization": f"Bearer {token}"} if token else {}


def admin_request(settings: Settings, method: str, path: str, body: Any = None, **kw: Any):
    """One admin API call with the token and, for state changes, a JSON body (the API refuses others)."""
    import httpx

    if body is None and method.upper() not in ("GET", "HEAD"):
        body = {}
    url = f"http://{local_address(settings.server.admin)}{path}"
    return httpx.request(method, url, json=body, headers=admin_headers(settings), **kw)


def running_service_url(settings: Settings) -> str | None:
    """The admin URL of a service that is up (and so holds the warehouse), else None."""
    import httpx

    url = f"http://{local_address(settings.server.admin)}"
    try:
        return url if httpx.get(f"{url}/readyz", timeout=1).status_code == 200 else None
    except httpx.HTTPError:
        return None


def local_or_admin(
    settings: Settings, local: Callable, method: str, path: str, body: Any = None, *, timeout: float = 10.0
) -> Any:
    """Run `local(wh)` on the warehouse file, or the same call on the admin API of the service holding it.

    DuckDB lets one process open the file: when a service is up (or the file turns out
    to be locked), the command asks the service (`method path` with JSON `body`) instead,
    and gets the same answer.
    """
    import httpx

    from inferledger.analytics.warehouse import WarehouseLockedError, open_warehouse

    admin = local_address(settings.server.admin)
    if running_service_url(settings) is None:
        try:
            wh = open_warehouse(settings.warehouse.path, memory_limit=settings.warehouse.memory_limit)
        except WarehouseLockedError as locked:
            unreachable = f"{locked} (and the admin API at {admin} did not answer)"
        else:
            try:
                return local(wh)
            finally:
                wh.close()
    else:
        unreachable = f"the admin API at {admin} did not answer"
    try:
        resp = admin_request(settings, method, path, body, timeout=timeout)
    except httpx.HTTPError:
        raise click.ClickException(unreachable) from None
    if resp.status_code >= 400:
        try:
            message = resp.json().get("error") or resp.text
        except ValueError:
            message = resp.text
        raise click.ClickException(f"{path}: {resp.status_code} {message[:500]}")
    return resp.json()
