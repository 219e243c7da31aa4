"""What `inferledger alerts list` and the admin API show: alerts, silences, delivery.

One function builds the JSON-able view, so the CLI (warehouse opened locally) and
the admin API (warehouse held by the service) print the same thing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from inferledger.alerts import store
from inferledger.alerts.model import iso
from inferledger.alerts.outbox import list_outbox, outbox_depth
from inferledger.alerts.silences import list_silences, silenced_by
from inferledger.analytics.warehouse import Warehouse, utcnow


def overview(wh: Warehouse, *, include_resolved: bool = False, outbox_limit: int = 20,
             now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    silences = list_silences(wh, now=now)
    alerts = []
    for fp, name, source, severity, state, flapping, starts, ends, summary, labels in store.read_all_states(wh):
        if state == "resolved" and not include_resolved:
            continue
        lab = json.loads(labels)
        alerts.append({
            "fingerprint": fp, "alertname": name, "source": source, "severity": severity, "state": state,
            "flapping": flapping, "silenced_by": silenced_by({"severity": severity, "source": source, **lab}, silences, now) if state != "resolved" else None,
            "starts_at": iso(starts), "ends_at": iso(ends), "summary": summary, "labels": lab,
        })
    recent = []
    for row in list_outbox(wh, limit=outbox_limit):
        row = dict(row)
        for key in ("next_attempt_at", "created_at", "delivered_at"):
            row[key] = iso(row[key])
        recent.append(row)
    return {
        "alerts": alerts,
        "silences": [s.to_json(now) for s in silences],
        "delivery": outbox_depth(wh, now),
        "outbox": recent,
    }
