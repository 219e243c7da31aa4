"""Notification groups: when a group of alerts is sent, and with which alerts.

Alertmanager's timing, as pure functions: a new group waits `group_wait` so the
alerts of one incident arrive in one message; after a send it waits at least
`group_interval` before telling about changes; with nothing new it repeats
still-firing alerts every `repeat_interval`. A group remembers which alerts it
told receivers are firing, so each resolve is sent exactly once, and only for
alerts that were announced (a silenced or never-fired alert resolves quietly).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from inferledger.alerts.model import Alert


@dataclass
class GroupState:
    group_key: str
    receiver: str
    route_path: str
    group_labels: dict[str, str]
    created_at: datetime
    next_flush_at: datetime
    last_sent_at: datetime | None = None
    notified: frozenset[str] = field(default_factory=frozenset)
    seq: int = 0


def group_key(route_path: str, receiver: str, labels: dict[str, str]) -> str:
    canon = "|".join(f"{k}={v}" for k, v in sorted(labels.items()))
    digest = hashlib.sha256(f"{route_path}|{receiver}|{canon}".encode()).hexdigest()[:16]
    return f"{receiver}/{route_path}/{digest}"


def new_group(key: str, receiver: str, route_path: str, labels: dict[str, str], now: datetime,
              group_wait: float) -> GroupState:
    return GroupState(key, receiver, route_path, labels, now, now + timedelta(seconds=group_wait))


@dataclass(frozen=True)
class FlushResult:
    group: GroupState | None  # None: the group is over and can be forgotten
    send: list[Alert] | None  # alerts of the notification to enqueue, None: nothing to send


def flush(
    group: GroupState,
    firing: dict[str, Alert],
    resolved: dict[str, Alert],
    silenced: set[str],
    now: datetime,
    *,
    group_interval: float,
    repeat_interval: float,
    send_resolved: bool,
) -> FlushResult:
    """Decide one group's notification at `now`.

    firing: visible firing, unsilenced alerts of the group; resolved: visible resolved
    alerts the group had announced; silenced: still-firing alerts muted by a silence.
    """
    if now < group.next_flush_at:
        return FlushResult(group, None)
    firing_set = frozenset(firing)
    resolved_set = frozenset(fp for fp in resolved if fp in group.notified)
    changed = firing_set != (group.notified - silenced - resolved_set) or bool(resolved_set)
    repeat_due = bool(firing_set) and (
        group.last_sent_at is None or (now - group.last_sent_at).total_seconds() >= repeat_interval
    )
    notified = firing_set | (group.notified & silenced)
    if not (changed or repeat_due):
        if not notified and not firing_set:
            return FlushResult(None, None)
        # Alertmanager's cadence: the group ticks every group_interval; changes wait for the tick.
        return FlushResult(replace(group, next_flush_at=now + timedelta(seconds=group_interval)), None)
    alerts = [firing[fp] for fp in sorted(firing_set)]
    if send_resolved:
        alerts += [resolved[fp] for fp in sorted(resolved_set)]
    nxt = replace(group, next_flush_at=now + timedelta(seconds=group_interval), notified=notified)
    if alerts:
        nxt = replace(nxt, last_sent_at=now, seq=group.seq + 1)
    if not notified and not firing_set:
        return FlushResult(None, alerts or None)
    return FlushResult(nxt, alerts or None)


def idempotency_key(group: GroupState, seq: int) -> str:
    """Same group, same sequence number -> same key (the group's creation time tells groups apart)."""
    raw = f"{group.group_key}|{group.created_at.isoformat()}|{seq}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
