"""The same LLM call reported by two instrumentations is one inference row, whatever the arrival order."""

from __future__ import annotations

import itertools

import pytest

from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.dedupe import SpanFacts, decide
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.writer import WriteBatch, _write
from tests.otlp_builders import ctx, span, traces

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
OI_ID, SDK_ID, OTHER_ID = bytes.fromhex("00f067aa0ba902b7"), bytes.fromhex("00f067aa0ba902b8"), bytes.fromhex("00f067aa0ba902b9")

# OpenInference's Anthropic span (input includes cache) and the Anthropic SDK's own span under it.
OPENINFERENCE = {"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.model_name": "claude-sonnet-4-5",
                 "llm.token_count.prompt": 1200, "llm.token_count.completion": 80,
                 "llm.token_count.prompt_details.cache_read": 1000}
SDK = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
       "gen_ai.response.model": "claude-sonnet-4-5", "gen_ai.response.id": "msg_1", "gen_ai.usage.output_tokens": 80,
       "gen_ai.usage.cache_read.input_tokens": 1000}


def _requests():
    parent = span(OPENINFERENCE, "Messages", trace_id=TRACE, span_id=OI_ID)
    child = span(SDK, "anthropic.messages.create", trace_id=TRACE, span_id=SDK_ID, parent=OI_ID)
    return [traces([parent], scope="openinference.instrumentation.anthropic"),
            traces([child], scope="com.anthropic.sdk.python")]


def _commit(wh, req) -> None:
    rows = normalize_traces(req, ctx()).rows
    con = wh.cursor()
    _write(con, [WriteBatch(tenant="acme", tables={"spans": rows_to_arrow(rows, SPAN_ARROW_SCHEMA)})])
    con.close()


def _links(wh) -> dict[str, str | None]:
    return dict(wh.con.execute("SELECT span_id, duplicate_of FROM spans").fetchall())


@pytest.mark.slow
@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_nested_sdk_span_is_a_duplicate_in_any_order_and_across_a_restart(tmp_path, order):
    reqs = _requests()
    path = tmp_path / "w.duckdb"
    for i in order:
        wh = open_warehouse(path)  # each batch after a restart
        _commit(wh, reqs[i])
        wh.close()
    wh = open_warehouse(path)
    # OpenInference has the input count (the SDK's span has none): its span is the inference row
    assert _links(wh) == {OI_ID.hex(): None, SDK_ID.hex(): OI_ID.hex()}
    (changed,) = wh.con.execute("SELECT count(*) FROM spans WHERE deduped_at IS NOT NULL").fetchone()
    assert changed == 1
    wh.close()


def test_same_response_id_without_nesting_is_one_call(warehouse):
    a = span({**SDK, "gen_ai.usage.input_tokens": 1200}, trace_id=TRACE, span_id=OI_ID)
    b = span(SDK, trace_id=TRACE, span_id=SDK_ID)
    other = span({**SDK, "gen_ai.response.id": "msg_2"}, trace_id=TRACE, span_id=OTHER_ID)
    _commit(warehouse, traces([b, other], scope="com.anthropic.sdk.python"))
    _commit(warehouse, traces([a], scope="opentelemetry.instrumentation.anthropic"))
    assert _links(warehouse) == {OI_ID.hex(): None, SDK_ID.hex(): OI_ID.hex(), OTHER_ID.hex(): None}


def test_structure_spans_are_never_inference_rows(warehouse):
    wf = span({"traceloop.span.kind": "workflow", "traceloop.workflow.name": "triage"}, "triage.workflow",
              trace_id=TRACE, span_id=OI_ID)
    call = span({"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 5}, trace_id=TRACE,
                span_id=SDK_ID, parent=OI_ID)
    _commit(warehouse, traces([wf, call]))
    got = dict(warehouse.con.execute("SELECT span_id, (is_inference, duplicate_of) FROM spans").fetchall())
    assert got == {OI_ID.hex(): (False, None), SDK_ID.hex(): (True, None)}


def _f(sid, parent=None, rid=None, n=2, has_input=True, scope="lib"):
    return SpanFacts(sid, parent, rid, n, has_input, scope)


def test_vercel_outer_over_one_inner_keeps_the_inner_call():
    # the same usage on both: the deeper span (the provider call) is kept
    got = decide([_f("outer"), _f("inner", "outer")])
    assert got == {"outer": "inner", "inner": None}


def test_multi_step_outer_is_an_aggregate_of_its_calls():
    got = decide([_f("outer", n=3), _f("step1", "outer"), _f("step2", "outer")])
    assert got == {"outer": "step1", "step1": None, "step2": None}


def test_decision_does_not_depend_on_order():
    spans = [_f("a", n=5), _f("b", "a", rid="r", n=3, scope="com.anthropic.sdk.python"), _f("c", rid="r", n=3),
             _f("d", "c", n=1)]
    first = decide(spans)
    for perm in itertools.permutations(spans):
        assert decide(list(perm)) == first
    assert first["a"] is None and set(first.values()) == {None, "a"}


def test_duplicates_and_structure_stay_out_of_cost_and_request_counts(warehouse):
    from datetime import datetime

    from inferledger.analytics.cost.lines import price_new_spans
    from inferledger.analytics.cost.pricing import load_price_book
    from inferledger.analytics.cost.settings import CostSettings
    from inferledger.dashboards.families.base import provenance_family, spans_family
    from inferledger.dashboards.settings import DashboardSettings
    from tests.factories import insert_spans, span_row

    t = datetime(2026, 10, 10, 12)
    call = dict(provider="openai", request_model="gpt-4o-mini", response_model=None, input_tokens=1000,
                output_tokens=100)
    kept = span_row(t, span_id="a" * 16, scope_name="lib", is_inference=True, **call)
    dup = span_row(t, trace_id=kept["trace_id"], span_id="b" * 16, parent_span_id="a" * 16, scope_name="sdk",
                   is_inference=True, duplicate_of="a" * 16, **call)
    agent = span_row(t, span_id="c" * 16, operation="invoke_agent", is_inference=False, **call)
    insert_spans(warehouse, [kept, dup, agent])
    price_new_spans(warehouse, load_price_book(CostSettings()))
    lines = warehouse.con.execute("SELECT span_id, cost FROM cost_lines").fetchall()
    # gpt-4o-mini: 1000 * 1.5e-7 + 100 * 6e-7, once
    assert [(s, float(c)) for s, c in lines] == [("a" * 16, pytest.approx(0.00021))]
    fams = {f.name: f for f in spans_family(warehouse.con, DashboardSettings(), t)}
    assert sum(s.value for s in fams["inferledger_requests"].samples) == 1
    roles = {s.labels["role"]: s.value for s in provenance_family(warehouse.con, DashboardSettings(), t)[0].samples}
    assert roles == {"inference": 1, "duplicate": 1, "structure": 1}
