"""Notifiers: one module per receiver type, each turning a Notification into requests.

`send(receiver, notification, client)` delivers or raises `DeliveryError`; the
HTTP ones also expose a pure `render(...)` so tests check payload shapes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import httpx

from inferledger.alerts.model import Notification
from inferledger.alerts.notifiers.base import DeliveryError
from inferledger.alerts.settings import RECEIVER_TYPES, ReceiverSettings

Sender = Callable[[ReceiverSettings, Notification, httpx.Client], int]


def sender_for(kind: str) -> Sender:
    """The notifier of a receiver type, imported on first use (grafana-client is slow to import)."""
    if kind not in RECEIVER_TYPES:
        raise ValueError(f"no notifier for receiver type {kind!r}")
    return importlib.import_module(f"inferledger.alerts.notifiers.{kind}").send


__all__ = ["DeliveryError", "Sender", "sender_for"]
