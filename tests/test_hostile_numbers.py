"""Numbers no inference call produces: rejected alone at the door, and survivable once stored.

Ground truth here is what a client sent: an INT64_MAX token count, 1e30 as a double,
a negative cost. Each must come back in partial_success naming the field while the
good span of the same request is stored, and a warehouse already holding such a
row must not stop the cost or anomaly jobs.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

import pytest

from inferledger.analytics.anomaly.job import run_detection
from inferledger.analytics.cost.job import cost_update_job  # noqa: F401  (registers cost.update)
from inferledger.analytics.jobs import REGISTRY, JobContext, run_job
from inferledger.collector.decode import DecodeError, decompress
from inferledger.collector.prepare import prepare_payload
from inferledger.collector.settings import AttributionSettings, IngestSettings
from tests.factories import insert_spans, span_row
from tests.otlp_builders import T0, span, traces

INT64_MAX = 2**63 - 1
GOOD = {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}


def _prepare(body: bytes, encoding: str = "protobuf", **ingest):
    return prepare_payload("traces", body, encoding, None, "acme", IngestSettings(**ingest), AttributionSettings())


@pytest.mark.parametrize(("attrs", "field"), [
    ({"gen_ai.usage.input_tokens": INT64_MAX}, "input_tokens"),
    ({"gen_ai.usage.output_tokens": 1e30}, "output_tokens"),
    ({"gen_ai.usage.input_tokens": 10**15}, "input_tokens"),
    ({"gen_ai.usage.input_tokens": "9" * 30}, "input_tokens"),
    ({"gen_ai.usage.cost": -5.0}, "client cost"),
    ({"llm.cost.total": 1e12}, "client cost"),
    ({"gen_ai.server.time_to_first_token": -1.0}, "time to first token"),
])
def test_implausible_value_rejects_its_span_only(attrs, field):
    bad = span({"gen_ai.request.model": "gpt-4o", **attrs}, name="bad")
    good = span(GOOD, name="good")
    out = _prepare(traces([bad, good]).SerializeToString())
    assert out.rejected == 1 and out.accepted == 1, out.errors
    assert field in out.errors[0] and "'bad'" in out.errors[0]
    assert out.tables["spans"].column("span_name").to_pylist() == ["good"]


def test_duration_and_timestamps_are_bounded():
    ten_years = span(GOOD, name="long", duration_ns=3650 * 86400 * 10**9)
    ancient = span(GOOD, name="ancient", start=86400 * 10**9)  # 1970-01-02
    future = span(GOOD, name="future", start=T0 + 50 * 365 * 86400 * 10**9)
    good = span(GOOD, name="good")
    out = _prepare(traces([ten_years, ancient, future, good]).SerializeToString())
    assert out.accepted == 1 and out.rejected == 3
    text = " ".join(out.errors)
    assert "duration" in text and "min_timestamp" in text and "future" in text


def test_bounds_are_configurable():
    body = traces([span({**GOOD, "gen_ai.usage.input_tokens": 5000})]).SerializeToString()
    assert _prepare(body).accepted == 1
    out = _prepare(body, max_tokens_per_span=1000)
    assert out.rejected == 1 and "max_tokens_per_span" in out.errors[0]


def _json_span(value: dict) -> bytes:
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "ab" * 16, "spanId": "cd" * 8, "name": "x", "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 10**9),
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
                       {"key": "gen_ai.usage.input_tokens", "value": value}]}]}]}]}
    return json.dumps(doc).encode()


@pytest.mark.parametrize("value", [{"doubleValue": 1e30}, {"intValue": "9" * 40}, {"intValue": 1e30},
                                   {"stringValue": "9" * 5000}])
def test_out_of_range_json_numbers_are_partial_success_or_400(value):
    try:
        out = _prepare(_json_span(value), "json")
    except DecodeError as exc:
        assert exc.status == 400
        return
    assert out.accepted + out.rejected == 1
    if out.accepted:
        assert out.tables["spans"].column("input_tokens").to_pylist() == [None]  # unreadable, not stored as a count


@pytest.mark.parametrize("depth", [300, 5000])
def test_deeply_nested_json_is_400(depth):
    marker = {"stringValue": "DEEP"}
    nested = '{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth
    body = _json_span(marker).replace(b'{"stringValue": "DEEP"}', nested.encode())  # json.dumps cannot nest this deep
    with pytest.raises(DecodeError) as err:
        _prepare(body, "json")
    assert err.value.status == 400


def test_multi_member_gzip_is_read_whole():
    body = gzip.compress(b"hello ") + gzip.compress(b"world")
    assert decompress(body, "gzip", 1024) == b"hello world"
    with pytest.raises(DecodeError) as err:
        decompress(gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600), "gzip", 1024)
    assert err.value.status == 413


@pytest.mark.slow
def test_jobs_survive_int64_max_already_in_the_warehouse(warehouse, settings, tmp_path):
    from tests.test_cost import CATALOG

    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    settings.analytics.cost.catalog_path = str(catalog)
    day = datetime(2026, 10, 10, 12)
    good = span_row(day, tenant="good", provider="openai", request_model="toy-oa", response_model=None,
                    input_tokens=1000, output_tokens=100)
    bad = [span_row(day + timedelta(minutes=i), tenant="evil", provider="openai", request_model="toy-oa",
                    response_model=None, input_tokens=INT64_MAX, output_tokens=INT64_MAX) for i in range(2)]
    insert_spans(warehouse, [good, *bad])
    ctx = JobContext(warehouse, settings, now=day + timedelta(hours=2))
    result = run_job(REGISTRY["cost.update"], ctx)
    assert result["quarantined_spans"] == 2
    lines = warehouse.con.execute("SELECT tenant, CAST(cost AS DOUBLE) FROM cost_lines").fetchall()
    assert lines == [("good", pytest.approx(1000 * 2e-6 + 100 * 8e-6))]
    status = warehouse.con.execute("SELECT status FROM job_runs WHERE job = 'cost.update'").fetchall()
    assert status == [("ok",)]
    run_detection(warehouse, settings.analytics.anomaly, day + timedelta(hours=2))  # raised Overflow before


@pytest.mark.slow
def test_grpc_answers_partial_success_for_int64_max_tokens(tmp_path):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    from tests.harness import running_service

    req = traces([span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": INT64_MAX}, name="bad"),
                  span(GOOD, name="good")])
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        with grpc.insecure_channel(eps.grpc) as ch:
            resp = trace_service_pb2_grpc.TraceServiceStub(ch).Export(req, timeout=10)
        assert resp.partial_success.rejected_spans == 1 and "input_tokens" in resp.partial_success.error_message
        names = service.state.warehouse.cursor().execute("SELECT span_name FROM spans").fetchall()
        assert names == [("good",)]
