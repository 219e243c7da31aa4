"""The collector's own Prometheus metrics (served on the admin address's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INGEST_ITEMS = Counter(
    "inferledger_ingest_spans",  # exported as inferledger_ingest_spans_total
    "Items acknowledged after commit, per signal (spans, gpu samples, metric points, log records).",
    ["signal", "tenant"],
)
INGEST_REJECTED = Counter(
    "inferledger_ingest_rejected",
    "Items or requests rejected, per signal and reason.",
    ["signal", "reason"],
)
INGEST_REQUESTS = Counter(
    "inferledger_ingest_requests",
    "Export requests answered, per transport, signal and status code.",
    ["transport", "signal", "code"],
)
INGEST_SKIPPED = Counter(
    "inferledger_ingest_skipped",
    "Valid items that carry no inference meaning and are not stored.",
    ["signal"],
)
UNMAPPED_SPANS = Counter(
    "inferledger_ingest_unmapped_spans",
    "Inference-looking spans whose attributes no vocabulary could map, per instrumentation scope.",
    ["tenant", "scope", "scope_version"],
)
# Scope names come from clients: past this many distinct (scope, version) label pairs the rest
# are counted under scope "_other", so a client cannot grow /metrics without bound.
MAX_UNMAPPED_SCOPE_LABELS = 100
_scope_labels: set[tuple[str, str]] = set()


def count_unmapped_spans(tenant: str, by_scope: dict[tuple[str, str], int]) -> None:
    """Add unmapped-span counts to UNMAPPED_SPANS, by (scope name, scope version), label pairs capped."""
    for (name, version), n in by_scope.items():
        pair = (name, version)
        if pair not in _scope_labels:
            if len(_scope_labels) >= MAX_UNMAPPED_SCOPE_LABELS:
                pair = ("_other", "")
            else:
                _scope_labels.add(pair)
        UNMAPPED_SPANS.labels(tenant, *pair).inc(n)
QUEUE_DEPTH = Gauge("inferledger_ingest_queue_depth", "Export requests waiting for the group commit.")
COMMIT_SECONDS = Histogram(
    "inferledger_ingest_commit_seconds",
    "Duration of one group commit.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
COMMIT_ROWS = Histogram(
    "inferledger_ingest_commit_rows",
    "Rows written by one group commit.",
    buckets=(1, 10, 100, 500, 1000, 5000, 10000, 50000, 200000),
)
