"""Property test over decode + normalize: whatever a client sends, no exception escapes
(it would be a 5xx) and the valid spans of the same request are all stored."""

from __future__ import annotations

import base64
import json

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1 import trace_pb2

from inferledger.collector.decode import DecodeError
from inferledger.collector.prepare import prepare_payload
from inferledger.collector.settings import AttributionSettings, IngestSettings
from inferledger.collector.vocabularies import SPAN_KEYS
from tests.otlp_builders import T0, span, traces

INGEST = IngestSettings()
KEYS = st.one_of(st.sampled_from(sorted(SPAN_KEYS)), st.sampled_from(
    ["ai.prompt", "llm.input_messages", "gen_ai.prompt.0.content", "ai.model.id", "team", "gen_ai.x.y"]),
    st.text(max_size=30))
SCALARS = st.one_of(
    st.builds(lambda v: AnyValue(string_value=v), st.text(max_size=40)),
    st.builds(lambda v: AnyValue(string_value=v), st.sampled_from(["9" * 40, "1e30", "-5", "NaN", "[\"stop\"]"])),
    st.builds(lambda v: AnyValue(int_value=v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: AnyValue(double_value=v), st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(lambda v: AnyValue(bool_value=v), st.booleans()),
    st.builds(lambda v: AnyValue(bytes_value=v), st.binary(max_size=16)),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.builds(lambda vs: AnyValue(array_value=ArrayValue(values=vs)), st.lists(inner, max_size=4)),
    st.builds(lambda kv: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kv])),
              st.lists(st.tuples(st.text(max_size=8), inner), max_size=4)),
), max_leaves=10)
ATTRS = st.lists(st.builds(lambda k, v: KeyValue(key=k, value=v), KEYS, VALUES), max_size=12)
SPANS = st.builds(
    lambda attrs, tid, sid, start, dur, status, msg: trace_pb2.Span(
        trace_id=tid, span_id=sid, name="fuzzed", start_time_unix_nano=start, end_time_unix_nano=start + dur,
        attributes=attrs, status=trace_pb2.Status(code=status, message=msg)),
    ATTRS, st.binary(min_size=15, max_size=17), st.binary(min_size=7, max_size=9),
    st.integers(0, 2**64 - 1 - 2**40), st.integers(0, 2**40), st.integers(0, 5), st.text(max_size=20),
)


def _good(n: int) -> list[trace_pb2.Span]:
    return [span({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10 + i}, name=f"good-{i}",
                 trace_id=(10**6 + i).to_bytes(16, "big"), start=T0) for i in range(n)]


def _json_body(req) -> bytes:
    doc = json_format.MessageToDict(req)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for k in ("traceId", "spanId"):
                    if k in sp:
                        sp[k] = base64.b64decode(sp[k]).hex()
    return json.dumps(doc).encode()


def _check(body: bytes, encoding: str, n_good: int, n_total: int) -> None:
    try:
        out = prepare_payload("traces", body, encoding, None, "fuzz", INGEST, AttributionSettings())
    except DecodeError as exc:
        assert exc.status in (400, 413)
        assert encoding == "json", "a protobuf the SDK encoder wrote must decode"
        return
    assert out.accepted + out.rejected + out.skipped + out.unmapped_spans == n_total
    names = out.tables["spans"].column("span_name").to_pylist()
    assert {f"good-{i}" for i in range(n_good)} <= set(names), out.errors


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SPANS, max_size=6), st.integers(1, 3))
def test_fuzzed_spans_never_escape_and_never_drop_good_neighbours(fuzzed, n_good):
    req = traces(fuzzed + _good(n_good))
    n_total = len(fuzzed) + n_good
    _check(req.SerializeToString(), "protobuf", n_good, n_total)
    _check(_json_body(req), "json", n_good, n_total)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["protobuf", "json"]))
def test_arbitrary_bytes_are_decoded_or_refused_with_400(body, encoding):
    try:
        prepare_payload("traces", body, encoding, None, "fuzz", INGEST, AttributionSettings())
    except DecodeError as exc:
        assert exc.status == 400
