"""Real instrumentation libraries, each in its own environment and process, against a fake provider.

Every assertion compares InferLedger's rows with what the fake provider answered
(`FakeProvider.calls`) and the bundled catalog's prices: one inference row per call,
its models, tokens, streaming flag, time to first token, finish reason, user, error,
and each team's cost (one team per library) equal to the hand-computed price.

`GAPS` lists, per library, the fields it does not emit (measured with the versions
pinned in build_envs.sh); those are asserted to be empty, so a library that starts
sending one shows up here. The environments are built once under .cache/instrumentations/.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.pricing import catalog_path_or_bundled
from inferledger.analytics.slo.rollup import REQUEST_ROW
from tests.harness import running_service
from tests.instrumentations.fake_provider import FIRST_CHUNK_DELAY_S, Call, FakeProvider
from tests.instrumentations.runner import NODE_LIBS, PYTHON_LIBS, build, drive

pytestmark = [pytest.mark.slow, pytest.mark.server]

LIBS = (*PYTHON_LIBS, *NODE_LIBS)

# (api, field) a library does not emit; "*" = every api. Measured, see the module docstring.
GAPS: dict[str, set[tuple[str, str]]] = {
    "openinference_openai": {("chat", "response_id"), ("*", "user_if_none")},
    "openinference_anthropic": set(),
    # 2.4b0 with util-genai 1.1b0: no cached tokens, no streaming flag or first-token time, no user
    "otel_openai_v2": {("chat_plain", "cache_read"), ("chat", "is_streaming"), ("*", "user_from_param")},
    "openllmetry": {("embeddings", "response_model_dated")},
    "anthropic_native": set(),
    # ai 5.0.277: generateText's inner span reports promptTokens/completionTokens only (no cached tokens);
    # embed spans carry no response model; the 429 error has no provider response
    "vercel_ai": {("chat_plain", "cache_read"), ("embeddings", "response_model"), ("*", "user_from_param")},
    # openlit 1.45.0: a streamed Anthropic message's span reports no cache read / write tokens (0 / 0)
    "openlit": {("messages_stream", "cache")},
    # traceloop-sdk 0.62.4 (Traceloop.init, workflow and task decorators)
    "traceloop": {("embeddings", "response_model_dated")},
}
# Whether the kept Anthropic row's input_tokens include the cache tokens (collector.token_semantics):
# OpenLIT passes Anthropic's number through; the others add the cache in.
ANTHROPIC_INPUT_INCLUDES_CACHE = {"openlit": False, "openllmetry": True, "traceloop": True,
                                  "openinference_anthropic": True, "anthropic_native": True}
# Libraries that also export OTLP metrics with the test's settings: those must not add requests.
EXPORT_METRICS = ("openlit", "traceloop")
# Libraries whose first-token clock starts when the stream object is made, after the response
# headers (openlit 1.45.0: TracedSyncStream.__init__), so a loaded client can report a little less
# than the provider's first-chunk delay; for them the bound is half the delay.
TTFT_FROM_HEADERS = ("openlit",)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    build(LIBS)
    with running_service(tmp_path_factory.mktemp("instr") / "w.duckdb",
                         **{"dashboards.metrics_cache_seconds": 0}) as (svc, eps):
        yield svc, eps


@pytest.fixture(scope="module")
def catalog() -> dict:
    with open(catalog_path_or_bundled("")) as f:
        return json.load(f)


def _price(catalog: dict, call: Call) -> Decimal:
    """The true cost of one call, by hand from the catalog entry of the model the response reported."""
    if call.status != 200:
        return Decimal(0)
    e = catalog[call.response_model]
    d = lambda k: Decimal(repr(e.get(k) or 0.0))
    u = call.usage
    if call.api == "messages":  # Anthropic: input excludes cache
        return (u["input"] * d("input_cost_per_token") + u["cache_read"] * d("cache_read_input_token_cost")
                + u["cache_write"] * d("cache_creation_input_token_cost") + u["output"] * d("output_cost_per_token"))
    if call.api == "embeddings":
        return u["input"] * d("input_cost_per_token")
    return ((u["input"] - u["cache_read"]) * d("input_cost_per_token")
            + u["cache_read"] * d("cache_read_input_token_cost") + u["output"] * d("output_cost_per_token"))


def _rows(svc, lib: str, want: int, timeout: float = 20.0) -> list[dict]:
    """Inference rows of one library's service, once the expected number has been committed."""
    con = svc.state.warehouse.cursor()
    deadline = time.monotonic() + timeout
    while True:
        cur = con.execute(
            "SELECT * FROM spans WHERE service_name = ? AND is_inference AND duplicate_of IS NULL ORDER BY start_time",
            [f"il-{lib}"])
        cols = [c[0] for c in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        if len(rows) >= want or time.monotonic() > deadline:
            con.close()
            return rows
        time.sleep(0.2)


def _gap(lib: str, api: str, field: str) -> bool:
    g = GAPS[lib]
    return (api, field) in g or ("*", field) in g


@pytest.mark.parametrize("lib", LIBS)
def test_every_call_is_one_inference_row_priced_exactly(service, catalog, lib):
    svc, eps = service
    with FakeProvider() as fp:
        proc = drive(lib, fp.url, eps.http)
        assert proc.returncode == 0, proc.stderr[-3000:]
        calls = list(fp.calls)
    rows = _rows(svc, lib, len(calls))
    time.sleep(1.0)  # a late duplicate would show as an extra row
    rows = _rows(svc, lib, len(calls))
    assert len(rows) == len(calls), [(r["span_name"], r["scope_name"]) for r in rows]

    for call, row in zip(calls, rows):  # the calls are sequential: start order is call order
        api = "chat_plain" if call.api == "chat" and not call.stream else call.api
        where = f"{lib} {call.api} stream={call.stream}"
        assert row["request_model"] == call.request_model, where
        if call.status != 200:
            assert row["is_error"] and row["error_type"], where
            assert not row["error_type"].startswith("<class"), where
            continue
        assert not row["is_error"], where
        if _gap(lib, call.api, "response_model"):
            assert row["response_model"] is None, where
        else:
            assert row["response_model"] == call.response_model, where
        u = call.usage
        if call.api == "messages":
            inc = row["input_includes_cache"]
            assert inc is not None, where
            assert inc is ANTHROPIC_INPUT_INCLUDES_CACHE[lib], where
            if call.stream and _gap(lib, "messages_stream", "cache"):
                u = {**u, "cache_read": 0, "cache_write": 0}
            want_in = u["input"] + (u["cache_read"] + u["cache_write"] if inc else 0)
            assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
                want_in, u["cache_read"], u["cache_write"]), where
        else:
            assert row["input_tokens"] == u["input"], where
        if call.api != "embeddings":
            assert row["output_tokens"] == u["output"], where
            if _gap(lib, api, "cache_read"):
                assert not row["cache_read_tokens"], where
            elif call.api == "chat":
                assert (row["cache_read_tokens"] or 0) == u["cache_read"], where
            if _gap(lib, "chat", "is_streaming"):
                assert row["is_streaming"] is None and row["time_to_first_token_s"] is None, where
            elif call.stream:
                assert row["is_streaming"] is True, where
                ttft = row["time_to_first_token_s"]
                if ttft is not None:
                    least = FIRST_CHUNK_DELAY_S / 2 if lib in TTFT_FROM_HEADERS else FIRST_CHUNK_DELAY_S
                    assert least <= ttft <= row["duration_s"], where
            if row["finish_reason"] is not None:
                assert row["finish_reason"] in (call.finish_reason, "stop"), where
        if call.user and not _gap(lib, call.api, "user_from_param") and call.api == "chat":
            assert row["user_id"] == call.user, where
        assert row["team"] == lib

    # cost per team equals the hand-computed price of the calls the provider answered
    wh = svc.state.warehouse
    update_costs(wh, svc.state.settings.analytics.cost, time_now())
    (ours,) = wh.con.execute("SELECT sum(cost) FROM cost_lines WHERE team = ?", [lib]).fetchone()
    true_cost = sum((_price(catalog, c) for c in calls), Decimal(0))
    if _gap(lib, "chat_plain", "cache_read"):
        # the library does not say which input tokens were cached: billed at the full input price
        e = catalog["gpt-4o-mini-2024-07-18"]
        cached = sum(c.usage.get("cache_read", 0) for c in calls if c.api == "chat" and not c.stream and c.status == 200)
        true_cost += cached * (Decimal(repr(e["input_cost_per_token"])) - Decimal(repr(e["cache_read_input_token_cost"])))
    if _gap(lib, "messages_stream", "cache"):
        # the library drops a streamed message's cache tokens: they cannot be billed
        e = catalog["claude-sonnet-4-5-20250929"]
        for c in calls:
            if c.api == "messages" and c.stream and c.status == 200:
                true_cost -= (c.usage["cache_read"] * Decimal(repr(e["cache_read_input_token_cost"]))
                              + c.usage["cache_write"] * Decimal(repr(e["cache_creation_input_token_cost"])))
    assert ours is not None
    assert abs(Decimal(ours) - true_cost) <= true_cost * Decimal("1e-6"), (ours, true_cost)
    (n_lines,) = wh.con.execute("SELECT count(*) FROM cost_lines WHERE team = ?", [lib]).fetchone()
    assert n_lines == len(calls)

    # request counts on /metrics and in the SLO rollup: the calls made, whatever else the library sent
    assert _metrics_requests(eps.admin, lib) == len(calls)
    (slo_requests,) = wh.con.execute(f"SELECT count(*) FROM spans WHERE service_name = ? AND {REQUEST_ROW}",
                                     [f"il-{lib}"]).fetchone()
    assert slo_requests == len(calls)
    if lib in EXPORT_METRICS:
        (points,) = wh.con.execute("SELECT count(*) FROM metric_points WHERE service_name = ? AND metric_name"
                                   " = 'gen_ai.client.token.usage'", [f"il-{lib}"]).fetchone()
        assert points > 0  # the library's metrics did arrive, and were kept out of the counts above


def _metrics_requests(admin: str, lib: str) -> float:
    text = httpx.get(f"{admin}/metrics", timeout=30).text
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == "inferledger_requests_total" and s.labels.get("team") == lib)


@pytest.mark.parametrize("lib", ["traceloop"])
def test_workflow_and_task_spans_are_stored_as_structure(service, lib):
    """Traceloop's @workflow / @task spans: kept (is_inference false), never requests or cost."""
    svc, eps = service
    con = svc.state.warehouse.cursor()
    rows = con.execute("SELECT span_name, operation, is_inference FROM spans WHERE service_name = ?"
                       " AND scope_name = 'traceloop.tracer' ORDER BY start_time", [f"il-{lib}"]).fetchall()
    con.close()
    if not rows:
        pytest.skip("runs after test_every_call_is_one_inference_row_priced_exactly[traceloop]")
    assert [(n, op, inf) for n, op, inf in rows] == [
        ("answer.workflow", "invoke_workflow", False), ("openai_step.task", "task", False),
        ("anthropic_step.task", "task", False)]


def time_now():
    from inferledger.analytics.warehouse import utcnow

    return utcnow()

