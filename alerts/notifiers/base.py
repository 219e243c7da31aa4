"""What every HTTP notifier shares: posting JSON and classifying the answer.

2xx is delivered. 429 is retried after `Retry-After`; 408 and 5xx and network
errors are retried with backoff; any other 4xx is permanent (retrying the same
bytes cannot succeed). Messages are redacted before they leave this module.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from inferledger.alerts.redact import endpoint, redact
from inferledger.alerts.settings import ReceiverSettings

USER_AGENT = "InferLedger-alerts/0.1"
_sending = threading.local()


class _HideOurRequests(logging.Filter):
    """HTTP client libraries log full request URLs (httpx at INFO); a Slack webhook URL is a
    secret, so their records are dropped while this thread is sending a notification."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_sending, "active", False)


_FILTER = _HideOurRequests()
for _name in ("httpx", "httpcore", "niquests", "urllib3", "urllib3_future", "grafana_client"):
    logging.getLogger(_name).addFilter(_FILTER)


@contextmanager
def quiet_client_logs():
    """Hide client-library log records (which carry URLs) for the duration of a send."""
    before = getattr(_sending, "active", False)
    _sending.active = True
    try:
        yield
    finally:
        _sending.active = before


class DeliveryError(Exception):
    """A failed attempt; `message` is already redacted."""

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.permanent = permanent


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def post(client: httpx.Client, receiver: ReceiverSettings, url: str, body: bytes,
         headers: dict[str, str] | None = None) -> int:
    """POST bytes; returns the status code or raises a redacted DeliveryError."""
    hdrs = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    where = f"{receiver.type} receiver {receiver.name!r} at {endpoint(receiver.url)}"
    try:
        with quiet_client_logs():
            resp = client.post(url, content=body, headers=hdrs, timeout=receiver.timeout_seconds)
    except httpx.HTTPError as exc:
        raise DeliveryError(redact(f"{where}: {type(exc).__name__}: {exc}", receiver)) from None
    code = resp.status_code
    if 200 <= code < 300:
        return code
    # Redact the whole body first: a cut made first could split a secret and leave its head visible.
    detail = redact(resp.text[:65536].replace("\n", " "), receiver)[:300]
    msg = redact(f"{where}: HTTP {code}: {detail}", receiver)
    if code in (408, 429) or code >= 500:
        raise DeliveryError(msg, status_code=code, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
    raise DeliveryError(msg, status_code=code, permanent=True)
