"""What both receivers share: authentication, preparation and the wait for the commit.

The HTTP and gRPC receivers differ only in framing and in how they spell errors;
everything that decides what is stored, and when it is acknowledged, lives here.
"""

from __future__ import annotations

import asyncio
import hmac
import re

from inferledger.collector import telemetry
from inferledger.collector.decode import DecodeError, Encoding
from inferledger.collector.prepare import PreparedPayload, PreparePool, WorkersUnavailable
from inferledger.collector.settings import AttributionSettings, AuthSettings, IngestSettings
from inferledger.collector.writer import IngestWriter, QueueFull, WriteBatch, WriterStopped

__all__ = [
    "AuthError", "CommitFailed", "DecodeError", "IngestPipeline", "QueueFull", "WorkersUnavailable", "WriterStopped",
]


_TENANT_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class AuthError(Exception):
    """Missing or wrong bearer token (HTTP 401 / gRPC UNAUTHENTICATED)."""


class CommitFailed(Exception):
    """The transaction holding this request failed; nothing of it is stored (retryable)."""


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
        self.auth = auth
        self._tokens = dict(auth.tokens)
        self._seen_tenants: set[str] = set()
        self._pool = PreparePool(ingest.workers, ingest, attribution)
        self.inflight_bytes = 0  # raw bytes of requests being read or decoded (one event loop: no lock)

    def reserve(self, n: int) -> None:
        """Hold `n` more raw bytes, or raise QueueFull (429) when the in-flight bound would be passed.

        A request alone is always taken (the bound may be below max_body_bytes).
        """
        limit = self.ingest.max_inflight_bytes
        if self.inflight_bytes and self.inflight_bytes + n > limit:
            telemetry.INGEST_REJECTED.labels("any", "inflight_bytes").inc()
            raise QueueFull(f"{self.inflight_bytes} request bytes in flight, limit {limit} (ingest.max_inflight_bytes)")
        self.inflight_bytes += n

    def release(self, n: int) -> None:
        self.inflight_bytes -= n

    def tenant_for(self, authorization: str | None, tenant_header: str | None) -> str:
        """Tenant of a request: from its bearer token when auth is on, else from a header."""
        if not self.auth.enabled:
            return self._header_tenant((tenant_header or "").strip() or self.auth.default_tenant)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
        for known, tenant in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return tenant
        raise AuthError("invalid bearer token")

    def _header_tenant(self, tenant: str) -> str:
        """A tenant named by a client (auth off): a short plain name, and a bounded number of them."""
        if tenant in self._seen_tenants:
            return tenant
        if not _TENANT_RE.fullmatch(tenant):
            raise DecodeError(400, f"tenant name {tenant[:80]!r} is invalid: 1-64 characters of A-Z a-z 0-9 . _ -")
        if len(self._seen_tenants) >= self.auth.max_tenants:
            raise DecodeError(400, f"more than {self.auth.max_tenants} tenants (auth.max_tenants): turn on [auth]")
        self._seen_tenants.add(tenant)
        return tenant

    async def ingest_body(
        self, signal: str, body: bytes, encoding: Encoding, content_encoding: str | None, tenant: str
    ) -> PreparedPayload:
        """Decode, normalize, commit; returns only once the rows are committed.

        Raises DecodeError (4xx), QueueFull (429), WriterStopped, CommitFailed or
        WorkersUnavailable (503).
        """
        self.writer.expect(1)  # the writer may hold its commit open a moment for this request
        try:
            prepared = await self._pool.prepare(signal, body, encoding, content_encoding, tenant)
        except DecodeError as exc:
            telemetry.INGEST_REJECTED.labels(signal, "too_large" if exc.status == 413 else "undecodable").inc()
            raise
        finally:
            self.writer.expect(-1)
        if prepared.rejected:
            telemetry.INGEST_REJECTED.labels(signal, "invalid_item").inc(prepared.rejected)
        if prepared.skipped:
            telemetry.INGEST_SKIPPED.labels(signal).inc(prepared.skipped)
        if prepared.unmapped_spans:
            telemetry.count_unmapped_spans(tenant, prepared.unmapped_span_scopes)
        if prepared.unmapped_keys:
            self.writer.unmapped.add(tenant, prepared.unmapped_keys)  # counted in memory, flushed in bulk
        if not prepared.accepted:
            return prepared
        batch = WriteBatch(tenant=tenant, tables=prepared.tables)
        try:
            future = self.writer.submit(batch)
        except QueueFull:
            telemetry.INGEST_REJECTED.labels(signal, "queue_full").inc()
            raise
        try:
            await asyncio.wrap_future(future)
        except Exception as exc:
            telemetry.INGEST_REJECTED.labels(signal, "commit_failed").inc()
            raise CommitFailed(f"could not commit the batch: {type(exc).__name__}: {exc}") from exc
        telemetry.INGEST_ITEMS.labels(signal, tenant).inc(prepared.accepted)
        return prepared

    def close(self) -> None:
        self._pool.close()
