"""What every command shares: the settings, the warehouse, and the service that holds it.

A command answers from the warehouse file named by `--db`, never from another one:
it asks the running service's admin API only when that service says (`GET
/admin/warehouse`) that it holds this very file; otherwise it opens the file itself,
and when another process holds it, says which process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from inferledger.config import ConfigError, Settings, load_settings
from inferledger.options import GLOBAL_OPTIONS


@dataclass
class AppContext:
    """What a command gets: the global options given anywhere on the line, and the settings they select.

    Settings are read on first use, after the whole command line was parsed, so
    `--config`, `--db` given after the subcommand count as well as before it.
    """

    options: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = {o.setting: self.options[o.key] for o in GLOBAL_OPTIONS
                         if o.setting and self.options.get(o.key) is not None}
            try:
                self._settings = load_settings(self.options.get("config"), overrides=overrides)
            except ConfigError as exc:
                raise click.ClickException(f"configuration: {exc}") from exc
        return self._settings

    @property
    def json_output(self) -> bool:
        return bool(self.options.get("json"))


pass_app = click.make_pass_decorator(AppContext)


def local_address(address: str) -> str:
    """A listen address as a client dials it (0.0.0.0 -> 127.0.0.1)."""
    host, _, port = address.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "", "::", "[::]") else address


def admin_headers(settings: Settings) -> dict[str, str]:
    """What every admin API call sends: the admin token (INFERLEDGER_ADMIN_TOKEN, else the first configured)."""
    import os

    token = os.environ.get("INFERLEDGER_ADMIN_TOKEN") or next(iter(settings.auth.admin_tokens), None)
    return {"Authorization": f"Bearer {token}"} if token else {}


def warehouse_path(settings: Settings) -> str:
    """The warehouse file as an absolute path (':memory:' stays itself)."""
    path = settings.warehouse.path
    return path if path == ":memory:" else str(Path(path).expanduser().absolute())


def require_warehouse(settings: Settings) -> None:
    """Fail with "no warehouse at PATH" (creating nothing) when the file does not exist."""
    path = warehouse_path(settings)
    if path != ":memory:" and not Path(path).is_file():
        raise click.ClickException(f"no warehouse at {path} (check --db; `inferledger serve` or "
                                   "`inferledger demo` creates one)")


@dataclass(frozen=True)
class ServiceInfo:
    """A service answering on the admin address, and the warehouse it says it holds."""

    url: str
    path: str | None            # None: it did not say (not an InferLedger admin API, or an old one)
    warehouse_id: str | None = None
    pid: int | None = None
    ready: bool = False

    def holds(self, path: str) -> bool:
        return self.path is not None and same_file(self.path, path)

    def describe(self) -> str:
        if self.path is None:
            return f"the service at {self.url} does not say which warehouse it holds"
        return f"the service at {self.url} (process {self.pid}) holds {self.path} (warehouse id {self.warehouse_id})"


def same_file(a: str, b: str) -> bool:
    try:
        return Path(a).samefile(b)
    except OSError:
        return False


def probe_service(settings: Settings) -> ServiceInfo | None:
    """The service on the configured admin address, or None when nothing answers there."""
    import httpx

    url = f"http://{local_address(settings.server.admin)}"
    try:
        resp = httpx.get(f"{url}/admin/warehouse", headers=admin_headers(settings), timeout=2)
    except httpx.HTTPError:
        return None
    try:
        data = resp.json() if resp.status_code == 200 else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("path"), str):
        return ServiceInfo(url, None)
    return ServiceInfo(url, data["path"], data.get("warehouse_id"), data.get("pid"), bool(data.get("ready")))


def running_service_url(settings: Settings) -> str | None:
    """The admin URL of a ready service that holds the warehouse file named by --db, else None."""
    info = probe_service(settings)
    if info is not None and info.ready and info.holds(warehouse_path(settings)):
        return info.url
    return None


def open_warehouse_for_cli(settings: Settings, *, read_only: bool = False, create: bool = False):
    """Open the warehouse for a CLI command: missing or locked files become clean CLI errors.

    Only `serve` and `demo` create a warehouse (`create=True`); every other command
    fails on a path that does not exist, so a typo in --db creates nothing.
    """
    from inferledger.analytics.warehouse import WarehouseLockedError, open_warehouse

    if not create:
        require_warehouse(settings)
    try:
        return open_warehouse(
            Path(settings.warehouse.path), read_only=read_only, memory_limit=settings.warehouse.memory_limit
        )
    except WarehouseLockedError as exc:
        raise click.ClickException(locked_message(settings, exc)) from exc


def locked_message(settings: Settings, exc: Exception) -> str:
    """Which process holds the file, and what the service on the admin address holds."""
    pid = getattr(exc, "pid", None)
    holder = f"process {pid}" if pid else "another process"
    if pid:
        try:
            import psutil

            holder += f" ({' '.join(psutil.Process(pid).cmdline())[:200]})"
        except Exception:  # the process is gone, or not ours to inspect: the pid is still the answer
            pass
    msg = f"warehouse {warehouse_path(settings)} is locked by {holder}"
    info = probe_service(settings)
    if info is not None and not info.holds(warehouse_path(settings)):
        msg += f"; {info.describe()}, not this file"
    elif info is not None and not info.ready:
        msg += f"; the service at {info.url} holds it but is not ready yet"
    return msg + ". DuckDB allows one process per file: stop that process, or point --config / " \
                 "INFERLEDGER_SERVER__ADMIN at the admin address of the service holding it."


def admin_request(url: str, method: str, path: str, body: Any = None, *, timeout: float = 10.0,
                  headers: dict[str, str] | None = None) -> Any:
    """One admin API call; an HTTP error becomes a CLI error naming the path.

    State changes always carry a JSON body (the admin API refuses any other content type).
    """
    import httpx

    if body is None and method.upper() not in ("GET", "HEAD"):
        body = {}
    try:
        resp = httpx.request(method, f"{url}{path}", json=body, headers=headers or {}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the admin API at {url} did not answer {method} {path}: {exc}") from None
    if resp.status_code >= 400:
        try:
            message = resp.json().get("error") or resp.text
        except (ValueError, AttributeError):
            message = resp.text
        raise click.ClickException(f"{path}: {resp.status_code} {message[:500]}")
    return resp.json()


def local_or_admin(
    settings: Settings, local: Callable, method: str, path: str, body: Any = None, *, timeout: float = 10.0
) -> Any:
    """Run `local(wh)` on the warehouse file, or the same call on the admin API of the service holding it.

    DuckDB lets one process open the file: when the service on the admin address
    holds this file, the command asks it (`method path` with JSON `body`) and gets the
    same answer; a service holding another file is never asked.
    """
    require_warehouse(settings)
    url = running_service_url(settings)
    if url is not None:
        return admin_request(url, method, path, body, timeout=timeout, headers=admin_headers(settings))
    wh = open_warehouse_for_cli(settings)
    try:
        return local(wh)
    finally:
        wh.close()
