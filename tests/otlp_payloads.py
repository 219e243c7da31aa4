"""OTLP traffic for tests, made by the real OpenTelemetry SDK where it can be."""

from __future__ import annotations

import secrets
import time

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


def genai_spans(n: int, *, model: str = "gpt-4o-mini", team: str = "search", start_ns: int | None = None) -> list[ReadableSpan]:
    """`n` finished chat spans in the current OTel GenAI vocabulary."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "chat-api", "team": team}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    t0 = start_ns or time.time_ns() - 60_000_000_000
    for i in range(n):
        span = tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, start_time=t0 + i * 1_000_000)
        span.set_attributes({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "gen_ai.response.model": model,
            "gen_ai.usage.input_tokens": 100 + i,
            "gen_ai.usage.output_tokens": 20,
            "gen_ai.response.finish_reasons": ["stop"],
            "feature": "answers",
        })
        span.end(end_time=t0 + i * 1_000_000 + 500_000_000)
    provider.shutdown()
    return list(memory.get_finished_spans())


def traces_request_bytes(spans: list[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


def json_trace_payload(spans: list[dict]) -> dict:
    """A hand-written OTLP/JSON body: hex ids, 64-bit ints as strings, enums as ints."""
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
            "scopeSpans": [{"scope": {"name": "handwritten"}, "spans": spans}],
        }]
    }


def json_span(model: str = "claude-sonnet-4", *, trace_id: str | None = None, span_id: str | None = None,
              input_tokens: object = "1200") -> dict:
    now = time.time_ns()
    return {
        "traceId": trace_id or secrets.token_hex(16),
        "spanId": span_id or secrets.token_hex(8),
        "name": f"chat {model}",
        "kind": 3,
        "startTimeUnixNano": str(now - 2_000_000_000),
        "endTimeUnixNano": now,
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.provider.name", "value": {"stringValue": "anthropic"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": model}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": input_tokens}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 300}},
            {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "800"}},
        ],
        "status": {"code": 2, "message": "overloaded"},
    }
