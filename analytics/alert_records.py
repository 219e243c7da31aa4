"""Alert records: the one shape every job uses to raise or resolve an alert.

SLO burn, budgets, unpriced models, anomalies, drift and ingest health all write
here; the alert pipeline (alerts/) reads `alert_records` and owns lifecycle,
grouping, routing and delivery. A record is an event: `firing` when a condition
starts or is still true, `resolved` when it is over. The fingerprint comes from the
labels only, so the same condition always has the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from inferledger.analytics.warehouse import Warehouse, utcnow

Severity = Literal["page", "ticket", "info"]
Status = Literal["firing", "resolved"]
SOURCES = ("slo", "budget", "unpriced", "anomaly", "drift", "ingest")


def fingerprint(labels: dict[str, str]) -> str:
    """Stable id of a label set (sorted, JSON-encoded, SHA-256, 16 hex chars)."""
    canon = json.dumps({str(k): str(v) for k, v in sorted(labels.items())}, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


@dataclass
class AlertRecord:
    source: str
    alertname: str
    labels: dict[str, str]
    severity: Severity
    status: Status
    summary: str
    starts_at: datetime
    description: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    runbook_url: str = ""
    dashboard_url: str = ""
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.severity not in ("page", "ticket", "info"):
            raise ValueError(f"severity must be page, ticket or info, got {self.severity!r}")
        if self.status not in ("firing", "resolved"):
            raise ValueError(f"status must be firing or resolved, got {self.status!r}")
        # alertname is part of the identity, as in Prometheus.
        self.labels = {"alertname": self.alertname, **{str(k): str(v) for k, v in self.labels.items()}}

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


_ROWS_PER_STATEMENT = 500
_RECORD_COLUMNS = (
    "source", "alertname", "fingerprint", "labels", "severity", "status", "summary", "description",
    "values", "runbook_url", "dashboard_url", "starts_at", "ends_at", "created_at",
)


def write_alert_records(wh: Warehouse, records: list[AlertRecord]) -> int:
    """Append records in a few statements (jobs may raise thousands at once); returns the count."""
    if not records:
        return 0
    now = utcnow()
    rows = [
        (
            r.source, r.alertname, r.fingerprint, json.dumps(r.labels, sort_keys=True), r.severity,
            r.status, r.summary, r.description, json.dumps(r.values, default=str), r.runbook_url,
            r.dashboard_url, r.starts_at, r.ends_at, now,
        )
        for r in records
    ]
    quoted = ", ".join(f'"{c}"' for c in _RECORD_COLUMNS)
    one = "(" + ", ".join("?" for _ in _RECORD_COLUMNS) + ")"
    # Multi-row VALUES: far faster than executemany, and unlike registering an Arrow
    # table it works on a cursor that still holds a half-read result.
    for i in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[i : i + _ROWS_PER_STATEMENT]
        wh.con.execute(
            f"INSERT INTO alert_records ({quoted}) VALUES {', '.join(one for _ in chunk)}",
            [v for row in chunk for v in row],
        )
    return len(records)


def firing_fingerprints(wh: Warehouse, source: str) -> dict[str, dict]:
    """The conditions of `source` whose latest record is `firing` (fingerprint -> labels).

    Jobs use it to write `resolved` exactly once when a condition clears.
    """
    rows = wh.con.execute(
        """
        SELECT fingerprint, labels FROM (
            SELECT fingerprint, labels, status,
                   row_number() OVER (PARTITION BY fingerprint ORDER BY id DESC) AS rn
            FROM alert_records WHERE source = ?
        ) WHERE rn = 1 AND status = 'firing'
        """,
        [source],
    ).fetchall()
    return {fp: json.loads(labels) for fp, labels in rows}


def resolved_records(
    source: str,
    firing: dict[str, dict],
    still_true: Container[str],
    now: datetime,
    *,
    severity: Severity,
    summary: Callable[[dict[str, str]], str],
    values: Callable[[dict[str, str]], dict[str, Any]] | None = None,
) -> list[AlertRecord]:
    """One `resolved` record for each firing condition (see `firing_fingerprints`) no longer true.

    `summary` and `values` get the condition's labels without `alertname`.
    """
    out = []
    for fp, labels in firing.items():
        if fp in still_true:
            continue
        rest = {k: v for k, v in labels.items() if k != "alertname"}
        out.append(AlertRecord(
            source=source, alertname=labels["alertname"], labels=rest, severity=severity, status="resolved",
            summary=summary(rest), starts_at=now, ends_at=now, values=values(rest) if values else {},
        ))
    return out


def recent_alert_records(wh: Warehouse, limit: int = 50, source: str | None = None) -> list[dict]:
    """Newest records first, for `alerts list`, the demo and the admin API."""
    rows = wh.con.execute(
        'SELECT id, source, alertname, fingerprint, labels, severity, status, summary, "values", starts_at, ends_at'
        " FROM alert_records WHERE ? IS NULL OR source = ? ORDER BY id DESC LIMIT ?",
        [source, source, limit],
    ).fetchall()
    keys = ("id", "source", "alertname", "fingerprint", "labels", "severity", "status", "summary", "values", "starts_at", "ends_at")
    out = []
    for row in rows:
        rec = dict(zip(keys, row))
        rec["labels"] = json.loads(rec["labels"])
        rec["values"] = json.loads(rec["values"]) if rec["values"] else {}
        rec["starts_at"] = rec["starts_at"].isoformat()
        rec["ends_at"] = rec["ends_at"].isoformat() if rec["ends_at"] else None
        out.append(rec)
    return out
