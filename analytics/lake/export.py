"""Sealing: a node's completed hours of facts, from its warehouse into the lake.

An hour is sealed whole (every row of that tenant-hour the warehouse holds), so a
re-seal after late rows replaces the node's file with a complete one and never
duplicates it. Which hours need sealing comes from a watermark on `ingested_at`
kept in the node's manifest, plus every hour that was still open at the last seal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inferledger.analytics.lake.store import FACTS, Lake, hour_file, read_manifest, write_atomic, write_manifest
from inferledger.analytics.warehouse import Warehouse, utcnow

EPOCH = datetime(1970, 1, 1)


@dataclass
class SealResult:
    files: int = 0
    rows: int = 0
    bytes: int = 0
    hours: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"files": self.files, "rows": self.rows, "bytes": self.bytes}


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def seal_hour(wh: Warehouse, lake: Lake, node: str, table: str, tenant: str, hour: datetime,
              manifest: dict) -> tuple[int, int]:
    """Write one tenant-hour of `table` as this node's file; returns (rows, bytes)."""
    tcol, order = FACTS[table]
    data = wh.con.sql(
        f"SELECT * FROM {table} WHERE tenant = ? AND {tcol} >= ? AND {tcol} < ? ORDER BY {', '.join(order)}",
        params=[tenant, hour, hour + timedelta(hours=1)],
    ).to_arrow_table()
    path = hour_file(lake, table, tenant, hour, node)
    size = write_atomic(lake, path, data)
    manifest["hours"][path[len(lake.root):].lstrip("/")] = {
        "table": table, "tenant": tenant, "hour": hour.isoformat(), "rows": data.num_rows, "bytes": size,
        "sealed_at": utcnow().isoformat(timespec="seconds"),
    }
    return data.num_rows, size


def _hours(wh: Warehouse, table: str, where: str, params: list) -> list[tuple[str, datetime]]:
    tcol = FACTS[table][0]
    return [tuple(r) for r in wh.con.execute(
        f"SELECT DISTINCT tenant, date_trunc('hour', {tcol}) FROM {table} WHERE {where} ORDER BY 2, 1", params
    ).fetchall()]


def _seal(wh: Warehouse, lake: Lake, node: str, manifest: dict, todo: dict[str, list]) -> SealResult:
    res = SealResult()
    for table, hours in todo.items():
        for tenant, hour in hours:
            rows, size = seal_hour(wh, lake, node, table, tenant, hour, manifest)
            res.files += 1
            res.rows += rows
            res.bytes += size
            res.hours.append(f"{table}/{tenant}/{hour:%Y-%m-%dT%H}")
    return res


def seal_completed(wh: Warehouse, lake: Lake, node: str, now: datetime, *, delay_seconds: int = 300,
                   overlap_seconds: int = 120) -> SealResult:
    """The scheduled step: seal every completed hour holding rows this node has not sealed yet."""
    manifest = read_manifest(lake, node)
    cutoff = floor_hour(now - timedelta(seconds=delay_seconds))
    todo = {}
    for table, (tcol, _) in FACTS.items():
        mark = manifest["watermarks"].get(table)
        since = datetime.fromisoformat(mark["ingested"]) - timedelta(seconds=overlap_seconds) if mark else EPOCH
        prev_cutoff = datetime.fromisoformat(mark["cutoff"]) if mark else EPOCH
        new_mark = wh.con.execute(f"SELECT max(ingested_at) FROM {table}").fetchall()[0][0]
        todo[table] = _hours(wh, table, f"{tcol} < ? AND (ingested_at > ? OR {tcol} >= ?)",
                             [cutoff, since, prev_cutoff])
        manifest["watermarks"][table] = {
            "ingested": (new_mark or since).isoformat(), "cutoff": cutoff.isoformat()}
    res = _seal(wh, lake, node, manifest, todo)
    write_manifest(lake, manifest)
    return res


def export_range(wh: Warehouse, lake: Lake, node: str, since: datetime | None, until: datetime | None,
                 now: datetime | None = None, *, delay_seconds: int = 300) -> SealResult:
    """`lake export`: (re-)seal every hour with rows in [since, until); until defaults to the last completed hour."""
    now = now or utcnow()
    end = until or floor_hour(now - timedelta(seconds=delay_seconds))
    manifest = read_manifest(lake, node)
    todo = {table: _hours(wh, table, f"{tcol} >= ? AND {tcol} < ?", [since or EPOCH, end])
            for table, (tcol, _) in FACTS.items()}
    res = _seal(wh, lake, node, manifest, todo)
    write_manifest(lake, manifest)
    return res


def lake_status(lake: Lake) -> dict:
    """What the manifests say: per node and table, hours, rows and bytes sealed, first and last hour."""
    from inferledger.analytics.lake.store import all_manifests

    nodes = []
    for m in all_manifests(lake):
        tables: dict[str, dict] = {}
        for entry in m["hours"].values():
            t = tables.setdefault(entry["table"], {"hours": 0, "rows": 0, "bytes": 0, "first": None, "last": None,
                                                   "tenants": set()})
            t["hours"] += 1
            t["rows"] += entry["rows"]
            t["bytes"] += entry["bytes"]
            t["tenants"].add(entry["tenant"])
            t["first"] = min(filter(None, [t["first"], entry["hour"]]))
            t["last"] = max(filter(None, [t["last"], entry["hour"]]))
        for t in tables.values():
            t["tenants"] = len(t["tenants"])
        last = max((e["sealed_at"] for e in m["hours"].values()), default=None)
        nodes.append({"node": m["node"], "last_sealed_at": last, "tables": tables,
                      "watermarks": m["watermarks"]})
    return {"lake": lake.uri, "nodes": nodes}
