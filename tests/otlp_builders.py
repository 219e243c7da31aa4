"""Build real OTLP request messages for the normalization tests.

Two ways, both real: hand-built protobuf messages (for shapes an SDK will not
produce: bad ids, doubles and strings as token counts, dcgm series) and the
OpenTelemetry SDK's own spans run through the OTLP exporter's encoder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from inferledger.collector.ingest_batch import IngestContext
from inferledger.collector.settings import AttributionSettings, IngestSettings

T0 = 1_763_000_000_000_000_000  # 2025-11-13T02:13:20Z in unix nanoseconds


def ctx(tenant: str = "acme", **ingest: Any) -> IngestContext:
    attribution = ingest.pop("attribution", None) or AttributionSettings()
    return IngestContext(
        tenant=tenant,
        ingest=IngestSettings(**ingest),
        attribution=attribution,
        received_at=datetime(2026, 1, 1, 12, 0, 0),
    )


def any_value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, str):
        return AnyValue(string_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(x) for x in v]))
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=kvs(v)))
    raise TypeError(type(v))


def kvs(d: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in d.items()]


_counter = [0]


def span(
    attrs: dict[str, Any],
    name: str = "chat gpt-4o",
    *,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    start: int = T0,
    duration_ns: int = 1_500_000_000,
    status: int = 0,
    message: str = "",
    kind: int = trace_pb2.Span.SPAN_KIND_CLIENT,
    parent: bytes = b"",
    events: list[trace_pb2.Span.Event] | None = None,
) -> trace_pb2.Span:
    _counter[0] += 1
    n = _counter[0]
    return trace_pb2.Span(
        trace_id=trace_id if trace_id is not None else n.to_bytes(16, "big"),
        span_id=span_id if span_id is not None else (n + 1000).to_bytes(8, "big"),
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ns if start else duration_ns,
        attributes=kvs(attrs),
        status=trace_pb2.Status(code=status, message=message),
        events=events or [],
    )


def traces(spans: list[trace_pb2.Span], resource: dict[str, Any] | None = None, scope: str = "test") -> ExportTraceServiceRequest:
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    return ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=Resource(attributes=kvs(resource or {"service.name": "chat-api"})),
                scope_spans=[trace_pb2.ScopeSpans(scope=InstrumentationScope(name=scope), spans=spans)],
            )
        ]
    )


def sdk_traces(
    spans: list[tuple[str, dict[str, Any]]],
    resource: dict[str, Any] | None = None,
    scope: str = "test.instrumentation",
    error: Exception | None = None,
) -> ExportTraceServiceRequest:
    """Record spans with the real SDK and encode them with the OTLP exporter's encoder."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, Status, StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource or {"service.name": "chat-api"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(scope)
    for name, attrs in spans:
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attrs, record_exception=False,
                                          set_status_on_exception=False) as s:
            if error is not None:
                s.record_exception(error)
                s.set_status(Status(StatusCode.ERROR, str(error)))
    provider.shutdown()
    return encode_spans(exporter.get_finished_spans())


def gauge(name: str, points: list[tuple[dict[str, Any], float | int, int]], unit: str = "") -> metrics_pb2.Metric:
    return metrics_pb2.Metric(name=name, unit=unit, gauge=metrics_pb2.Gauge(data_points=[_ndp(a, v, t) for a, v, t in points]))


def counter(name: str, points: list[tuple[dict[str, Any], float | int, int]], unit: str = "") -> metrics_pb2.Metric:
    return metrics_pb2.Metric(
        name=name,
        unit=unit,
        sum=metrics_pb2.Sum(
            data_points=[_ndp(a, v, t) for a, v, t in points],
            is_monotonic=True,
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE,
        ),
    )


def _ndp(attrs: dict[str, Any], value: float | int, t: int) -> metrics_pb2.NumberDataPoint:
    if isinstance(value, int):
        return metrics_pb2.NumberDataPoint(attributes=kvs(attrs), time_unix_nano=t, as_int=value)
    return metrics_pb2.NumberDataPoint(attributes=kvs(attrs), time_unix_nano=t, as_double=value)


def metrics(ms: list[metrics_pb2.Metric], resource: dict[str, Any] | None = None) -> ExportMetricsServiceRequest:
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    return ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=Resource(attributes=kvs(resource or {"service.name": "dcgm-exporter"})),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=ms)],
            )
        ]
    )


def logs(records: list[logs_pb2.LogRecord], resource: dict[str, Any] | None = None) -> ExportLogsServiceRequest:
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    return ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=Resource(attributes=kvs(resource or {"service.name": "chat-api"})),
                scope_logs=[logs_pb2.ScopeLogs(log_records=records)],
            )
        ]
    )

