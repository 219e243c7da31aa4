"""The one alert model every notifier renders, whatever job raised the alert.

`Alert` is the state of one condition (fingerprint) as receivers see it;
`Notification` is what one receiver gets for one group at one time. Both are
plain data that serialise to JSON, because notifications wait in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def iso(ts: datetime | None) -> str | None:
    """RFC 3339 UTC (the warehouse keeps naive UTC)."""
    if ts is None:
        return None
    return ts.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.rstrip("Z"))


@dataclass
class Alert:
    fingerprint: str
    alertname: str
    source: str
    labels: dict[str, str]
    severity: str
    status: str  # firing | resolved (as shown to receivers)
    summary: str
    starts_at: datetime
    ends_at: datetime | None = None
    description: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    runbook_url: str = ""
    dashboard_url: str = ""

    @property
    def match_labels(self) -> dict[str, str]:
        """Labels routes, silences and group_by see: the alert's labels plus `severity` and `source`."""
        return {"severity": self.severity, "source": self.source, **self.labels}

    @property
    def annotations(self) -> dict[str, str]:
        out = {"summary": self.summary}
        for key, value in (("description", self.description), ("runbook_url", self.runbook_url),
                           ("dashboard_url", self.dashboard_url)):
            if value:
                out[key] = value
        return out

    def to_json(self) -> dict[str, Any]:
        # by hand rather than dataclasses.asdict: asdict deep-copies, and a tick may write 10,000 alerts
        return {
            "fingerprint": self.fingerprint, "alertname": self.alertname, "source": self.source,
            "labels": self.labels, "severity": self.severity, "status": self.status, "summary": self.summary,
            "starts_at": iso(self.starts_at), "ends_at": iso(self.ends_at), "description": self.description,
            "values": self.values, "runbook_url": self.runbook_url, "dashboard_url": self.dashboard_url,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Alert:
        d = dict(d)
        d["starts_at"] = parse_iso(d["starts_at"])
        d["ends_at"] = parse_iso(d.get("ends_at"))
        return cls(**d)


@dataclass
class Notification:
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: list[Alert]
    idempotency_key: str
    created_at: datetime

    @property
    def status(self) -> str:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "resolved"]

    @property
    def common_labels(self) -> dict[str, str]:
        if not self.alerts:
            return {}
        common = dict(self.alerts[0].labels)
        for a in self.alerts[1:]:
            common = {k: v for k, v in common.items() if a.labels.get(k) == v}
        return common

    @property
    def top_severity(self) -> str:
        order = {"page": 0, "ticket": 1, "info": 2}
        pool = self.firing or self.alerts
        return min((a.severity for a in pool), key=lambda s: order.get(s, 3), default="info")

    def to_json(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "group_key": self.group_key,
            "group_labels": self.group_labels,
            "alerts": [a.to_json() for a in self.alerts],
            "idempotency_key": self.idempotency_key,
            "created_at": iso(self.created_at),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Notification:
        return cls(
            receiver=d["receiver"],
            group_key=d["group_key"],
            group_labels=d["group_labels"],
            alerts=[Alert.from_json(a) for a in d["alerts"]],
            idempotency_key=d["idempotency_key"],
            created_at=parse_iso(d["created_at"]),
        )
