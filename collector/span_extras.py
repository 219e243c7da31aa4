"""What the collector reads from a span beyond its attribute slots: span events and JSON
strings some instrumentations put whole into one attribute (OpenInference's invocation
parameters and response body). Only ids, flags and times are read; the text is not kept."""

from __future__ import annotations

import json
from typing import Any

from inferledger.collector.attributes import to_float, to_str
from inferledger.collector.vocabularies import TTFT_EVENTS


def event_ttft(span: Any) -> float | None:
    """Seconds from span start to the earliest first-token event (OpenInference's
    "First Token Stream Event"); only the event time is read, never its attributes."""
    first = None
    for ev in span.events:
        if ev.name in TTFT_EVENTS and ev.time_unix_nano >= span.start_time_unix_nano:
            if first is None or ev.time_unix_nano < first:
                first = ev.time_unix_nano
    return None if first is None else (first - span.start_time_unix_nano) / 1e9


def invocation(raw: Any) -> dict[str, Any] | None:
    """OpenInference's invocation parameters: a JSON object string (or an already-decoded map)."""
    if isinstance(raw, dict):
        return raw
    if type(raw) is str and raw[:1] == "{":
        try:
            d = json.loads(raw)
        except ValueError:
            return None
        return d if isinstance(d, dict) else None
    return None


def invocation_user(inv: dict[str, Any]) -> str | None:
    """The end user a request named: OpenAI's `user`, Anthropic's `metadata.user_id`."""
    u = inv.get("user")
    if u is None:
        md = inv.get("metadata")
        u = md.get("user_id") if isinstance(md, dict) else None
    return to_str(u) if isinstance(u, (str, int)) else None


_MAX_BODY = 1 << 20


def body_id(raw: Any) -> str | None:
    """The top-level "id" of a JSON response body (OpenInference's output.value); the body
    itself is content and is not kept."""
    if type(raw) is not str or raw[:1] != "{" or len(raw) > _MAX_BODY:
        return None
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    rid = d.get("id") if isinstance(d, dict) else None
    return rid if type(rid) is str and rid else None


def fallback_ttft(span: Any, ms: Any, rest: dict[str, Any]) -> float | None:
    """Time to first token when no seconds attribute carries it: milliseconds (Vercel's
    ai.response.msToFirstChunk), else the first-token span event."""
    if ms is not None:
        v = to_float(ms[2])
        if v is not None and v >= 0:
            return v / 1000.0
        rest[ms[1]] = ms[2]
    return event_ttft(span) if span.events else None
