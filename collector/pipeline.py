"""What both receivers share: authentication, normalization and hand-off to the writer.

The HTTP and gRPC receivers differ only in framing and in how they spell errors;
everything that decides what is stored lives here.
"""

from __future__ import annotations

import hmac
from collections import Counter
from dataclasses import dataclass, field

from google.protobuf.message import Message

from analytics.warehouse import utcnow
from collector import telemetry
from collector.logs_normalize import normalize_logs
from collector.metrics_normalize import normalize_metrics
from collector.normalize import IngestContext, normalize_traces
from collector.settings import AttributionSettings, AuthSettings, IngestSettings
from collector.writer import IngestWriter, WriteBatch


class AuthError(Exception):
    """Missing or wrong bearer token (HTTP 401 / gRPC UNAUTHENTICATED)."""


@dataclass
class Prepared:
    batch: WriteBatch
    accepted: int
    rejected: int
    errors: list[str] = field(default_factory=list)

    @property
    def needs_write(self) -> bool:
        """Rows to store, or unmapped-key counts to record (even when no row is stored)."""
        return bool(self.accepted or self.batch.unmapped_keys)

    @property
    def error_message(self) -> str:
        if not self.errors:
            return ""
        more = f" (and {self.rejected - len(self.errors)} more)" if self.rejected > len(self.errors) else ""
        return "; ".join(self.errors) + more


class IngestPipeline:
    def __init__(
        self,
        writer: IngestWriter,
        ingest: IngestSettings,
        attribution: AttributionSettings,
        auth: AuthSettings,
    ) -> None:
        self.writer = writer
        self.ingest = ingest
        self.attribution = attribution
        self.auth = auth
        self._tokens = dict(auth.tokens)

    def tenant_for(self, authorization: str | None, tenant_header: str | None) -> str:
        """Tenant of a request: from its bearer token when auth is on, else from a header."""
        if not self.auth.enabled:
            return (tenant_header or "").strip() or self.auth.default_tenant
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
        for known, tenant in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return tenant
        raise AuthError("invalid bearer token")

    def prepare(self, signal: str, request: Message, tenant: str) -> Prepared:
        """Normalize a decoded request into one WriteBatch for the writer."""
        ctx = IngestContext(tenant=tenant, ingest=self.ingest, attribution=self.attribution, received_at=utcnow())
        if signal == "traces":
            spans = normalize_traces(request, ctx)
            parts = {"spans": spans}
            if spans.unmapped_spans:
                telemetry.UNMAPPED_SPANS.labels(tenant).inc(spans.unmapped_spans)
            unmapped = spans.unmapped_keys
        elif signal == "metrics":
            gpu, points = normalize_metrics(request, ctx)
            parts = {"gpu_samples": gpu, "metric_points": points}
            unmapped = Counter()
        else:
            parts = {"log_records": normalize_logs(request, ctx)}
            unmapped = Counter()
        rejected = sum(p.rejected for p in parts.values())
        skipped = sum(p.skipped for p in parts.values())
        errors = [e for p in parts.values() for e in p.errors][:10]
        if rejected:
            telemetry.INGEST_REJECTED.labels(signal, "invalid_item").inc(rejected)
        if skipped:
            telemetry.INGEST_SKIPPED.labels(signal).inc(skipped)
        batch = WriteBatch(tenant=tenant, rows={t: p.rows for t, p in parts.items()}, unmapped_keys=unmapped)
        return Prepared(batch=batch, accepted=batch.row_count, rejected=rejected, errors=errors)

    def record_stored(self, signal: str, tenant: str, n: int) -> None:
        telemetry.INGEST_ITEMS.labels(signal, tenant).inc(n)

