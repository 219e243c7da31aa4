"""Keeping secrets out of logs and errors.

A Slack webhook URL is a credential (the secret is its path), as are PagerDuty
routing keys, webhook secrets and Grafana tokens. Everything the delivery loop
logs or stores about a receiver goes through `redact`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from inferledger.alerts.settings import ReceiverSettings

MASK = "***"


def endpoint(url: str) -> str:
    """scheme://host[:port] — enough to tell receivers apart, no path, no query, no credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/{MASK}" if parts.path not in ("", "/") or parts.query else \
        f"{parts.scheme}://{host}{port}"


def secrets_of(receiver: ReceiverSettings) -> list[str]:
    found = [receiver.routing_key, receiver.secret, receiver.token]
    parts = urlsplit(receiver.url)
    found += [receiver.url, receiver.url.rstrip("/")]
    if parts.path not in ("", "/"):
        found.append(parts.path)
        # token-like path segments (Slack's T…/B…/secret), not words such as "services"
        found += [seg for seg in parts.path.split("/")
                  if len(seg) >= 8 and any(c.isdigit() or c.isupper() for c in seg)]
    if parts.query:
        found.append(parts.query)
    if parts.password:
        found.append(parts.password)
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def redact(text: str, receiver: ReceiverSettings) -> str:
    """`text` with the receiver's URL path, keys, secrets and tokens masked."""
    url = receiver.url
    text = text.replace(url, endpoint(url)).replace(url.rstrip("/"), endpoint(url))
    for secret in secrets_of(receiver):
        text = text.replace(secret, MASK)
    return text


def redact_all(text: str, receivers: list[ReceiverSettings]) -> str:
    """`text` with every configured receiver's secrets masked (a response may echo another's)."""
    for receiver in receivers:
        text = redact(text, receiver)
    return text
