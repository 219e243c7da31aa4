"""Notifiers: one module per receiver type, each turning a Notification into requests.

`send(receiver, notification, client)` delivers or raises `DeliveryError`; the
HTTP ones also expose a pure `render(...)` so tests check payload shapes.
"""

from __future__ import annotations

from typing import Callable

import httpx

from alerts.model import Notification
from alerts.notifiers.base import DeliveryError
from alerts.settings import ReceiverSettings

Sender = Callable[[ReceiverSettings, Notification, httpx.Client], int]


def sender_for(kind: str) -> Sender:
    from alerts.notifiers import alertmanager, grafana, pagerduty, slack, webhook

    return {"slack": slack.send, "pagerduty": pagerduty.send, "alertmanager": alertmanager.send,
            "webhook": webhook.send, "grafana": grafana.send}[kind]


__all__ = ["DeliveryError", "Sender", "sender_for"]
