"""The DuckDB warehouse: opening the file, migrations, and the clear error when it is locked.

DuckDB lets one process write a file. The service holds it; a second process gets
`WarehouseLockedError` at once (DuckDB fails fast on the file lock, it never waits),
with a message saying what to do instead.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse file; `pid` is that process where DuckDB says."""

    def __init__(self, message: str, path: str = "", pid: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def utcnow() -> datetime:
    """Naive UTC now: every TIMESTAMP column of the warehouse is UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def bundled_migrations() -> list[Migration]:
    """Migrations shipped in `analytics/migrations`, ordered by number.

    Numbers are sparse by design: each area owns a range (0001-0099 core, 0100 cost,
    0200 SLO, 0300 drift, 0400 anomaly, 0500 alerts, 0600 dashboards), and every
    migration not yet applied is applied, so areas never fight over the next number.
    """
    found = []
    for entry in resources.files("inferledger.analytics.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration numbers in analytics/migrations: {sorted(versions)}")
    return sorted(found, key=lambda m: m.version)


class Warehouse:
    """One open DuckDB database. Threads take their own `cursor()`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self._con = con
        self.path = path
        self._local = threading.local()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection of the calling thread (DuckDB connections are not thread-safe)."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def schema_versions(self) -> list[int]:
        return [r[0] for r in self.con.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]

    def table_exists(self, name: str) -> bool:
        """Whether a table exists: jobs read each other's tables and must tolerate one not there yet."""
        rows = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
        return bool(rows[0][0])

    @property
    def warehouse_id(self) -> str | None:
        """The random id stored in the file at creation (None before migration 0002 ran)."""
        if not self.table_exists("warehouse_meta"):
            return None
        row = self.con.execute("SELECT warehouse_id FROM warehouse_meta LIMIT 1").fetchone()
        return row[0] if row else None

    def checkpoint(self) -> None:
        self.con.execute("CHECKPOINT")

    def close(self) -> None:
        self._con.close()


def open_warehouse(
    path: str | Path,
    *,
    read_only: bool = False,
    memory_limit: str = "",
    threads: int = 0,
    checkpoint_threshold: str = "",
    migrate: bool = True,
) -> Warehouse:
    """Open (creating if needed) and migrate the warehouse file; ':memory:' works for tests."""
    path = str(path)
    config: dict[str, str] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = str(threads)
    if checkpoint_threshold:
        config["checkpoint_threshold"] = checkpoint_threshold
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            pid = re.search(r"PID (\d+)", str(exc))
            raise WarehouseLockedError(
                _locked_message(path, str(exc)), path, int(pid.group(1)) if pid else None
            ) from exc
        raise
    wh = Warehouse(con, path)
    if migrate and not read_only:
        apply_migrations(wh)
    return wh


def _locked_message(path: str, detail: str) -> str:
    pid = re.search(r"PID (\d+)", detail)
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (
        f"warehouse {path} is locked by {holder} (probably `inferledger serve`). "
        "DuckDB allows one process per file: stop that process, point --db at another file, "
        "or use the running service's admin API (default http://127.0.0.1:9464/admin/...)."
    )


def apply_migrations(wh: Warehouse, migrations: list[Migration] | None = None) -> list[int]:
    """Apply every bundled migration not yet recorded; returns the versions applied now."""
    con = wh.con
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = set(wh.schema_versions())
    applied = []
    for mig in migrations if migrations is not None else bundled_migrations():
        if mig.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(mig.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)", [mig.version, mig.name, utcnow()]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(mig.version)
    return applied
