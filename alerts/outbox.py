"""The durable outbox: notifications wait here until their receiver has them.

Enqueueing happens in the same transaction as the alert state that caused it, so
a crash either keeps both or neither. A row leaves `pending` only when a receiver
acknowledged it (2xx) — `delivered` — or refused it for good (a 4xx other than
408/429, or `max_attempts` reached) — `failed`, kept and shown, never silently
dropped. The idempotency key is unique: enqueueing the same notification twice
stores it once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inferledger.alerts.model import Notification
from inferledger.analytics.warehouse import Warehouse, utcnow


@dataclass(frozen=True)
class OutboxRow:
    id: int
    idempotency_key: str
    receiver: str
    group_key: str
    status: str
    notification: Notification
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime


def enqueue(wh: Warehouse, notes: list[Notification], now: datetime) -> int:
    """Store notifications (duplicates by idempotency key are ignored); returns rows new."""
    if not notes:
        return 0
    before = wh.con.execute("SELECT count(*) FROM alert_outbox").fetchone()[0]
    wh.con.executemany(
        "INSERT INTO alert_outbox (idempotency_key, receiver, group_key, status, payload, state, attempts,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
        " ON CONFLICT (idempotency_key) DO NOTHING",
        [[n.idempotency_key, n.receiver, n.group_key, n.status, json.dumps(n.to_json()), now, now] for n in notes],
    )
    return wh.con.execute("SELECT count(*) FROM alert_outbox").fetchone()[0] - before


def due(wh: Warehouse, now: datetime, limit: int) -> list[OutboxRow]:
    rows = wh.con.execute(
        "SELECT id, idempotency_key, receiver, group_key, status, payload, state, attempts, next_attempt_at,"
        " last_error, created_at FROM alert_outbox WHERE state = 'pending' AND next_attempt_at <= ?"
        " ORDER BY id LIMIT ?",
        [now, limit],
    ).fetchall()
    return [_row(r) for r in rows]


def _row(r: tuple) -> OutboxRow:
    return OutboxRow(r[0], r[1], r[2], r[3], r[4], Notification.from_json(json.loads(r[5])), r[6], r[7], r[8],
                     r[9], r[10])


def mark_delivered(wh: Warehouse, row_id: int, status_code: int | None, now: datetime) -> None:
    wh.con.execute(
        "UPDATE alert_outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?,"
        " last_status_code = ?, last_error = NULL WHERE id = ? AND state = 'pending'",
        [now, status_code, row_id],
    )


def mark_retry(wh: Warehouse, row_id: int, error: str, status_code: int | None, next_at: datetime) -> None:
    wh.con.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,"
        " last_status_code = ? WHERE id = ? AND state = 'pending'",
        [next_at, error[:1000], status_code, row_id],
    )


def mark_failed(wh: Warehouse, row_id: int, error: str, status_code: int | None) -> None:
    wh.con.execute(
        "UPDATE alert_outbox SET state = 'failed', attempts = attempts + 1, last_error = ?,"
        " last_status_code = ? WHERE id = ? AND state = 'pending'",
        [error[:1000], status_code, row_id],
    )


def list_outbox(wh: Warehouse, *, limit: int = 50, state: str | None = None) -> list[dict[str, Any]]:
    sql = ("SELECT id, receiver, status, state, attempts, next_attempt_at, last_status_code, last_error,"
           " created_at, delivered_at, group_key, idempotency_key FROM alert_outbox")
    params: list[Any] = []
    if state:
        sql += " WHERE state = ?"
        params.append(state)
    rows = wh.con.execute(sql + " ORDER BY id DESC LIMIT ?", params + [limit]).fetchall()
    keys = ("id", "receiver", "status", "state", "attempts", "next_attempt_at", "last_status_code", "last_error",
            "created_at", "delivered_at", "group_key", "idempotency_key")
    return [dict(zip(keys, r)) for r in rows]


def outbox_depth(wh: Warehouse, now: datetime | None = None) -> dict[str, dict[str, float]]:
    """Per receiver: rows by state and the age of the oldest pending one — for /metrics.

    `{"oncall": {"pending": 2, "delivered": 40, "failed": 0, "oldest_pending_seconds": 12.5}}`.
    Suggested metric names: `inferledger_alert_notifications{receiver,state}` (gauge) and
    `inferledger_alert_outbox_oldest_pending_seconds{receiver}`.
    """
    now = now or utcnow()
    rows = wh.con.execute(
        "SELECT receiver, state, count(*), min(created_at) FROM alert_outbox GROUP BY receiver, state"
    ).fetchall()
    out: dict[str, dict[str, float]] = {}
    for receiver, state, n, oldest in rows:
        d = out.setdefault(receiver, {"pending": 0, "delivered": 0, "failed": 0, "oldest_pending_seconds": 0.0})
        d[state] = n
        if state == "pending" and oldest is not None:
            d["oldest_pending_seconds"] = max(0.0, (now - oldest).total_seconds())
    return out


def prune_delivered(wh: Warehouse, before: datetime) -> int:
    # DuckDB's DELETE answers with the number of rows it deleted.
    return wh.con.execute("DELETE FROM alert_outbox WHERE state = 'delivered' AND delivered_at < ?",
                          [before]).fetchone()[0]
