"""Generic webhook: JSON (Alertmanager's webhook shape plus our fields), signed.

`X-InferLedger-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
receiver's secret>`; `Idempotency-Key` is the same on every attempt of one
notification so a receiver can drop a resend.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from inferledger.alerts.model import Notification, iso
from inferledger.alerts.notifiers.base import encode, post
from inferledger.alerts.settings import ReceiverSettings

SIGNATURE_HEADER = "X-InferLedger-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def render(note: Notification) -> dict[str, Any]:
    return {
        "version": "1",
        "receiver": note.receiver,
        "status": note.status,
        "groupKey": note.group_key,
        "groupLabels": note.group_labels,
        "commonLabels": note.common_labels,
        "idempotencyKey": note.idempotency_key,
        "alerts": [
            {
                "status": a.status, "fingerprint": a.fingerprint, "labels": a.labels,
                "annotations": a.annotations, "severity": a.severity, "source": a.source,
                "values": a.values, "startsAt": iso(a.starts_at), "endsAt": iso(a.ends_at),
                "generatorURL": a.dashboard_url,
            }
            for a in note.alerts
        ],
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): constant-time check of the signature header."""
    return hmac.compare_digest(sign(secret, body), header or "")


def send(receiver: ReceiverSettings, note: Notification, client: httpx.Client) -> int:
    body = encode(render(note))
    headers = {IDEMPOTENCY_HEADER: note.idempotency_key}
    if receiver.secret:
        headers[SIGNATURE_HEADER] = sign(receiver.secret, body)
    return post(client, receiver, receiver.url, body, headers)
