"""The OTel SDK side of the demo: SDK spans from requests, and the OTLP exporters.

`SpanBuilder` turns a simulated request into an SDK `ReadableSpan` carrying its
historical start and end; `Exporters` hands each sending thread its own
exporter (HTTP/protobuf or gRPC), since an HTTP session is not shared safely
across threads.
"""

from __future__ import annotations

import threading
from urllib.parse import urlparse

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from inferledger.demo.fleet import Request
from inferledger.demo.vocabularies import resource_attributes, scope_of, span_attributes, span_kind_name, span_name

PROTOCOLS = ("http/protobuf", "grpc")
_KINDS = {"CLIENT": SpanKind.CLIENT, "INTERNAL": SpanKind.INTERNAL}
_ERROR_TEXT = {"429": "429 Too Many Requests: rate limit exceeded", "timeout": "Request timed out",
               "500": "500 Internal Server Error"}


class EmitError(RuntimeError):
    """The fleet could not be sent (bad endpoint, nothing reachable)."""


class SpanBuilder:
    """Request -> SDK ReadableSpan, sharing Resource and scope objects between spans."""

    def __init__(self) -> None:
        self._resources: dict[tuple, Resource] = {}
        self._scopes: dict[tuple[str, str], InstrumentationScope] = {}

    def build(self, req: Request) -> ReadableSpan:
        rattrs = resource_attributes(req)
        rkey = tuple(rattrs.items())
        resource = self._resources.get(rkey)
        if resource is None:
            resource = self._resources[rkey] = Resource(rattrs)
        skey = scope_of(req)
        scope = self._scopes.get(skey)
        if scope is None:
            scope = self._scopes[skey] = InstrumentationScope(*skey)
        flags = TraceFlags(TraceFlags.SAMPLED)
        parent = (SpanContext(req.trace_id, req.parent_span_id, is_remote=False, trace_flags=flags)
                  if req.parent_span_id else None)
        status = (Status(StatusCode.ERROR, _ERROR_TEXT.get(req.error_type, req.error_type))
                  if req.error_type else Status(StatusCode.UNSET))
        return ReadableSpan(
            name=span_name(req),
            context=SpanContext(req.trace_id, req.span_id, is_remote=False, trace_flags=flags),
            parent=parent, resource=resource, attributes=span_attributes(req),
            kind=_KINDS[span_kind_name(req)], status=status, start_time=req.start_ns, end_time=req.end_ns,
            instrumentation_scope=scope,
        )


class Exporters:
    """Per-thread OTLP exporters (an HTTP session is not shared across threads)."""

    def __init__(self, protocol: str, http_endpoint: str, grpc_endpoint: str | None,
                 tenant_token: str | None, timeout_s: float) -> None:
        if protocol not in PROTOCOLS:
            raise EmitError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        parsed = urlparse(http_endpoint or "")
        if protocol == "http/protobuf" and (parsed.scheme not in ("http", "https") or not parsed.netloc):
            raise EmitError(f"http_endpoint must be a base URL such as http://127.0.0.1:4318, got {http_endpoint!r}")
        self.protocol = protocol
        self.base = http_endpoint.rstrip("/") if http_endpoint else ""
        if protocol == "grpc" and not grpc_endpoint:
            host = parsed.hostname or "127.0.0.1"
            grpc_endpoint = f"{host}:4317"
        self.grpc_endpoint = grpc_endpoint
        self.headers = {"authorization": f"Bearer {tenant_token}"} if tenant_token else {}
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self.grpc_endpoint if self.protocol == "grpc" else self.base

    def spans(self):
        exp = getattr(self._local, "spans", None)
        if exp is None:
            if self.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
                exp = GrpcSpans(endpoint=self.grpc_endpoint, insecure=True, headers=self.headers or None,
                                timeout=self.timeout_s)
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
                exp = OTLPSpanExporter(endpoint=f"{self.base}/v1/traces", headers=self.headers,
                                       timeout=self.timeout_s)
            self._local.spans = exp
            with self._lock:
                self._all.append(exp)
        return exp

    def metrics(self):
        exp = getattr(self._local, "metrics", None)
        if exp is None:
            if self.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics
                exp = GrpcMetrics(endpoint=self.grpc_endpoint, insecure=True, headers=self.headers or None,
                                  timeout=self.timeout_s)
            else:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
                exp = OTLPMetricExporter(endpoint=f"{self.base}/v1/metrics", headers=self.headers,
                                         timeout=self.timeout_s)
            self._local.metrics = exp
            with self._lock:
                self._all.append(exp)
        return exp

    def shutdown(self) -> None:
        with self._lock:
            for exp in self._all:
                try:
                    exp.shutdown()
                except Exception:
                    pass
            self._all.clear()
