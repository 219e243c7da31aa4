"""What every normalizer returns, and the context it runs in.

Shared by the trace, metric and log normalizers; the receivers read `rejected`
and `errors` for OTLP partial_success and hand `rows` to the writer.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inferledger.collector.settings import AttributionSettings, IngestSettings

MAX_ERRORS = 10
EPOCH = datetime(1970, 1, 1)
MAX_UNIX_NS = 253402300799 * 10**9  # 9999-12-31T23:59:59: later does not fit a TIMESTAMP


@dataclass
class IngestContext:
    tenant: str
    ingest: IngestSettings
    attribution: AttributionSettings
    received_at: datetime  # naive UTC; goes into ingested_at


@dataclass
class NormalizedBatch:
    rows: list[tuple] = field(default_factory=list)  # tuples in the target table's column order
    rejected: int = 0  # items rejected (OTLP partial_success)
    errors: list[str] = field(default_factory=list)  # at most MAX_ERRORS human messages
    skipped: int = 0  # valid items that are not inference data (not stored, not an error)
    unmapped_spans: int = 0  # inference-looking spans no vocabulary could map (not stored)
    # the same, per instrumentation scope: (scope name, scope version) -> spans ('' when absent)
    unmapped_span_scopes: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    # (scope name, scope version, key pattern) -> spans that carried it
    unmapped_keys: collections.Counter[tuple[str, str, str]] = field(default_factory=collections.Counter)
    unmapped_keys_dropped: int = 0  # keys beyond the per-span cap: not counted by name

    def count_unmapped_span(self, scope: tuple[str | None, str | None]) -> None:
        self.unmapped_spans += 1
        self.unmapped_span_scopes[(scope[0] or "", scope[1] or "")] += 1

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    @property
    def error_message(self) -> str:
        return partial_success_message(self.errors, self.rejected)


def partial_success_message(errors: list[str], rejected: int) -> str:
    """One line for OTLP partial_success.error_message: the first messages, then a count."""
    if not errors:
        return ""
    more = rejected - len(errors)
    return "; ".join(errors) + (f"; and {more} more" if more > 0 else "")


def ns_to_datetime(ns: int) -> datetime:
    """Unix nanoseconds -> naive UTC datetime, truncated to microseconds."""
    return EPOCH + timedelta(microseconds=ns // 1000)
