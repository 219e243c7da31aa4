"""One evaluation tick: new alert records -> lifecycle -> silences -> routing -> groups -> outbox.

Everything a tick changes (states, groups, outbox rows, the record watermark) is
committed in one transaction, so a crash in the middle re-runs the tick from the
same records instead of losing or doubling a notification.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from inferledger.alerts import store
from inferledger.alerts.grouping import GroupState, flush, group_key, idempotency_key, new_group
from inferledger.alerts.lifecycle import AlertState, LifecycleTiming, apply_record, tick
from inferledger.alerts.model import Alert, Notification
from inferledger.alerts.outbox import enqueue
from inferledger.alerts.routing import GroupTiming, Route, build_routes, group_labels, match_routes, root_timing
from inferledger.alerts.settings import AlertSettings
from inferledger.alerts.silences import Silence, list_silences, silenced_by
from inferledger.analytics.warehouse import Warehouse

RECORD_BATCH = 100_000
# A writer may commit record id N after N+1: the watermark waits this long at a gap.
GAP_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class EvalResult:
    records: int  # alert records read this tick
    alerts: int  # alerts evaluated (active or touched)
    notifications: int  # notifications enqueued
    unrouted: int  # firing alerts no route takes

    def __str__(self) -> str:
        return (f"records={self.records} alerts={self.alerts} notifications={self.notifications}"
                f" unrouted={self.unrouted}")


def timing_of(cfg: AlertSettings) -> LifecycleTiming:
    return LifecycleTiming(cfg.pending_seconds, cfg.flap_threshold, cfg.flap_window_seconds)


_tick_lock = threading.Lock()


def evaluate(wh: Warehouse, cfg: AlertSettings, now: datetime) -> EvalResult:
    """One tick; ticks are serialised (the scheduled job and an admin-triggered run may overlap)."""
    with _tick_lock:
        con = wh.con
        con.execute("BEGIN TRANSACTION")
        try:
            result = _evaluate(wh, cfg, now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return result


def _evaluate(wh: Warehouse, cfg: AlertSettings, now: datetime) -> EvalResult:
    timing = timing_of(cfg)
    cursor = store.read_cursor(wh)
    seen = store.read_seen(wh)
    records = [r for r in store.read_records(wh, cursor, RECORD_BATCH) if r.id not in seen]
    groups = store.read_groups(wh)
    wanted = {r.fingerprint for r in records}
    for g in groups.values():
        wanted |= g.notified
    states = store.read_states(wh, sorted(wanted))
    dirty: dict[str, AlertState] = {}

    for rec in records:
        new = apply_record(states.get(rec.fingerprint), rec, timing)
        if new is not None:
            states[rec.fingerprint] = new
            dirty[rec.fingerprint] = new
    for fp, st in list(states.items()):
        new = tick(st, now, timing)
        if new is not st:
            states[fp] = new
            dirty[fp] = new

    notes, unrouted, changed_groups, deleted = _group_and_flush(cfg, build_routes(cfg), states, groups,
                                                                list_silences(wh, now=now), now)
    store.write_states(wh, list(dirty.values()))
    store.write_groups(wh, changed_groups, deleted)
    enqueued = enqueue(wh, notes, now)
    if records:
        seen.update((r.id, r.created_at) for r in records)
        watermark = store.advance_watermark(cursor, seen, now - timedelta(seconds=GAP_GRACE_SECONDS))
        store.write_cursor(wh, watermark)
        store.write_seen(wh, watermark, seen)
    elif seen:  # no new records, but an old gap may have aged out
        watermark = store.advance_watermark(cursor, seen, now - timedelta(seconds=GAP_GRACE_SECONDS))
        if watermark != cursor:
            store.write_cursor(wh, watermark)
            store.write_seen(wh, watermark, seen)
    return EvalResult(len(records), len(states), enqueued, unrouted)


def _group_and_flush(
    cfg: AlertSettings, routes: tuple[Route, ...], states: dict[str, AlertState], groups: dict[str, GroupState],
    silences: list[Silence], now: datetime,
) -> tuple[list[Notification], int, list[GroupState], list[str]]:
    """Route every alert to its groups, then flush each group that is due."""
    receivers = {r.name: r for r in cfg.receivers}
    members: dict[str, tuple[dict[str, Alert], dict[str, Alert], set[str]]] = {}
    timing_by_group: dict[str, GroupTiming] = {}
    created: set[str] = set()
    unrouted = 0
    for st in states.values():
        alert = st.to_alert()
        firing = alert.status == "firing"
        labels = alert.match_labels
        matched = match_routes(labels, routes)
        if not matched:
            unrouted += firing
            continue
        muted = firing and silenced_by(labels, silences, now) is not None
        for route in matched:
            glabels = group_labels(labels, route.timing.group_by)
            key = group_key(route.path, route.receiver, glabels)
            group = groups.get(key)
            if group is None:
                if not firing or muted:
                    continue
                group = new_group(key, route.receiver, route.path, glabels, now, route.timing.group_wait)
                groups[key] = group
                created.add(key)
            f, r, s = members.setdefault(key, ({}, {}, set()))
            timing_by_group[key] = route.timing
            if muted:
                s.add(alert.fingerprint)
            elif firing:
                f[alert.fingerprint] = alert
            elif alert.fingerprint in group.notified:
                r[alert.fingerprint] = alert

    notes: list[Notification] = []
    changed: list[GroupState] = []
    deleted: list[str] = []
    for key, group in list(groups.items()):
        f, r, s = members.get(key, ({}, {}, set()))
        receiver = receivers.get(group.receiver)
        route_timing = timing_by_group.get(key)
        if receiver is None or route_timing is None:
            # The receiver or route left the config, or nothing routes here any more.
            if receiver is None or not group.notified:
                deleted.append(key)
                continue
            route_timing = root_timing(cfg)
        repeat = route_timing.repeat_interval
        if receiver.type == "alertmanager":
            repeat = min(repeat, receiver.resend_seconds)
        res = flush(group, f, r, s, now, group_interval=route_timing.group_interval, repeat_interval=repeat,
                    send_resolved=receiver.send_resolved)
        if res.group is None:
            deleted.append(key)
        elif res.group is not group or key in created:
            changed.append(res.group)
        if res.send:
            seq = res.group.seq if res.group is not None else group.seq + 1
            notes.append(Notification(group.receiver, key, group.group_labels, res.send,
                                      idempotency_key(group, seq), now))
    return notes, unrouted, changed, deleted


def prune(wh: Warehouse, cfg: AlertSettings, now: datetime) -> None:
    """Housekeeping: forget long-resolved alerts and old delivered notifications."""
    from inferledger.alerts.outbox import prune_delivered

    before = now - timedelta(days=cfg.retention_days)
    store.prune_resolved(wh, before)
    prune_delivered(wh, before)
