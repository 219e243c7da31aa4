"""Grafana annotations through grafana-client (POST /api/annotations).

A firing alert becomes a point annotation at its start; a resolve becomes a
region from start to end, so the incident shows as a band on every dashboard
(or on `dashboard_uid` only). Each annotation carries a tag derived from the
idempotency key; a resend first looks that tag up and skips what Grafana has.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

import httpx
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from inferledger.alerts.model import Alert, Notification
from inferledger.alerts.notifiers.base import DeliveryError, quiet_client_logs
from inferledger.alerts.redact import endpoint, redact
from inferledger.alerts.settings import ReceiverSettings


def _ms(ts) -> int:

    return int(ts.replace(tzinfo=UTC).timestamp() * 1000)


def key_tag(note: Notification, a: Alert) -> str:
    return "inferledger-key:" + hashlib.sha256(f"{note.idempotency_key}|{a.fingerprint}".encode()).hexdigest()[:16]


def render(receiver: ReceiverSettings, note: Notification, a: Alert) -> dict[str, Any]:
    """Keyword arguments of grafana-client's `annotations.add_annotation`."""
    tags = ["inferledger", a.alertname, f"severity:{a.severity}", f"status:{a.status}", f"source:{a.source}",
            key_tag(note, a)]
    text = f"<b>{a.status.upper()}</b> {a.summary}"
    if a.description:
        text += f"<br/>{a.description}"
    if a.values:
        text += "<br/>" + ", ".join(f"{k}={v}" for k, v in a.values.items())
    if a.runbook_url:
        text += f'<br/><a href="{a.runbook_url}">runbook</a>'
    kwargs: dict[str, Any] = {
        "time_from": _ms(a.starts_at),
        "time_to": _ms(a.ends_at) if a.status == "resolved" and a.ends_at else None,
        "tags": tags,
        "text": text,
    }
    if receiver.dashboard_uid:
        kwargs["dashboard_uid"] = receiver.dashboard_uid
    return kwargs


def send(receiver: ReceiverSettings, note: Notification, client: httpx.Client) -> int:
    """`client` is unused: grafana-client brings its own HTTP session."""
    api = GrafanaApi.from_url(receiver.url, credential=receiver.token or None, timeout=receiver.timeout_seconds)
    where = f"grafana receiver {receiver.name!r} at {endpoint(receiver.url)}"
    try:
        with quiet_client_logs():
            return _send(api, receiver, note)
    except GrafanaException as exc:
        code = exc.status_code
        msg = redact(f"{where}: HTTP {code}: {exc}", receiver)
        transient = code in (408, 429) or (code or 500) >= 500
        raise DeliveryError(msg, status_code=code, permanent=not transient) from None
    except Exception as exc:  # network errors come from niquests/urllib3
        raise DeliveryError(redact(f"{where}: {type(exc).__name__}: {exc}", receiver)) from None


def _send(api: GrafanaApi, receiver: ReceiverSettings, note: Notification) -> int:
    for a in note.alerts:
        kwargs = render(receiver, note, a)
        if api.annotations.find_annotations(tags=[kwargs["tags"][-1]], limit=1):
            continue  # already there: an earlier attempt got through
        api.annotations.add_annotation(**kwargs)
    return 200
