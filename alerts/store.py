"""SQL for the pipeline's own tables (alert_cursor, alert_state, alert_groups).

One place per table; bulk writes go through Arrow (INSERT OR REPLACE ... SELECT)
because row-by-row executemany is slow in DuckDB and a tick may touch 10,000 alerts.
"""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa

from inferledger.alerts.grouping import GroupState
from inferledger.alerts.lifecycle import AlertState, Record
from inferledger.analytics.warehouse import Warehouse

CURSOR = "pipeline"


def read_cursor(wh: Warehouse) -> int:
    row = wh.con.execute("SELECT last_record_id FROM alert_cursor WHERE name = ?", [CURSOR]).fetchone()
    return row[0] if row else 0


def write_cursor(wh: Warehouse, last_id: int) -> None:
    wh.con.execute("INSERT OR REPLACE INTO alert_cursor VALUES (?, ?)", [CURSOR, last_id])


def read_seen(wh: Warehouse) -> dict[int, datetime]:
    return dict(wh.con.execute("SELECT id, created_at FROM alert_seen_records").fetchall())


def write_seen(wh: Warehouse, watermark: int, seen: dict[int, datetime]) -> None:
    """Keep only the processed ids above the watermark."""
    wh.con.execute("DELETE FROM alert_seen_records WHERE id <= ?", [watermark])
    above = {i: t for i, t in seen.items() if i > watermark}
    if above:
        table = pa.table({"id": pa.array(list(above), pa.int64()),
                          "created_at": pa.array(list(above.values()), pa.timestamp("us"))})
        _upsert(wh, "alert_seen_records", table)


def advance_watermark(watermark: int, seen: dict[int, datetime], gap_closed_before: datetime) -> int:
    """Highest id up to which every record is processed; a gap counts as closed (a rolled-back
    or abandoned id) once the record after it is older than `gap_closed_before`."""
    for rid in sorted(i for i in seen if i > watermark):
        if rid != watermark + 1 and seen[rid] >= gap_closed_before:
            break
        watermark = rid
    return watermark


def read_records(wh: Warehouse, after_id: int, limit: int) -> list[Record]:
    rows = wh.con.execute(
        "SELECT id, fingerprint, alertname, source, labels, severity, status, summary, starts_at, created_at,"
        ' ends_at, description, "values", runbook_url, dashboard_url'
        " FROM alert_records WHERE id > ? ORDER BY id LIMIT ?",
        [after_id, limit],
    ).fetchall()
    return [
        Record(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8], r[9], r[10], r[11] or "",
               json.loads(r[12]) if r[12] else {}, r[13] or "", r[14] or "")
        for r in rows
    ]


_STATE_COLS = ("fingerprint, alertname, source, labels, severity, summary, description, \"values\", runbook_url,"
               " dashboard_url, state, fired, starts_at, ends_at, pending_since, transitions, flapping, held_state,"
               " last_record_id, updated_at")


def read_states(wh: Warehouse, also: list[str]) -> dict[str, AlertState]:
    """Every alert not at rest (pending, firing, flapping) plus the fingerprints in `also`."""
    rows = wh.con.execute(
        f"SELECT {_STATE_COLS} FROM alert_state"
        " WHERE state <> 'resolved' OR flapping OR list_contains(?::VARCHAR[], fingerprint)",
        [also],
    ).fetchall()
    out = {}
    for r in rows:
        out[r[0]] = AlertState(
            fingerprint=r[0], alertname=r[1], source=r[2], labels=json.loads(r[3]), severity=r[4], summary=r[5],
            description=r[6] or "", values=json.loads(r[7]) if r[7] else {}, runbook_url=r[8] or "",
            dashboard_url=r[9] or "", state=r[10], fired=r[11], starts_at=r[12], ends_at=r[13],
            pending_since=r[14], transitions=json.loads(r[15]), flapping=r[16], held_state=r[17],
            last_record_id=r[18], updated_at=r[19],
        )
    return out


def read_all_states(wh: Warehouse) -> list[tuple]:
    return wh.con.execute(
        "SELECT fingerprint, alertname, source, severity, state, flapping, starts_at, ends_at, summary, labels"
        " FROM alert_state ORDER BY state <> 'firing', starts_at DESC"
    ).fetchall()


def write_states(wh: Warehouse, states: list[AlertState]) -> None:
    if not states:
        return
    ts = pa.timestamp("us")
    table = pa.table({
        "fingerprint": [s.fingerprint for s in states],
        "alertname": [s.alertname for s in states],
        "source": [s.source for s in states],
        "labels": [json.dumps(s.labels, sort_keys=True) for s in states],
        "severity": [s.severity for s in states],
        "summary": [s.summary for s in states],
        "description": [s.description for s in states],
        "values": [json.dumps(s.values, default=str) for s in states],
        "runbook_url": [s.runbook_url for s in states],
        "dashboard_url": [s.dashboard_url for s in states],
        "state": [s.state for s in states],
        "fired": [s.fired for s in states],
        "starts_at": pa.array([s.starts_at for s in states], ts),
        "ends_at": pa.array([s.ends_at for s in states], ts),
        "pending_since": pa.array([s.pending_since for s in states], ts),
        "transitions": [json.dumps(s.transitions) for s in states],
        "flapping": [s.flapping for s in states],
        "held_state": pa.array([s.held_state for s in states], pa.string()),
        "last_record_id": pa.array([s.last_record_id for s in states], pa.int64()),
        "updated_at": pa.array([s.updated_at for s in states], ts),
    })
    _upsert(wh, "alert_state", table)


def read_groups(wh: Warehouse) -> dict[str, GroupState]:
    rows = wh.con.execute(
        "SELECT group_key, receiver, route_path, group_labels, created_at, next_flush_at, last_sent_at,"
        " notified, seq FROM alert_groups"
    ).fetchall()
    return {
        r[0]: GroupState(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], frozenset(json.loads(r[7])), r[8])
        for r in rows
    }


def write_groups(wh: Warehouse, groups: list[GroupState], deleted: list[str]) -> None:
    if deleted:
        wh.con.execute("DELETE FROM alert_groups WHERE list_contains(?::VARCHAR[], group_key)", [deleted])
    if not groups:
        return
    ts = pa.timestamp("us")
    table = pa.table({
        "group_key": [g.group_key for g in groups],
        "receiver": [g.receiver for g in groups],
        "route_path": [g.route_path for g in groups],
        "group_labels": [json.dumps(g.group_labels, sort_keys=True) for g in groups],
        "created_at": pa.array([g.created_at for g in groups], ts),
        "next_flush_at": pa.array([g.next_flush_at for g in groups], ts),
        "last_sent_at": pa.array([g.last_sent_at for g in groups], ts),
        "notified": [json.dumps(sorted(g.notified)) for g in groups],
        "seq": pa.array([g.seq for g in groups], pa.int64()),
    })
    _upsert(wh, "alert_groups", table)


def _upsert(wh: Warehouse, table_name: str, table: pa.Table) -> None:
    view = f"_upsert_{table_name}"
    wh.con.register(view, table)
    try:
        wh.con.execute(f"INSERT OR REPLACE INTO {table_name} SELECT * FROM {view}")
    finally:
        wh.con.unregister(view)


def prune_resolved(wh: Warehouse, before: datetime) -> None:
    """Forget alerts resolved before `before` that no group still tracks."""
    wh.con.execute(
        "DELETE FROM alert_state WHERE state = 'resolved' AND NOT flapping AND updated_at < ?"
        " AND fingerprint NOT IN (SELECT unnest(CAST(notified AS VARCHAR[])) FROM alert_groups)",
        [before],
    )
