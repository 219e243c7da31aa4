"""Unpriced usage: spans the catalog could not price, counted, listed and alerted on.

A missing price must never read as $0. Every (provider, model) with unpriced spans
gets a firing alert record (source "unpriced") and is listed by `prices check`; once
a price covers it (a catalog update or an override, then a re-price) the record is
resolved, exactly once.
"""

from __future__ import annotations

from datetime import datetime

from inferledger.analytics.alert_records import AlertRecord, firing_fingerprints, resolved_records, write_alert_records
from inferledger.analytics.warehouse import Warehouse

SOURCE = "unpriced"


def unpriced_usage(wh: Warehouse, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """(provider, model, status, spans, tokens, first/last seen) of cost lines without a price."""
    rows = wh.con.execute(
        """
        SELECT coalesce(provider, '') AS provider, coalesce(model, '') AS model, status, count(*) AS spans,
               sum(total_tokens) AS tokens, min(start_time) AS first_seen, max(start_time) AS last_seen
        FROM cost_lines
        WHERE status IN ('unpriced', 'split_unknown')
          AND start_time >= coalesce(?, TIMESTAMP '1970-01-01') AND start_time < coalesce(?, TIMESTAMP '9999-12-31')
        GROUP BY ALL ORDER BY spans DESC, provider, model
        """,
        [start, end],
    ).fetchall()
    keys = ("provider", "model", "status", "spans", "tokens", "first_seen", "last_seen")
    return [dict(zip(keys, r)) for r in rows]


def unpriced_alerts(usage: list[dict], firing: dict[str, dict], now: datetime) -> list[AlertRecord]:
    wanted = {}
    for u in usage:
        reason = "no price in the catalog or overrides" if u["status"] == "unpriced" else (
            "only a total token count was reported, so input and output cannot be priced"
        )
        r = AlertRecord(
            SOURCE, "InferenceUsageUnpriced", {"provider": u["provider"], "model": u["model"], "reason": u["status"]},
            "ticket", "firing",
            f"{u['spans']} spans of {u['provider'] or '?'}/{u['model'] or '?'} are unpriced: {reason}",
            now, description="Add a price override (analytics.cost.overrides) or run `inferledger prices update`, "
                             "then `inferledger prices reprice`.",
            values={"spans": u["spans"], "tokens": u["tokens"]},
        )
        wanted[r.fingerprint] = r
    return [r for fp, r in wanted.items() if fp not in firing] + resolved_records(
        SOURCE, firing, wanted, now, severity="ticket",
        summary=lambda labels: f"{labels.get('provider')}/{labels.get('model')} is priced now",
    )


def raise_unpriced_alerts(wh: Warehouse, now: datetime) -> int:
    return write_alert_records(wh, unpriced_alerts(unpriced_usage(wh), firing_fingerprints(wh, SOURCE), now))
