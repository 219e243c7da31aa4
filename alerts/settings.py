"""Settings of the alert pipeline: receivers and routes (shape fixed by DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReceiverSettings:
    name: str
    type: str  # slack | pagerduty | alertmanager | webhook | grafana
    url: str = ""
    routing_key: str = ""
    secret: str = ""

    def __post_init__(self) -> None:
        allowed = {"slack", "pagerduty", "alertmanager", "webhook", "grafana"}
        if self.type not in allowed:
            raise ValueError(f"receiver {self.name!r}: type must be one of {sorted(allowed)}")


@dataclass
class RouteSettings:
    receiver: str
    match: dict[str, str] = field(default_factory=dict)


@dataclass
class AlertSettings:
    receivers: list[ReceiverSettings] = field(default_factory=list)
    routes: list[RouteSettings] = field(default_factory=list)
