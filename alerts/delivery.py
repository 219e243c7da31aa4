"""The delivery loop: send due outbox rows, retry with backoff, never skip ahead.

Rows of one group are sent in order (a resolve never overtakes its trigger): a
group whose oldest pending row is not due, or just failed, holds its later rows
back. A receiver that fails with a transient error is skipped for the rest of the
pass. Backoff is exponential with jitter, capped; a 429's Retry-After is honoured
(the next attempt is never earlier than the receiver asked).
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from inferledger.alerts import outbox
from inferledger.alerts.notifiers import DeliveryError, sender_for
from inferledger.alerts.redact import redact_all
from inferledger.alerts.settings import AlertSettings, ReceiverSettings
from inferledger.analytics.warehouse import Warehouse, utcnow

log = logging.getLogger("inferledger.alerts")


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int
    retrying: int
    failed: int

    def __str__(self) -> str:
        return f"delivered={self.delivered} retrying={self.retrying} failed={self.failed}"


def backoff_seconds(attempts: int, cfg: AlertSettings, rng: random.Random | None = None) -> float:
    """Delay before attempt `attempts + 1`: base * 2^attempts, capped, plus up to `retry_jitter` of it."""
    rng = rng or random
    delay = min(cfg.retry_max_seconds, cfg.retry_base_seconds * (2 ** min(attempts, 30)))
    return delay * (1.0 + cfg.retry_jitter * rng.random())


_shared: httpx.Client | None = None
_shared_lock = threading.Lock()
_pass_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """One pooled client for the process: building a TLS context costs ~0.1 s per client."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = httpx.Client(follow_redirects=False)
        return _shared


def send_now(receiver: ReceiverSettings, note, client: httpx.Client | None = None) -> int:
    """One attempt, no outbox (used by `alerts test`); raises DeliveryError."""
    return sender_for(receiver.type)(receiver, note, client or shared_client())


def deliver_due(
    wh: Warehouse, cfg: AlertSettings, now: datetime | None = None, *, client: httpx.Client | None = None,
    rng: random.Random | None = None,
) -> DeliveryResult:
    # One delivery pass at a time: the scheduled job and an admin-triggered run must not
    # both pick the same pending row and send it twice.
    if not _pass_lock.acquire(blocking=False):
        return DeliveryResult(0, 0, 0)
    try:
        return _deliver_due(wh, cfg, now or utcnow(), client or shared_client(), rng)
    finally:
        _pass_lock.release()


def _deliver_due(wh: Warehouse, cfg: AlertSettings, now: datetime, client: httpx.Client,
                 rng: random.Random | None) -> DeliveryResult:
    receivers = {r.name: r for r in cfg.receivers}
    rows = outbox.due(wh, now, cfg.delivery_batch)
    blocked_groups = _groups_waiting(wh, now)
    down: set[str] = set()
    delivered = retrying = failed = 0
    for row in rows:
        if row.group_key in blocked_groups or row.receiver in down:
            continue
        receiver = receivers.get(row.receiver)
        if receiver is None:
            outbox.mark_failed(wh, row.id, f"receiver {row.receiver!r} is not configured", None)
            failed += 1
            continue
        try:
            code = sender_for(receiver.type)(receiver, row.notification, client)
        except DeliveryError as exc:
            message = redact_all(str(exc), cfg.receivers)
            attempts = row.attempts + 1
            if exc.permanent or (cfg.max_attempts and attempts >= cfg.max_attempts):
                outbox.mark_failed(wh, row.id, message, exc.status_code)
                log.error("alert notification %s failed for good: %s", row.id, message)
                failed += 1
                continue
            delay = backoff_seconds(row.attempts, cfg, rng)
            if exc.retry_after is not None:
                delay = exc.retry_after
            outbox.mark_retry(wh, row.id, message, exc.status_code, now + timedelta(seconds=delay))
            log.warning("alert notification %s: attempt %d failed, retry in %.1fs: %s",
                        row.id, attempts, delay, message)
            retrying += 1
            blocked_groups.add(row.group_key)
            down.add(row.receiver)
            continue
        outbox.mark_delivered(wh, row.id, code, utcnow())
        delivered += 1
    return DeliveryResult(delivered, retrying, failed)


def _groups_waiting(wh: Warehouse, now: datetime) -> set[str]:
    """Groups with a pending row that is not due yet: their later rows must wait for it."""
    rows = wh.con.execute(
        "SELECT DISTINCT group_key FROM alert_outbox WHERE state = 'pending' AND next_attempt_at > ?", [now]
    ).fetchall()
    return {r[0] for r in rows}
