"""Alert lifecycle: pending -> firing -> resolved, deduplication and flapping.

Jobs write an alert record every time they evaluate a condition; most records
repeat what is already known. This module folds records into one state per
fingerprint, as pure functions, so the same records always give the same states
(and a test can replay them). Flapping follows Nagios' idea: an alert that
changes state too often within a window is shown as firing, without further
notifications, until it has been quiet for the window; then its real state is
sent. On-call gets one incident, not a page per flap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from inferledger.alerts.model import Alert


@dataclass(frozen=True)
class LifecycleTiming:
    pending_seconds: float = 0.0
    flap_threshold: int = 4
    flap_window_seconds: float = 3600.0


@dataclass
class AlertState:
    fingerprint: str
    alertname: str
    source: str
    labels: dict[str, str]
    severity: str
    summary: str
    state: str  # pending | firing | resolved
    fired: bool  # this episode reached firing (a pending alert that resolves is never sent)
    starts_at: datetime
    pending_since: datetime
    last_record_id: int
    updated_at: datetime
    ends_at: datetime | None = None
    description: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    runbook_url: str = ""
    dashboard_url: str = ""
    transitions: list[float] = field(default_factory=list)
    flapping: bool = False
    held_state: str | None = None

    @property
    def visible_state(self) -> str:
        """The state receivers are told about (held while flapping)."""
        if self.flapping and self.held_state is not None:
            return self.held_state
        return self.state

    def to_alert(self) -> Alert:
        status = "firing" if self.visible_state == "firing" else "resolved"
        return Alert(
            fingerprint=self.fingerprint, alertname=self.alertname, source=self.source,
            labels=self.labels, severity=self.severity, status=status, summary=self.summary,
            starts_at=self.starts_at, ends_at=self.ends_at if status == "resolved" else None,
            description=self.description, values=self.values, runbook_url=self.runbook_url,
            dashboard_url=self.dashboard_url,
        )


@dataclass(frozen=True)
class Record:
    """One row of alert_records, as the lifecycle needs it."""

    id: int
    fingerprint: str
    alertname: str
    source: str
    labels: dict[str, str]
    severity: str
    status: str
    summary: str
    starts_at: datetime
    created_at: datetime
    ends_at: datetime | None = None
    description: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    runbook_url: str = ""
    dashboard_url: str = ""


def _content(rec: Record) -> dict[str, Any]:
    return dict(
        alertname=rec.alertname, source=rec.source, labels=rec.labels, severity=rec.severity,
        summary=rec.summary, description=rec.description or "", values=rec.values or {},
        runbook_url=rec.runbook_url or "", dashboard_url=rec.dashboard_url or "",
    )


def _transition(st: AlertState, to_state: str, now: datetime, timing: LifecycleTiming) -> AlertState:
    """Record a firing<->resolved change and update the flapping flag."""
    t = now.timestamp()
    window_start = t - timing.flap_window_seconds
    recent = [x for x in st.transitions if x >= window_start] + [t]
    flapping = len(recent) >= timing.flap_threshold or (st.flapping and len(recent) > 1)
    # A flapping alert counts as firing until it has been quiet for the window: one
    # open incident instead of a page per flap, and a resolve only once it is stable.
    held = "firing" if flapping else None
    return replace(st, state=to_state, transitions=recent, flapping=flapping, held_state=held)


def apply_record(st: AlertState | None, rec: Record, timing: LifecycleTiming) -> AlertState | None:
    """Fold one record into the state of its fingerprint (None: nothing known yet)."""
    now = rec.created_at
    if rec.status == "firing":
        if st is None or st.state == "resolved":
            new_state = "firing" if timing.pending_seconds <= 0 else "pending"
            base = AlertState(
                fingerprint=rec.fingerprint, state="resolved", fired=False, starts_at=rec.starts_at,
                pending_since=now, last_record_id=rec.id, updated_at=now, **_content(rec),
            )
            if st is not None:  # keep flapping history across episodes
                base = replace(base, transitions=st.transitions, flapping=st.flapping, held_state=st.held_state)
            if new_state == "firing":
                return replace(_transition(base, "firing", now, timing), fired=True, ends_at=None)
            return replace(base, state="pending")
        # Duplicate of a known condition: refresh what it says, keep its state.
        return replace(st, last_record_id=rec.id, updated_at=now, **_content(rec))
    # resolved
    if st is None:
        return None
    if st.state == "pending":
        return replace(st, state="resolved", fired=False, ends_at=rec.ends_at or now,
                       last_record_id=rec.id, updated_at=now)
    if st.state == "firing":
        resolved = _transition(st, "resolved", now, timing)
        return replace(resolved, ends_at=rec.ends_at or now, last_record_id=rec.id, updated_at=now)
    return replace(st, last_record_id=rec.id)  # already resolved: duplicate


def tick(st: AlertState, now: datetime, timing: LifecycleTiming) -> AlertState:
    """Time-driven changes: pending alerts fire after pending_seconds; flapping ends after a quiet window."""
    if st.state == "pending" and (now - st.pending_since).total_seconds() >= timing.pending_seconds:
        st = replace(_transition(st, "firing", now, timing), fired=True, updated_at=now)
    if st.flapping and st.transitions and now.timestamp() - st.transitions[-1] >= timing.flap_window_seconds:
        st = replace(st, flapping=False, held_state=None, transitions=[], updated_at=now)
    return st
