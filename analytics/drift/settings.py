"""The `[analytics.drift]` configuration section.

Example::

    [analytics.drift]
    reference_mode = "pinned"                 # or "rolling" (default)
    reference_start = "2026-11-01T00:00:00"   # pinned baseline, naive UTC
    reference_end = "2026-11-08T00:00:00"
    current_window = "1h"
    segment_keys = ["service_name", "model"]
    attribute_columns = ["app.prompt_template"]
    [analytics.drift.columns.input_tokens]
    method = "psi"
    threshold = 0.2
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# Segment keys a user may choose: name -> column of `spans` (a fixed whitelist: never SQL from config).
SEGMENT_KEYS: dict[str, str] = {  # key -> its SQL over `spans AS s`
    "service_name": "s.service_name",
    "model": "coalesce(s.request_model, s.response_model)",  # the model asked for: one segment per alias
    "request_model": "s.request_model",
    "response_model": "s.response_model",
    "provider": "s.provider",
    "operation": "s.operation",
    "deployment_environment": "s.deployment_environment",
    "team": "s.team",
    "feature": "s.feature",
    "server_address": "s.server_address",
}

KNOWN_METHODS = ("ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z")


def parse_duration(text: str, where: str = "duration") -> timedelta:
    """'90s', '30m', '1h', '1d', '2w' -> timedelta; a clear error otherwise."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{where}: expected a duration like '30m', '1h' or '1d', got {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass
class DriftColumnSettings:
    """Per-column override: method (ks, wasserstein, psi, jensenshannon, chisquare, z) and threshold."""

    method: str = ""
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.method and self.method not in KNOWN_METHODS:
            raise ValueError(f"method: unknown drift method {self.method!r} (known: {', '.join(KNOWN_METHODS)})")


@dataclass
class DriftSettings:
    enabled: bool = True
    # rolling: reference = the window just before the current one; pinned: a fixed baseline period
    reference_mode: Literal["rolling", "pinned"] = "rolling"
    reference_start: str = ""  # pinned mode, ISO 8601 naive UTC
    reference_end: str = ""
    # the trailing day: full daily cycles on both sides (no time-of-day false drift), enough spans per segment
    current_window: str = "1d"
    # rolling mode: length of the window just before the current one (a week spans weekly seasonality)
    reference_window: str = "7d"
    segment_keys: list[str] = field(default_factory=lambda: ["service_name", "model"])
    attribute_columns: list[str] = field(default_factory=list)  # span attribute keys, categorical
    numeric_attribute_columns: list[str] = field(default_factory=list)  # span attribute keys, numeric
    columns: dict[str, DriftColumnSettings] = field(default_factory=dict)
    min_rows: int = 100  # both windows of a segment need this many spans to be tested
    max_rows: int = 1_000_000  # per window and segment; above it a seeded sample is taken
    severity: Literal["page", "ticket", "info"] = "ticket"
    alert_columns: list[str] = field(default_factory=list)  # columns that raise alerts; empty: every column
    report_sample_rows: int = 20_000  # rows per side in `inferledger drift report`

    def __post_init__(self) -> None:
        parse_duration(self.current_window, "current_window")
        parse_duration(self.reference_window, "reference_window")
        for key in self.segment_keys:
            if key not in SEGMENT_KEYS:
                raise ValueError(f"segment_keys: unknown key {key!r} (known: {', '.join(SEGMENT_KEYS)})")
        if self.reference_mode == "pinned":
            start, end = self.pinned_range()
            if end <= start:
                raise ValueError("reference_end must be after reference_start")
        if self.min_rows < 1:
            raise ValueError("min_rows must be >= 1")
        if self.max_rows < self.min_rows:
            raise ValueError("max_rows must be >= min_rows")
        if self.report_sample_rows < 1:
            raise ValueError("report_sample_rows must be >= 1")
        for name in list(self.attribute_columns) + list(self.numeric_attribute_columns):
            if not name or '"' in name:
                raise ValueError(f"attribute_columns: invalid attribute key {name!r}")

    def pinned_range(self) -> tuple[datetime, datetime]:
        out = []
        for name in ("reference_start", "reference_end"):
            value = getattr(self, name)
            if not value:
                raise ValueError(f"{name} is required when reference_mode = 'pinned'")
            try:
                out.append(datetime.fromisoformat(value).replace(tzinfo=None))
            except ValueError:
                raise ValueError(f"{name}: expected an ISO 8601 time, got {value!r}") from None
        return out[0], out[1]
