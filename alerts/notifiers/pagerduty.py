"""PagerDuty Events API v2: one event per alert, `dedup_key` = fingerprint.

PagerDuty deduplicates on `dedup_key`, so a trigger resent after a crash joins the
incident already open, and a resolve closes it. Severity: page -> critical,
ticket -> warning, info -> info (PagerDuty accepts critical|error|warning|info).
"""

from __future__ import annotations

from typing import Any

import httpx

from inferledger.alerts.model import Alert, Notification, iso
from inferledger.alerts.notifiers.base import encode, post
from inferledger.alerts.settings import ReceiverSettings

SEVERITY = {"page": "critical", "ticket": "warning", "info": "info"}


def render_event(routing_key: str, a: Alert) -> dict[str, Any]:
    if a.status == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": a.fingerprint}
    labels = a.labels
    source = labels.get("service") or labels.get("service_name") or labels.get("model") or f"inferledger/{a.source}"
    payload: dict[str, Any] = {
        "summary": (a.summary or a.alertname)[:1024],
        "source": source,
        "severity": SEVERITY.get(a.severity, "info"),
        "timestamp": iso(a.starts_at),
        "class": a.alertname,
        "custom_details": {
            "description": a.description, "values": a.values, "labels": labels, "alert_source": a.source,
        },
    }
    if labels.get("team"):
        payload["group"] = labels["team"]
    for key in ("component", "model", "slo", "feature"):
        if labels.get(key):
            payload["component"] = labels[key]
            break
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": a.fingerprint,
        "payload": payload,
        "client": "InferLedger",
    }
    links = [{"href": url, "text": text} for text, url in (("Runbook", a.runbook_url), ("Dashboard", a.dashboard_url))
             if url]
    if links:
        event["links"] = links
    if a.dashboard_url:
        event["client_url"] = a.dashboard_url
    return event


def render(receiver: ReceiverSettings, note: Notification) -> list[dict[str, Any]]:
    return [render_event(receiver.routing_key, a) for a in note.alerts]


def send(receiver: ReceiverSettings, note: Notification, client: httpx.Client) -> int:
    code = 0
    for event in render(receiver, note):
        code = post(client, receiver, receiver.url, encode(event))
    return code
