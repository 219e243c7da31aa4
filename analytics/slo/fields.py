"""Field-by-field validation of spec YAML: every failure names the field path."""

from __future__ import annotations

import re
from typing import Any

from inferledger.analytics.slo.model import (
    ALERT_NAME_RE,
    CALENDAR_MONTH,
    FILTER_COLUMNS,
    LABEL_RE,
    WINDOW_PLACEHOLDER,
    WINDOW_RE,
    AlertSpec,
    PromSLI,
    SLOSpec,
    SpecError,
)
from inferledger.analytics.slo.promfmt import parse_duration, prom_duration_seconds


def fail(where: str, problem: str) -> SpecError:
    return SpecError(f"{where}: {problem}")


def join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def mapping(value: Any, where: str, *, required: bool = True) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise fail(where, f"expected a mapping, got {type(value).__name__}")
    return value


def known(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise fail(join(where, unknown[0]), f"unknown key (known keys: {', '.join(sorted(allowed))})")


def string_field(value: Any, where: str, *, required: bool = True, pattern: re.Pattern | None = None) -> str:
    if value is None or value == "":
        if required:
            raise fail(where, "is required")
        return ""
    if not isinstance(value, str):
        raise fail(where, f"expected a string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise fail(where, f"{value!r} does not match {pattern.pattern}")
    return value


def label_map(value: Any, where: str) -> dict[str, str]:
    data = mapping(value, where, required=False)
    out = {}
    for k, v in data.items():
        if not isinstance(k, str) or not LABEL_RE.match(k):
            raise fail(join(where, str(k)), "label names must match [A-Za-z_][A-Za-z0-9_]*")
        if isinstance(v, (dict, list)) or v is None:
            raise fail(join(where, k), "label values must be scalars")
        out[k] = str(v)
    return out


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(where, f"expected a number, got {value!r}")
    return float(value)


def objective_percent(value: Any, where: str, *, allow_100: bool = True) -> float:
    """Sloth's range: 0 < objective <= 100 (100 means no error is allowed)."""
    pct = number(value, where)
    if not 0 < pct <= 100 or (pct == 100 and not allow_100):
        raise fail(where, f"must be a percentage > 0 and <= 100, got {value!r}")
    return pct


def period_of(value: Any, where: str, default: str = "30d") -> str:
    """A rolling period (any Prometheus duration of whole minutes: 7d, 2w, 28d, 30d) or a calendar month."""
    text = string_field(value, where, required=False) or default
    if text in ("month", "1M", CALENDAR_MONTH):
        return CALENDAR_MONTH
    try:
        secs = parse_duration(text)
    except ValueError as exc:
        raise fail(where, f"must be a duration such as 7d, 2w, 28d, 30d, or calendar_month: {exc}") from None
    if secs < 3600 or secs % 60:
        raise fail(where, f"must be a whole number of minutes and at least 1h, got {value!r}")
    return f"{secs // 86400}d" if secs % 86400 == 0 else prom_duration_seconds(secs)


def filter_spec(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    data = mapping(value, where, required=False)
    known(data, set(FILTER_COLUMNS), where)
    out = []
    for key in sorted(data):
        raw = data[key]
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise fail(join(where, key), "must not be an empty list")
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v:
                raise fail(join(where, key) + (f"[{i}]" if isinstance(raw, list) else ""),
                            f"expected a non-empty string, got {v!r}")
        out.append((key, tuple(values)))
    return tuple(out)


def events_spec(value: Any, where: str) -> PromSLI:
    data = mapping(value, where)
    known(data, {"error_query", "total_query"}, where)
    err = string_field(data.get("error_query"), join(where, "error_query"))
    tot = string_field(data.get("total_query"), join(where, "total_query"))
    for key, q in (("error_query", err), ("total_query", tot)):
        check_window(q, join(where, key))
    if err.strip() == tot.strip():
        raise fail(where, "error_query and total_query must differ")
    return PromSLI(error_query=err.strip(), total_query=tot.strip())


def check_window(query: str, where: str) -> None:
    """Sloth's rule: every SLI query has the `{{.window}}` template variable (spaces allowed)."""
    if not WINDOW_RE.search(query):
        raise fail(where, f"must contain {WINDOW_PLACEHOLDER} (the rate window; `{{{{ .window }}}}` also works)")


def alerting_spec(value: Any, where: str) -> AlertSpec:
    data = mapping(value, where, required=False)
    known(data, {"name", "labels", "annotations", "page_alert", "ticket_alert"}, where)
    sub = {}
    for sev in ("page_alert", "ticket_alert"):
        d = mapping(data.get(sev), join(where, sev), required=False)
        known(d, {"labels", "annotations", "disable"}, join(where, sev))
        disable = d.get("disable", False)
        if not isinstance(disable, bool):
            raise fail(join(join(where, sev), "disable"), f"expected true or false, got {disable!r}")
        sub[sev] = (label_map(d.get("labels"), join(join(where, sev), "labels")),
                    label_map(d.get("annotations"), join(join(where, sev), "annotations")), disable)
    return AlertSpec(
        name=string_field(data.get("name"), join(where, "name"), required=False, pattern=ALERT_NAME_RE),
        labels=label_map(data.get("labels"), join(where, "labels")),
        annotations=label_map(data.get("annotations"), join(where, "annotations")),
        page_labels=sub["page_alert"][0], page_annotations=sub["page_alert"][1],
        page_disabled=sub["page_alert"][2],
        ticket_labels=sub["ticket_alert"][0], ticket_annotations=sub["ticket_alert"][1],
        ticket_disabled=sub["ticket_alert"][2],
    )


def check_unique(specs: list[SLOSpec], where: str) -> list[SLOSpec]:
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise fail(where, f"two SLOs have the id {spec.id!r} (service-name must be unique)")
        seen.add(spec.id)
    return specs
