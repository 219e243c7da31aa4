"""Plausibility bounds on the numbers a client sends, checked once per row at the door.

A value no real inference call produces (INT64_MAX tokens, a negative cost, a
time to first token before the request) would otherwise be stored as it is and
break every sum the analytics jobs take over it. Such a span is rejected alone,
with a message naming the field, and its neighbours are stored (partial_success).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from inferledger.collector.columns import SPAN_COLUMNS


def _index(name: str) -> int:
    return SPAN_COLUMNS.index(name)


_TOKEN_COLUMNS = (
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "total_tokens",
)


class SpanBounds:
    """The bounds of IngestSettings compiled to column indices of the `spans` row tuple."""

    def __init__(self, ingest: Any) -> None:
        self.max_tokens = ingest.max_tokens_per_span
        self.max_cost = ingest.max_cost_usd_per_span
        self.max_duration = ingest.max_span_duration_s
        self.min_time = datetime.fromisoformat(ingest.min_timestamp)
        self.max_skew = timedelta(seconds=ingest.max_clock_skew_s)
        self._tokens = [(c, _index(c)) for c in _TOKEN_COLUMNS]
        self._start = _index("start_time")
        self._duration = _index("duration_s")
        self._ttft = _index("time_to_first_token_s")
        self._cost = _index("client_cost_usd")
        self._received: datetime | None = None  # the rows of one request share `received`
        self._future = datetime.max
        self._clock_future: datetime | None = None

    def problem(self, row: tuple, received: datetime) -> str | None:
        """Why `row` is implausible, or None when every bounded field is within its bounds.

        The future bound is taken from the later of `received` and the clock, read once per
        `received` (one request), when a row first starts beyond `received`.
        """
        for name, i in self._tokens:
            n = row[i]
            if n is not None and not 0 <= n <= self.max_tokens:
                return f"{name} {n} is outside 0..{self.max_tokens} (ingest.max_tokens_per_span)"
        cost = row[self._cost]
        if cost is not None and not 0 <= cost <= self.max_cost:
            return f"client cost {cost} USD is outside 0..{self.max_cost} (ingest.max_cost_usd_per_span)"
        duration = row[self._duration]
        if duration > self.max_duration:
            return f"duration {duration:.0f} s exceeds {self.max_duration} s (ingest.max_span_duration_s)"
        ttft = row[self._ttft]
        if ttft is not None and not 0 <= ttft <= self.max_duration:
            return f"time to first token {ttft} s is outside 0..{self.max_duration} s"
        start = row[self._start]
        if start < self.min_time:
            return f"start time {start.isoformat()} is before {self.min_time.date()} (ingest.min_timestamp)"
        if received is not self._received:
            self._received = received
            self._future = received + self.max_skew
            self._clock_future = None
        if start > self._future and start > self._clock_bound():
            return (f"start time {start.isoformat()} is more than {self.max_skew.total_seconds():.0f} s"
                    " in the future (ingest.max_clock_skew_s)")
        return None

    def _clock_bound(self) -> datetime:
        if self._clock_future is None:
            self._clock_future = datetime.now(UTC).replace(tzinfo=None) + self.max_skew
        return self._clock_future
