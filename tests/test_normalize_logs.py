"""Log normalization: every record stored, bodies and content keys only on opt-in."""

from __future__ import annotations

import json
from datetime import datetime

from opentelemetry.proto.logs.v1 import logs_pb2

from inferledger.collector.columns import LOG_COLUMNS
from inferledger.collector.logs_normalize import normalize_logs
from tests.otlp_builders import T0, any_value, ctx, kvs, logs


def record(**kw) -> logs_pb2.LogRecord:
    attrs = kw.pop("attrs", {})
    body = kw.pop("body", None)
    rec = logs_pb2.LogRecord(attributes=kvs(attrs), **kw)
    if body is not None:
        rec.body.CopyFrom(any_value(body))
    return rec


def test_genai_event_with_content_dropped_by_default_and_kept_on_opt_in():
    ev = record(time_unix_nano=T0, event_name="gen_ai.client.inference.operation.details", severity_number=9,
                severity_text="INFO", trace_id=b"\x0a" * 16, span_id=b"\x0b" * 8,
                attrs={"gen_ai.operation.name": "chat", "gen_ai.input.messages": "[{\"role\":\"user\"}]",
                       "gen_ai.request.model": "gpt-4o"},
                body={"content": "hello"})
    batch = normalize_logs(logs([ev]), ctx())
    (row,) = [dict(zip(LOG_COLUMNS, r)) for r in batch.rows]
    assert row["time"] == datetime(2025, 11, 13, 2, 13, 20)
    assert (row["trace_id"], row["span_id"]) == ("0a" * 16, "0b" * 8)
    assert (row["severity_number"], row["severity_text"]) == (9, "INFO")
    assert row["event_name"] == "gen_ai.client.inference.operation.details"
    assert row["service_name"] == "chat-api" and row["tenant"] == "acme"
    assert row["body"] is None
    assert json.loads(row["attributes"]) == {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}

    kept = normalize_logs(logs([ev]), ctx(capture_content=True))
    (row,) = [dict(zip(LOG_COLUMNS, r)) for r in kept.rows]
    assert json.loads(row["body"]) == {"content": "hello"}
    assert "gen_ai.input.messages" not in json.loads(row["attributes"])  # content never in attributes


def test_event_name_attribute_and_observed_time_fallback():
    rec = record(observed_time_unix_nano=T0, attrs={"event.name": "gen_ai.choice"})
    (row,) = [dict(zip(LOG_COLUMNS, r)) for r in normalize_logs(logs([rec]), ctx()).rows]
    assert row["event_name"] == "gen_ai.choice" and row["time"] == datetime(2025, 11, 13, 2, 13, 20)
    assert row["trace_id"] is None and row["severity_number"] is None


def test_bad_records_rejected_good_kept():
    good = record(time_unix_nano=T0, severity_text="WARN")
    batch = normalize_logs(logs([record(severity_text="ERROR"), good,
                                 record(time_unix_nano=T0, trace_id=b"\x01" * 3)]), ctx())
    assert batch.rejected == 2 and len(batch.rows) == 1
    assert "both 0" in batch.errors[0] and "trace_id is 3 bytes" in batch.errors[1]


def test_genai_event_from_the_real_sdk_encoder():
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "chat-api"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("genai")
    logger.emit(timestamp=T0, event_name="gen_ai.client.inference.operation.details",
                severity_number=SeverityNumber.INFO, body={"messages": [{"role": "user", "content": "secret"}]},
                attributes={"gen_ai.operation.name": "chat", "gen_ai.output.messages": "[\"secret\"]"})
    provider.shutdown()
    req = encode_logs(exporter.get_finished_logs())
    (row,) = [dict(zip(LOG_COLUMNS, r)) for r in normalize_logs(req, ctx()).rows]
    assert row["event_name"] == "gen_ai.client.inference.operation.details"
    assert row["severity_number"] == 9 and row["service_name"] == "chat-api"
    assert row["body"] is None and json.loads(row["attributes"]) == {"gen_ai.operation.name": "chat"}
    (kept,) = [dict(zip(LOG_COLUMNS, r)) for r in normalize_logs(req, ctx(capture_content=True)).rows]
    assert json.loads(kept["body"]) == {"messages": [{"role": "user", "content": "secret"}]}
