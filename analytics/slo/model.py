"""The SLO model every spec format parses into, and its error type.

One model for three spellings (ours, OpenSLO v1, Sloth prometheus/v1), so the engine
and the rule generator never care which file format an SLO came from.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inferledger.analytics.slo.promfmt import parse_duration

SLI_KINDS = ("availability", "latency", "ttft")
# Filter key -> spans column(s). Column names are constants, values are bound parameters.
FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "service": ("service_name",),
    "model": ("request_model", "response_model"),
    "team": ("team",),
    "operation": ("operation",),
    "provider": ("provider",),
    "environment": ("deployment_environment",),
    "tenant": ("tenant",),
}
OPS = ("lte", "lt", "gte", "gt")
PERIODS = {"30d": 30, "28d": 28, "4w": 28}  # the periods with built-in alert windows (Sloth's catalog)
CALENDAR_MONTH = "calendar_month"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
ALERT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
WINDOW_PLACEHOLDER = "{{.window}}"
# Sloth renders queries with Go templates: `{{ .window }}` with any spaces is the same variable.
WINDOW_RE = re.compile(r"\{\{-? *\.window *-?\}\}")


class SpecError(ValueError):
    """An SLO spec is invalid; the message names the field."""


@dataclass(frozen=True)
class SpanSLI:
    """An SLI computed from the `spans` table."""

    kind: str  # availability | latency | ttft
    threshold_s: float | None = None
    op: str = "lte"  # good when value <op> threshold; `lte` is Prometheus' `le`
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)


@dataclass(frozen=True)
class PromSLI:
    """A metric-based SLI: Sloth `events` (queries with {{.window}}) or `raw` error ratio."""

    error_query: str = ""
    total_query: str = ""
    error_ratio_query: str = ""


@dataclass(frozen=True)
class AlertSpec:
    name: str = ""  # empty: SLOSpec.alert_name derives one per SLO
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    page_labels: dict[str, str] = field(default_factory=dict)
    page_annotations: dict[str, str] = field(default_factory=dict)
    page_disabled: bool = False
    ticket_labels: dict[str, str] = field(default_factory=dict)
    ticket_annotations: dict[str, str] = field(default_factory=dict)
    ticket_disabled: bool = False


@dataclass(frozen=True)
class SLOSpec:
    service: str
    name: str
    objective: float  # percent, e.g. 99.9
    period: str = "30d"  # 30d | 28d | calendar_month
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    sli: SpanSLI | None = None
    prometheus: PromSLI | None = None
    alerting: AlertSpec = field(default_factory=AlertSpec)
    source_format: str = "inferledger/v1"
    # Sloth SLO plugins, (id, config) in chain order; applied by the rule generator.
    plugins: tuple[tuple[str, Any], ...] = ()
    # OpenSLO Timeslices budgeting: each minute with traffic is one event, bad when its
    # good/total ratio is under this target. None: Occurrences (every request an event).
    timeslice_target: float | None = None

    @property
    def id(self) -> str:
        """Sloth's `sloth_id`."""
        return f"{self.service}-{self.name}"

    @property
    def alert_name(self) -> str:
        """The configured alert name, else one per SLO (`ChatApiAvailabilityBurnRate`).

        Per SLO because two alert rules with one name and equal static labels are
        duplicates to `promtool check rules`.
        """
        if self.alerting.name:
            return self.alerting.name
        words = re.split(r"[^A-Za-z0-9]+", f"{self.service} {self.name}")
        camel = "".join(w[:1].upper() + w[1:] for w in words if w)
        return ("SLO" if camel[:1].isdigit() else "") + camel + "BurnRate"

    @property
    def objective_ratio(self) -> float:
        return self.objective / 100

    @property
    def error_budget(self) -> float:
        """1 - objective, computed the way Sloth does ((100 - objective) / 100); 0 for objective 100."""
        return (100 - self.objective) / 100

    @property
    def period_seconds(self) -> int:
        """The rolling period in seconds (calendar months have none: rules reject them)."""
        return parse_duration(self.period)

    def period_days(self, now: datetime | None = None) -> float:
        if self.period == CALENDAR_MONTH:
            now = now or datetime.utcnow()
            return calendar.monthrange(now.year, now.month)[1]
        secs = self.period_seconds
        return secs // 86400 if secs % 86400 == 0 else secs / 86400

    def period_start(self, now: datetime) -> datetime:
        """First instant of the budget period that contains `now`."""
        if self.period == CALENDAR_MONTH:
            return datetime(now.year, now.month, 1)
        minute = now.replace(second=0, microsecond=0)
        return minute - timedelta(seconds=self.period_seconds) + timedelta(minutes=1)
