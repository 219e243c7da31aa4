"""The notification `inferledger alerts test RECEIVER` sends: clearly a test, never a real page."""

from __future__ import annotations

from inferledger.alerts.grouping import group_key
from inferledger.alerts.model import Alert, Notification
from inferledger.analytics.alert_records import fingerprint
from inferledger.analytics.warehouse import utcnow


def make_test_notification(receiver: str, status: str = "firing") -> Notification:
    now = utcnow()
    labels = {"alertname": "InferLedgerTestAlert", "receiver": receiver, "test": "true"}
    alert = Alert(
        fingerprint=fingerprint(labels), alertname="InferLedgerTestAlert", source="ingest", labels=labels,
        severity="info", status=status, summary=f"Test notification from InferLedger to receiver {receiver}",
        starts_at=now, ends_at=now if status == "resolved" else None,
        description="Sent by `inferledger alerts test`; nothing is wrong.", values={"test": 1},
    )
    key = group_key("test", receiver, {"alertname": "InferLedgerTestAlert"})
    return Notification(receiver, key, {"alertname": "InferLedgerTestAlert"}, [alert],
                        f"test-{now:%Y%m%d%H%M%S%f}-{status}", now)
