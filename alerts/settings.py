"""Settings of the alert pipeline: receivers, the routing tree, timing and delivery.

The `[[alerts.receivers]]` / `[[alerts.routes]]` shape is fixed by DESIGN.md; the
rest has defaults that work. Timing keys on a route override the `[alerts]` ones
and are inherited by its child routes, as in Alertmanager.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RECEIVER_TYPES = ("slack", "pagerduty", "alertmanager", "webhook", "grafana")
DEFAULT_URLS = {"pagerduty": "https://events.pagerduty.com/v2/enqueue"}
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass
class ReceiverSettings:
    name: str
    type: str  # slack | pagerduty | alertmanager | webhook | grafana
    url: str = ""
    routing_key: str = ""  # pagerduty
    secret: str = ""  # webhook: HMAC-SHA256 key of the signature header
    token: str = ""  # grafana: service-account token (Bearer)
    dashboard_uid: str = ""  # grafana: pin annotations to one dashboard (empty: organisation-wide)
    send_resolved: bool = True
    timeout_seconds: float = 10.0
    # alertmanager: re-send firing alerts at least this often, so Alertmanager's
    # resolve_timeout never resolves an alert that is still firing.
    resend_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.type not in RECEIVER_TYPES:
            raise ValueError(f"receiver {self.name!r}: type must be one of {sorted(RECEIVER_TYPES)}")
        if not self.name:
            raise ValueError("receiver: name must not be empty")
        if not self.url:
            self.url = DEFAULT_URLS.get(self.type, "")
        if not self.url:
            raise ValueError(f"receiver {self.name!r}: url is required for type {self.type}")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"receiver {self.name!r}: url must start with http:// or https://")
        if self.type == "pagerduty" and not self.routing_key:
            raise ValueError(f"receiver {self.name!r}: routing_key is required for pagerduty")
        if self.timeout_seconds <= 0:
            raise ValueError(f"receiver {self.name!r}: timeout_seconds must be > 0")
        if self.resend_seconds <= 0:
            raise ValueError(f"receiver {self.name!r}: resend_seconds must be > 0")


@dataclass
class RouteSettings:
    receiver: str
    match: dict[str, str] = field(default_factory=dict)  # label = exact value
    match_re: dict[str, str] = field(default_factory=dict)  # label =~ anchored regex
    group_by: list[str] | None = None  # None: inherit; ["..."]: one group per alert
    group_wait: float | None = None
    group_interval: float | None = None
    repeat_interval: float | None = None
    continue_matching: bool = False  # Alertmanager's `continue`: keep matching siblings
    routes: list[RouteSettings] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, pattern in self.match_re.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"route to {self.receiver!r}: match_re.{name}: bad regex: {exc}") from None
        for name in list(self.match) + list(self.match_re) + list(self.group_by or []):
            if name != "..." and not _LABEL.match(name):
                raise ValueError(f"route to {self.receiver!r}: {name!r} is not a valid label name")
        for key in ("group_wait", "group_interval", "repeat_interval"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ValueError(f"route to {self.receiver!r}: {key} must be >= 0")


@dataclass
class AlertSettings:
    receivers: list[ReceiverSettings] = field(default_factory=list)
    routes: list[RouteSettings] = field(default_factory=list)
    # Grouping and notification timing (seconds), Alertmanager's defaults.
    group_by: list[str] = field(default_factory=lambda: ["alertname"])
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14400.0
    # An alert stays pending this long before it fires (0: fire at once).
    pending_seconds: float = 0.0
    # Flapping: an alert that changes state `flap_threshold` times within
    # `flap_window_seconds` is held back until it has been stable for the window.
    flap_threshold: int = 4
    flap_window_seconds: float = 3600.0
    # Delivery: exponential backoff with full jitter, honouring Retry-After.
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    retry_jitter: float = 0.2  # fraction of the backoff added at random
    max_attempts: int = 0  # 0: retry until delivered (a permanent 4xx stops earlier)
    delivery_batch: int = 200
    retention_days: int = 30  # delivered outbox rows and expired silences kept this long

    def __post_init__(self) -> None:
        names = [r.name for r in self.receivers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"receivers: duplicate name {dupes[0]!r}")
        known = set(names)

        def check(routes: list[RouteSettings], where: str) -> None:
            for i, route in enumerate(routes):
                if route.receiver not in known:
                    raise ValueError(
                        f"{where}[{i}].receiver: unknown receiver {route.receiver!r}"
                        f" (known: {', '.join(sorted(known)) or 'none'})"
                    )
                check(route.routes, f"{where}[{i}].routes")

        check(self.routes, "routes")
        for key in ("group_wait", "group_interval", "repeat_interval", "pending_seconds",
                    "flap_window_seconds", "retry_base_seconds", "retry_max_seconds"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0")
        if self.group_interval <= 0 or self.repeat_interval <= 0:
            raise ValueError("group_interval and repeat_interval must be > 0")
        if self.flap_threshold < 2:
            raise ValueError("flap_threshold must be >= 2")
        if not 0 <= self.retry_jitter <= 1:
            raise ValueError("retry_jitter must be between 0 and 1")
        if self.max_attempts < 0 or self.delivery_batch < 1 or self.retention_days < 1:
            raise ValueError("max_attempts must be >= 0, delivery_batch and retention_days >= 1")

    def receiver(self, name: str) -> ReceiverSettings:
        for r in self.receivers:
            if r.name == name:
                return r
        raise KeyError(f"unknown receiver {name!r} (known: {', '.join(r.name for r in self.receivers) or 'none'})")
