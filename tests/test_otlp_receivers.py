"""OTLP receivers end to end: the real SDK exporters against a running service."""

from __future__ import annotations

import gzip
import os
import signal
import threading

import grpc
import httpx
import psutil
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector import writer as writer_module
from tests.harness import running_service
from tests.otlp_payloads import genai_spans, json_span, json_trace_payload, traces_request_bytes

PB = {"Content-Type": "application/x-protobuf"}


def span_count(service) -> int:
    return service.state.warehouse.cursor().execute("SELECT count(*) FROM spans").fetchone()[0]


@pytest.mark.slow
def test_sdk_http_protobuf_exporter_lands_spans(tmp_path):
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        exporter = HttpSpanExporter(endpoint=f"{eps.http}/v1/traces")
        assert exporter.export(genai_spans(50)) == SpanExportResult.SUCCESS
        row = service.state.warehouse.cursor().execute(
            "SELECT count(*), sum(input_tokens), min(team), min(feature), min(vocabulary), min(provider) FROM spans"
        ).fetchone()
        assert row == (50, sum(100 + i for i in range(50)), "search", "answers", "otel_genai", "openai")


@pytest.mark.server
def test_sdk_http_gzip_and_grpc_exporters_through_worker_process(tmp_path):
    with running_service(tmp_path / "w.duckdb", **{"ingest.workers": 1}) as (service, eps):
        gz = HttpSpanExporter(endpoint=f"{eps.http}/v1/traces", compression=Compression.Gzip)
        assert gz.export(genai_spans(10, model="gpt-4o")) == SpanExportResult.SUCCESS
        grpc_exp = GrpcSpanExporter(endpoint=eps.grpc, insecure=True)
        assert grpc_exp.export(genai_spans(7, model="o3-mini")) == SpanExportResult.SUCCESS
        grpc_exp.shutdown()
        models = dict(service.state.warehouse.cursor().execute(
            "SELECT request_model, count(*) FROM spans GROUP BY 1").fetchall())
        assert models == {"gpt-4o": 10, "o3-mini": 7}


@pytest.mark.slow
def test_handwritten_json_with_partial_success(tmp_path):
    good = json_span(input_tokens="1500")
    bad = json_span(trace_id="zz-not-hex")
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        r = httpx.post(f"{eps.http}/v1/traces", json=json_trace_payload([good, bad]))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/json")
        partial = r.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "1" and "trace_id" in partial["errorMessage"]
        row = service.state.warehouse.cursor().execute(
            "SELECT trace_id, input_tokens, cache_read_tokens, is_error, span_kind, service_name FROM spans"
        ).fetchall()
        assert row == [(good["traceId"], 1500, 800, True, "CLIENT", "json-svc")]


@pytest.mark.slow
def test_resent_batch_is_not_counted_twice(tmp_path):
    spans = genai_spans(20)
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        exporter = HttpSpanExporter(endpoint=f"{eps.http}/v1/traces")
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        assert exporter.export(spans) == SpanExportResult.SUCCESS  # the retry after a lost response
        body = traces_request_bytes(spans[:5] + spans[:5])  # duplicates inside one request too
        assert httpx.post(f"{eps.http}/v1/traces", content=body, headers=PB).status_code == 200
        tokens = service.state.warehouse.cursor().execute("SELECT count(*), sum(input_tokens) FROM spans").fetchone()
        assert tokens == (20, sum(100 + i for i in range(20)))


@pytest.mark.slow
def test_resend_after_a_restart_is_not_counted_twice(tmp_path):
    spans = genai_spans(20)
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        assert HttpSpanExporter(endpoint=f"{eps.http}/v1/traces").export(spans[:15]) == SpanExportResult.SUCCESS
    with running_service(tmp_path / "w.duckdb") as (service, eps):  # the set of stored ids is reloaded
        assert HttpSpanExporter(endpoint=f"{eps.http}/v1/traces").export(spans) == SpanExportResult.SUCCESS
        grpc_exp = GrpcSpanExporter(endpoint=eps.grpc, insecure=True)
        assert grpc_exp.export(spans[5:]) == SpanExportResult.SUCCESS
        grpc_exp.shutdown()
        tokens = service.state.warehouse.cursor().execute("SELECT count(*), sum(input_tokens) FROM spans").fetchone()
        assert tokens == (20, sum(100 + i for i in range(20)))


@pytest.mark.parametrize(
    "body, headers, status, needle",
    [
        (b"\x0a\xff\xff\xff\xff\x0f", PB, 400, "protobuf"),
        (b"{not json", {"Content-Type": "application/json"}, 400, "JSON"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "object"),
        (b"hello", {"Content-Type": "text/plain"}, 400, "Content-Type"),
        (b"not gzip at all", {**PB, "Content-Encoding": "gzip"}, 400, "gzip"),
        (b"x" * 5000, PB, 413, "limit"),
        (gzip.compress(b"\x00" * 1_000_000), {**PB, "Content-Encoding": "gzip"}, 413, "decompression"),
    ],
    ids=["malformed-protobuf", "bad-json", "json-not-object", "wrong-content-type", "bad-gzip", "oversize", "gzip-bomb"],
)
@pytest.mark.slow
def test_bad_input_is_a_clear_4xx_and_loses_nothing_else(tmp_path, body, headers, status, needle):
    with running_service(tmp_path / "w.duckdb", **{"ingest.max_body_bytes": 4096}) as (service, eps):
        before = traces_request_bytes(genai_spans(3))
        assert httpx.post(f"{eps.http}/v1/traces", content=before, headers=PB).status_code == 200
        r = httpx.post(f"{eps.http}/v1/traces", content=body, headers=headers)
        assert r.status_code == status
        message = Status.FromString(r.content).message if r.headers["content-type"].endswith("protobuf") else r.text
        assert needle.lower() in message.lower()
        after = traces_request_bytes(genai_spans(4))
        assert httpx.post(f"{eps.http}/v1/traces", content=after, headers=PB).status_code == 200
        assert span_count(service) == 7


@pytest.mark.slow
def test_auth_tokens_map_to_tenants_and_wrong_token_writes_nothing(tmp_path):
    tokens = {"auth.tokens": {"s3cret-a": "acme", "s3cret-b": "globex"}}
    with running_service(tmp_path / "w.duckdb", **tokens) as (service, eps):
        body = traces_request_bytes(genai_spans(5))
        assert httpx.post(f"{eps.http}/v1/traces", content=body, headers=PB).status_code == 401
        bad = httpx.post(f"{eps.http}/v1/traces", content=body, headers={**PB, "Authorization": "Bearer nope"})
        assert bad.status_code == 401 and "invalid bearer token" in Status.FromString(bad.content).message
        grpc_exp = GrpcSpanExporter(endpoint=eps.grpc, insecure=True, headers={"authorization": "Bearer nope"})
        assert grpc_exp.export(genai_spans(2)) == SpanExportResult.FAILURE
        grpc_exp.shutdown()
        assert span_count(service) == 0
        ok = HttpSpanExporter(endpoint=f"{eps.http}/v1/traces", headers={"Authorization": "Bearer s3cret-b"})
        assert ok.export(genai_spans(5)) == SpanExportResult.SUCCESS
        tenants = service.state.warehouse.cursor().execute("SELECT tenant, count(*) FROM spans GROUP BY 1").fetchall()
        assert tenants == [("globex", 5)]


@pytest.mark.slow
def test_tenant_header_when_auth_is_off(tmp_path):
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        body = traces_request_bytes(genai_spans(2))
        httpx.post(f"{eps.http}/v1/traces", content=body, headers={**PB, "X-InferLedger-Tenant": "initech"})
        assert service.state.warehouse.cursor().execute("SELECT DISTINCT tenant FROM spans").fetchall() == [("initech",)]


@pytest.mark.slow
def test_full_queue_answers_429_and_resource_exhausted_with_retry_after(tmp_path, monkeypatch):
    gate = threading.Event()
    real_write = writer_module._write

    def slow_write(con, group, *rest):
        gate.wait(20)
        return real_write(con, group, *rest)

    monkeypatch.setattr(writer_module, "_write", slow_write)
    with running_service(tmp_path / "w.duckdb", **{"ingest.queue_max_batches": 1}) as (service, eps):
        results: list[int] = []

        def send(i: int) -> None:
            body = traces_request_bytes(genai_spans(3))
            results.append(httpx.post(f"{eps.http}/v1/traces", content=body, headers=PB, timeout=30).status_code)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        # Wait until the writer holds one batch and the queue holds another; the rest must be refused.
        for t in threads[2:]:
            t.join(0.5)
        r = httpx.post(f"{eps.http}/v1/traces", content=traces_request_bytes(genai_spans(1)), headers=PB)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        with grpc.insecure_channel(eps.grpc) as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)
            req = trace_service_pb2.ExportTraceServiceRequest.FromString(traces_request_bytes(genai_spans(1)))
            with pytest.raises(grpc.RpcError) as err:
                stub.Export(req, timeout=10)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            trailers = dict(err.value.trailing_metadata())
            assert trailers["retry-after"] == "1" and "grpc-status-details-bin" in trailers
        gate.set()
        for t in threads:
            t.join(30)
        assert results.count(200) >= 1 and 429 in results
        assert span_count(service) == 3 * results.count(200)  # every acknowledged span, nothing else


@pytest.mark.slow
def test_unmapped_keys_are_listed(tmp_path):
    langchain = {
        "traceId": "ab" * 16, "spanId": "cd" * 8, "name": "llm", "kind": 1,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
        "attributes": [
            {"key": "langchain.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "langchain.prompt_tokens", "value": {"intValue": "10"}},
        ],
    }
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        assert httpx.post(f"{eps.http}/v1/traces", json=json_trace_payload([langchain])).status_code == 200
        keys = {r["key"]: r["spans"] for r in httpx.get(f"{eps.admin}/admin/unmapped").json()}
        assert keys.get("langchain.model") == 1 and keys.get("langchain.prompt_tokens") == 1
        assert span_count(service) == 0


@pytest.mark.slow
def test_metrics_and_logs_endpoints_accept_json(tmp_path):
    metrics = {"resourceMetrics": [{"resource": {"attributes": [{"key": "host.name", "value": {"stringValue": "gpu-1"}}]},
        "scopeMetrics": [{"metrics": [{"name": "DCGM_FI_DEV_GPU_UTIL", "gauge": {"dataPoints": [
            {"timeUnixNano": "1700000000000000000", "asDouble": 75,
             "attributes": [{"key": "UUID", "value": {"stringValue": "GPU-1"}},
                            {"key": "modelName", "value": {"stringValue": "NVIDIA H100 80GB HBM3"}}]}]}}]}]}]}
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "1700000000000000000",
        "severityNumber": 9, "body": {"stringValue": "hello"}, "traceId": "ab" * 16, "spanId": "cd" * 8}]}]}]}
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        assert httpx.post(f"{eps.http}/v1/metrics", json=metrics).status_code == 200
        assert httpx.post(f"{eps.http}/v1/logs", json=logs).status_code == 200
        con = service.state.warehouse.cursor()
        assert con.execute("SELECT gpu_uuid, utilization FROM gpu_samples").fetchall() == [("GPU-1", 0.75)]
        assert con.execute("SELECT trace_id, body FROM log_records").fetchall() == [("ab" * 16, None)]


@pytest.mark.slow
def test_shutdown_flushes_and_file_reopens(tmp_path):
    db = tmp_path / "w.duckdb"
    with running_service(db) as (service, eps):
        assert HttpSpanExporter(endpoint=f"{eps.http}/v1/traces").export(genai_spans(30)) == SpanExportResult.SUCCESS
    wh = open_warehouse(db)
    assert wh.con.execute("SELECT count(*) FROM spans").fetchone()[0] == 30
    wh.close()


@pytest.mark.server
def test_dead_ingest_worker_gives_503_then_the_pool_is_replaced(tmp_path):
    with running_service(tmp_path / "w.duckdb", **{"ingest.workers": 1}) as (service, eps):
        body = traces_request_bytes(genai_spans(3))
        assert httpx.post(f"{eps.http}/v1/traces", content=body, headers=PB).status_code == 200
        workers = [p for p in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
        assert workers, "no ingest worker process found"
        for p in workers:
            os.kill(p.pid, signal.SIGKILL)
        psutil.wait_procs(workers, timeout=10)
        r = httpx.post(f"{eps.http}/v1/traces", content=traces_request_bytes(genai_spans(2)), headers=PB, timeout=60)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "worker" in Status.FromString(r.content).message
        again = httpx.post(f"{eps.http}/v1/traces", content=traces_request_bytes(genai_spans(4)), headers=PB, timeout=60)
        assert again.status_code == 200
        assert span_count(service) == 7
