"""Unmapped keys and spans are broken down by the instrumentation scope (library name, version) that sent them."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1 import trace_pb2
from prometheus_client.parser import text_string_to_metric_families

from inferledger.analytics.warehouse import apply_migrations, bundled_migrations, open_warehouse, utcnow
from inferledger.cli import cli
from inferledger.collector.fastpath.traces import normalize_traces_fast
from inferledger.collector.normalize import normalize_traces
from tests.harness import running_service
from tests.otlp_builders import ctx, span

PB = {"Content-Type": "application/x-protobuf"}
# A mapped span with one key no vocabulary reads, and a span nothing can map (an unmapped span).
MAPPED_ODD = {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 3, "gen_ai.vendor.novelty": 1}
UNMAPPED = {"llm.only_this": "x"}


def _request(*scopes: tuple[str, str, list[dict]]) -> ExportTraceServiceRequest:
    """One resource, one ScopeSpans per (scope name, version, span attribute dicts)."""
    n = 0
    scope_spans = []
    for name, version, attr_list in scopes:
        spans = []
        for attrs in attr_list:
            n += 1
            spans.append(span(attrs, span_id=n.to_bytes(8, "big"), trace_id=(1000 + n).to_bytes(16, "big")))
        scope_spans.append(trace_pb2.ScopeSpans(scope=InstrumentationScope(name=name, version=version), spans=spans))
    return ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(scope_spans=scope_spans)])


REQ = _request(("lib.alpha", "1.2", [MAPPED_ODD, UNMAPPED]), ("lib.beta", "0.9", [MAPPED_ODD, MAPPED_ODD]),
               ("", "", [UNMAPPED]))


@pytest.mark.parametrize("normalize", [normalize_traces, lambda req, c: normalize_traces_fast(req.SerializeToString(), c)],
                         ids=["reference", "fastpath"])
def test_keys_and_unmapped_spans_are_counted_per_scope(normalize):
    batch = normalize(REQ, ctx())
    assert len(batch.rows) == 3 and batch.unmapped_spans == 2
    assert dict(batch.unmapped_span_scopes) == {("lib.alpha", "1.2"): 1, ("", ""): 1}
    assert dict(batch.unmapped_keys) == {
        ("lib.alpha", "1.2", "gen_ai.vendor.novelty"): 1, ("lib.alpha", "1.2", "llm.only_this"): 1,
        ("lib.beta", "0.9", "gen_ai.vendor.novelty"): 2, ("", "", "llm.only_this"): 1,
    }


def _unmapped_metric(text: str) -> dict[tuple[str, str], float]:
    return {(s.labels["scope"], s.labels["scope_version"]): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name == "inferledger_ingest_unmapped_spans_total" and s.labels.get("tenant") == "default"}


@pytest.mark.server
def test_admin_cli_and_metrics_break_unmapped_down_by_scope(tmp_path):
    db = tmp_path / "w.duckdb"
    with running_service(db) as (_service, eps):
        # the collector's counters are process-wide (an earlier test in this process may have counted too)
        before = _unmapped_metric(httpx.get(f"{eps.admin}/metrics").text)
        r = httpx.post(f"{eps.http}/v1/traces", content=REQ.SerializeToString(), headers=PB, timeout=30)
        assert r.status_code == 200
        listed = httpx.get(f"{eps.admin}/admin/unmapped").json()
        got = {(x["scope"], x["scope_version"], x["key"]): x["spans"] for x in listed}
        assert got == {("lib.beta", "0.9", "gen_ai.vendor.novelty"): 2, ("lib.alpha", "1.2", "gen_ai.vendor.novelty"): 1,
                       ("lib.alpha", "1.2", "llm.only_this"): 1, ("", "", "llm.only_this"): 1}
        only_beta = httpx.get(f"{eps.admin}/admin/unmapped", params={"scope": "lib.b"}).json()
        assert [(x["scope"], x["key"], x["spans"]) for x in only_beta] == [("lib.beta", "gen_ai.vendor.novelty", 2)]

        after = _unmapped_metric(httpx.get(f"{eps.admin}/metrics").text)
        grew = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
        assert grew == {("lib.alpha", "1.2"): 1.0, ("", ""): 1.0}
        time.sleep(1.5)  # flushed to the table when the writer is idle

    # after the service: read from the file, per scope, and filtered by scope on the CLI
    res = CliRunner().invoke(cli, ["--db", str(db), "ingest", "unmapped", "--scope", "lib.alpha", "--json"],
                             env={"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"})
    assert res.exit_code == 0, res.output
    assert {(x["scope"], x["scope_version"], x["key"], x["spans"]) for x in json.loads(res.output)} == {
        ("lib.alpha", "1.2", "gen_ai.vendor.novelty", 1), ("lib.alpha", "1.2", "llm.only_this", 1)}
    table = CliRunner().invoke(cli, ["--db", str(db), "ingest", "unmapped"], env={"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"})
    assert table.exit_code == 0 and "lib.beta" in table.output and "0.9" in table.output


def test_keys_counted_before_the_scope_column_keep_their_counts(tmp_path):
    wh = open_warehouse(tmp_path / "w.duckdb", migrate=False)
    apply_migrations(wh, [m for m in bundled_migrations() if m.version < 4])
    wh.con.execute("INSERT INTO ingest_unmapped_keys VALUES ('default', 'ai.old.key', 7, ?)", [utcnow()])
    assert 4 in apply_migrations(wh)
    rows = wh.con.execute("SELECT tenant, scope_name, scope_version, key, spans FROM ingest_unmapped_keys").fetchall()
    assert rows == [("default", "", "", "ai.old.key", 7)]
    wh.close()
