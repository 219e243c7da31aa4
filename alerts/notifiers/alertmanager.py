"""Alertmanager `/api/v2/alerts`: teams keep their existing Alertmanager routes.

Alertmanager expects clients to re-send firing alerts (it resolves an alert it has
not heard of for `resolve_timeout`); the pipeline repeats firing groups to this
receiver every `resend_seconds`. A resolve carries `endsAt` in the past.
`severity` and `inferledger_source` are added as labels when the alert has none.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from inferledger.alerts.model import Notification, iso
from inferledger.alerts.notifiers.base import encode, post
from inferledger.alerts.settings import ReceiverSettings


def alerts_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith("/api/v2/alerts") else base + "/api/v2/alerts"


def render(note: Notification) -> list[dict[str, Any]]:
    out = []
    for a in note.alerts:
        labels = {"severity": a.severity, "inferledger_source": a.source, **a.labels}
        annotations = dict(a.annotations)
        if a.values:
            annotations["values"] = json.dumps(a.values, default=str, sort_keys=True)
        item: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": iso(a.starts_at),
            "generatorURL": a.dashboard_url or "",
        }
        if a.status == "resolved":
            item["endsAt"] = iso(a.ends_at or note.created_at)
        out.append(item)
    return out


def send(receiver: ReceiverSettings, note: Notification, client: httpx.Client) -> int:
    return post(client, receiver, alerts_url(receiver.url), encode(render(note)))
