"""Prompt and completion text never reaches the warehouse unless `ingest.capture_content` is on.

A marker string goes through every content path we know (each vocabulary's keys,
indexed and array forms, span events, the status message, log bodies and log
attributes), over OTLP/HTTP protobuf and JSON; then every column of every table
is searched for it. With capture on, the same scan must find it (the scan works).
"""

from __future__ import annotations

import base64

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.harness import running_service
from tests.otlp_builders import T0, kvs, logs, span, traces

MARKER = "Zq9xSECRETPROMPTx9qZ"
M = MARKER
MESSAGES = [{"message.role": "user", "message.content": M}]
CONTENT_ATTRS = [
    {"gen_ai.input.messages": f'[{{"role":"user","parts":[{{"type":"text","content":"{M}"}}]}}]'},
    {"gen_ai.output.messages": M}, {"gen_ai.system_instructions": M},
    {"gen_ai.prompt": M}, {"gen_ai.completion": M},
    {"gen_ai.prompt.0.content": M, "gen_ai.prompt.0.role": "user"}, {"gen_ai.completion.0.content": M},
    {"gen_ai.tool.call.arguments": M}, {"gen_ai.tool.call.result": M},
    {"llm.input_messages": MESSAGES}, {"llm.output_messages": MESSAGES},
    {"llm.input_messages.0.message.content": M}, {"llm.output_messages.0.message.content": M},
    {"input.value": M}, {"output.value": M}, {"llm.prompts": [M]},
    {"traceloop.entity.input": M}, {"traceloop.entity.output": M},
    {"ai.prompt": f'{{"prompt":"{M}"}}'}, {"ai.prompt.messages": M}, {"ai.response.text": M},
    {"ai.response.toolCalls": M}, {"ai.response.object": M}, {"ai.toolCall.args": M},
    {"retrieval.documents.0.document.content": M},
]


def _trace_request():
    spans = []
    for i, attrs in enumerate(CONTENT_ATTRS):
        spans.append(span({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 3, **attrs},
                          name=f"chat {i}", trace_id=(i + 1).to_bytes(16, "big")))
    event = trace_pb2.Span.Event(time_unix_nano=T0 + 1, name="exception", attributes=kvs(
        {"exception.type": "ValueError", "exception.message": M, "exception.stacktrace": M}))
    prompt_event = trace_pb2.Span.Event(time_unix_nano=T0 + 2, name="gen_ai.content.prompt",
                                        attributes=kvs({"gen_ai.prompt": M}))
    spans.append(span({"gen_ai.request.model": "gpt-4o"}, name="errored", status=2, message=f"400: {M}",
                      events=[event, prompt_event], trace_id=(999).to_bytes(16, "big")))
    return traces(spans)


def _log_request():
    records = [
        logs_pb2.LogRecord(time_unix_nano=T0, event_name="gen_ai.user.message", body=kvs({"content": M})[0].value),
        logs_pb2.LogRecord(time_unix_nano=T0, event_name="gen_ai.choice",
                           attributes=kvs({"llm.input_messages": MESSAGES, "gen_ai.event.content": M,
                                           "ai.response.text": M, "exception.message": M})),
    ]
    return logs(records)


def _json(msg) -> dict:
    """protobuf's JSON mapping with OTLP/JSON's hex ids."""
    doc = json_format.MessageToDict(msg)

    def fix(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("traceId", "spanId") and isinstance(v, str):
                    node[k] = base64.b64decode(v).hex()
                else:
                    fix(v)
        elif isinstance(node, list):
            for x in node:
                fix(x)

    fix(doc)
    return doc


def _send_everything(eps) -> None:
    pb = {"Content-Type": "application/x-protobuf"}
    for path, req in (("traces", _trace_request()), ("logs", _log_request())):
        r = httpx.post(f"{eps.http}/v1/{path}", content=req.SerializeToString(), headers=pb)
        assert r.status_code == 200, r.text
        r = httpx.post(f"{eps.http}/v1/{path}", json=_json(req), headers={"x-inferledger-tenant": "json"})
        assert r.status_code == 200, r.text


def _columns_holding(con, needle: str) -> list[str]:
    hits = []
    cols = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall()
    for table, column in cols:
        n = con.execute(f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?',
                        [f"%{needle}%"]).fetchone()[0]
        if n:
            hits.append(f"{table}.{column}")
    return hits


@pytest.mark.slow
def test_marker_sent_through_every_content_path_is_stored_nowhere(tmp_path):
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        _send_everything(eps)
        con = service.state.warehouse.cursor()
        n_spans = con.execute("SELECT count(*) FROM spans").fetchone()[0]
        assert n_spans == 2 * (len(CONTENT_ATTRS) + 1)  # every span stored, only its content dropped
        assert con.execute("SELECT count(*) FROM log_records").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM spans WHERE error_type = 'ValueError'").fetchone()[0] == 2
        assert _columns_holding(con, MARKER) == []


@pytest.mark.slow
def test_the_scan_finds_the_marker_when_capture_is_on(tmp_path):
    with running_service(tmp_path / "w.duckdb", **{"ingest.capture_content": True}) as (service, eps):
        _send_everything(eps)
        hits = _columns_holding(service.state.warehouse.cursor(), MARKER)
        assert "spans.content" in hits and "log_records.body" in hits and "spans.status_message" in hits
