"""Silences: label matchers that mute matching alerts for a time window.

Matchers use Alertmanager's operators (`=`, `!=`, `=~`, `!~`, regexes anchored),
so an operator can write the same `alertname=HighBurn` on our CLI as on amtool.
A silence is expired by moving its end to now; it stays listed as history.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inferledger.analytics.warehouse import Warehouse, utcnow

_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"matcher {self.name}: operator must be =, !=, =~ or !~, got {self.op!r}")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"matcher {self.name}{self.op}{self.value}: bad regex: {exc}") from None

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """`severity=page`, `team!=ml`, `alertname=~Slo.*` -> Matcher (quotes around the value allowed)."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f"bad matcher {text!r}: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX")
    value = m.group(3)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return Matcher(m.group(1), m.group(2), value)


def parse_duration(text: str) -> timedelta:
    """`90m`, `2h`, `1h30m`, `1d` -> timedelta."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"bad duration {text!r}: use e.g. 30m, 2h, 1h30m, 1d")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def state(self, now: datetime) -> str:
        return "active" if self.active(now) else ("pending" if now < self.starts_at else "expired")

    def mutes(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def to_json(self, now: datetime) -> dict[str, Any]:
        from inferledger.alerts.model import iso

        return {
            "id": self.id, "matchers": [str(m) for m in self.matchers], "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at), "created_by": self.created_by, "comment": self.comment,
            "created_at": iso(self.created_at), "state": self.state(now),
        }


def create_silence(
    wh: Warehouse, matchers: list[Matcher], *, duration: timedelta, created_by: str, comment: str,
    starts_at: datetime | None = None,
) -> Silence:
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    if duration.total_seconds() <= 0:
        raise ValueError("silence duration must be positive")
    if not created_by.strip() or not comment.strip():
        raise ValueError("a silence needs a creator (--author) and a comment (--comment)")
    now = utcnow()
    start = starts_at or now
    sil = Silence(uuid.uuid4().hex[:12], tuple(matchers), start, start + duration, created_by, comment, now)
    wh.con.execute(
        "INSERT INTO alert_silences VALUES (?, ?, ?, ?, ?, ?, ?)",
        [sil.id, json.dumps([m.__dict__ for m in sil.matchers]), sil.starts_at, sil.ends_at,
         sil.created_by, sil.comment, sil.created_at],
    )
    return sil


def list_silences(wh: Warehouse, *, include_expired: bool = False, now: datetime | None = None) -> list[Silence]:
    now = now or utcnow()
    sql = "SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at FROM alert_silences"
    params: list[Any] = []
    if not include_expired:
        sql += " WHERE ends_at > ?"
        params.append(now)
    rows = wh.con.execute(sql + " ORDER BY created_at", params).fetchall()
    return [
        Silence(r[0], tuple(Matcher(**m) for m in json.loads(r[1])), r[2], r[3], r[4], r[5], r[6]) for r in rows
    ]


def expire_silence(wh: Warehouse, silence_id: str) -> Silence:
    now = utcnow()
    found = [s for s in list_silences(wh, include_expired=True) if s.id == silence_id]
    if not found:
        raise KeyError(f"no silence with id {silence_id!r}")
    if found[0].ends_at <= now:
        raise ValueError(f"silence {silence_id} has already expired")
    wh.con.execute("UPDATE alert_silences SET ends_at = ? WHERE id = ?", [now, silence_id])
    return Silence(**{**found[0].__dict__, "ends_at": now})


def silenced_by(labels: dict[str, str], silences: list[Silence], now: datetime) -> str | None:
    """Id of the first active silence muting these labels, else None."""
    for s in silences:
        if s.active(now) and s.mutes(labels):
            return s.id
    return None
