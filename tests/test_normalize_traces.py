"""Span normalization: every vocabulary of CONVENTIONS.md sections 1-3 into canonical rows."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from inferledger.collector.columns import SPAN_COLUMNS
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.settings import AttributionSettings
from tests.otlp_builders import T0, any_value, ctx, sdk_traces, span, traces


def rows(batch) -> list[dict]:
    return [dict(zip(SPAN_COLUMNS, r)) for r in batch.rows]


def one(req, **kw) -> dict:
    batch = normalize_traces(req, ctx(**kw))
    assert batch.rejected == 0, batch.errors
    (row,) = rows(batch)
    return row


def attrs_json(row: dict) -> dict:
    return json.loads(row["attributes"]) if row["attributes"] else {}


# --- OTel GenAI, current names -------------------------------------------------------------

GENAI_CURRENT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 512,
    "gen_ai.usage.cache_creation.input_tokens": 64,
    "gen_ai.usage.reasoning.output_tokens": 100,
    "gen_ai.response.finish_reasons": ["stop", "length"],
    "gen_ai.response.time_to_first_chunk": 0.42,
    "gen_ai.request.temperature": 0.2,
    "server.address": "api.openai.com",
    "server.port": 443,
}


def test_otel_genai_current_via_protobuf():
    res = {"service.name": "chat-api", "service.version": "1.4.2", "deployment.environment.name": "prod",
           "host.name": "node-7", "k8s.pod.name": "chat-api-7f9", "k8s.namespace.name": "search"}
    sp = span(GENAI_CURRENT, parent=b"\x01" * 8, duration_ns=2_500_000_000)
    row = one(traces([sp], resource=res))
    assert row["vocabulary"] == "otel_genai"
    assert row["tenant"] == "acme"
    assert row["trace_id"] == sp.trace_id.hex() and len(row["trace_id"]) == 32
    assert row["span_id"] == sp.span_id.hex() and row["parent_span_id"] == "01" * 8
    assert row["start_time"] == datetime(2025, 11, 13, 2, 13, 20)
    assert row["end_time"] == datetime(2025, 11, 13, 2, 13, 22, 500000)
    assert row["duration_s"] == pytest.approx(2.5)
    assert (row["operation"], row["provider"]) == ("chat", "openai")
    assert (row["request_model"], row["response_model"]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert (row["input_tokens"], row["output_tokens"]) == (1200, 300)
    assert (row["cache_read_tokens"], row["cache_write_tokens"], row["reasoning_tokens"]) == (512, 64, 100)
    assert row["total_tokens"] is None
    assert row["finish_reason"] == "stop" and row["finish_reasons"] == ["stop", "length"]
    assert row["time_to_first_token_s"] == pytest.approx(0.42)
    assert row["is_streaming"] is True  # a first chunk implies streaming
    assert (row["server_address"], row["server_port"]) == ("api.openai.com", 443)
    assert (row["service_name"], row["service_version"], row["deployment_environment"]) == ("chat-api", "1.4.2", "prod")
    assert (row["host_name"], row["k8s_pod"], row["k8s_namespace"]) == ("node-7", "chat-api-7f9", "search")
    assert row["span_kind"] == "CLIENT" and row["status_code"] == "UNSET" and row["is_error"] is False
    assert attrs_json(row) == {"gen_ai.request.temperature": 0.2}
    assert json.loads(row["resource_attributes"])["host.name"] == "node-7"
    assert row["content"] is None
    assert row["ingested_at"] == datetime(2026, 1, 1, 12, 0, 0)


def test_otel_genai_current_via_sdk_encoder():
    req = sdk_traces([("chat gpt-4o", GENAI_CURRENT)], resource={"service.name": "chat-api", "team": "search"})
    row = one(req)
    assert row["vocabulary"] == "otel_genai"
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (1200, 300, 512)
    assert row["finish_reasons"] == ["stop", "length"]
    assert row["team"] == "search"  # from the resource
    assert row["feature"] == "unassigned"  # the default


# --- OTel GenAI, deprecated names ----------------------------------------------------------


def test_otel_genai_deprecated_names_and_old_provider_values():
    old = {
        "gen_ai.system": "az.ai.openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": 900,
        "gen_ai.usage.completion_tokens": 120,
    }
    for req in (traces([span(old)]), sdk_traces([("chat gpt-4o", old)])):
        row = one(req)
        assert row["vocabulary"] == "otel_genai_deprecated"
        assert row["provider"] == "azure.ai.openai"
        assert (row["input_tokens"], row["output_tokens"]) == (900, 120)
        assert row["attributes"] is None  # everything was mapped


@pytest.mark.parametrize(
    "raw, canonical",
    [("az.ai.inference", "azure.ai.inference"), ("vertex_ai", "gcp.vertex_ai"), ("gemini", "gcp.gemini"),
     ("xai", "x_ai"), ("Anthropic", "anthropic"), ("MistralAI", "mistral_ai"), ("aws.bedrock", "aws.bedrock")],
)
def test_provider_values_normalised(raw, canonical):
    row = one(traces([span({"gen_ai.system": raw, "gen_ai.request.model": "m"})]))
    assert row["provider"] == canonical


def test_current_name_wins_over_deprecated_and_loser_stays_visible():
    row = one(traces([span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 10,
                            "gen_ai.usage.prompt_tokens": 99, "gen_ai.provider.name": "openai",
                            "gen_ai.system": "az.ai.openai"})]))
    assert row["input_tokens"] == 10 and row["provider"] == "openai"
    assert attrs_json(row) == {"gen_ai.usage.prompt_tokens": 99, "gen_ai.system": "az.ai.openai"}
    assert row["vocabulary"] == "otel_genai"


# --- token counts as int, double or string; totals alone ------------------------------------


def test_tokens_as_strings_and_doubles():
    row = one(traces([span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": "1500",
                            "gen_ai.usage.output_tokens": 250.0, "gen_ai.usage.cache_read.input_tokens": " 7 ",
                            "gen_ai.usage.reasoning.output_tokens": "12.0"})]))
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["reasoning_tokens"]) == (
        1500, 250, 7, 12)


def test_unreadable_token_count_is_not_guessed_and_stays_in_attributes():
    row = one(traces([span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": "lots",
                            "gen_ai.usage.output_tokens": -3})]))
    assert row["input_tokens"] is None and row["output_tokens"] is None
    assert attrs_json(row) == {"gen_ai.usage.input_tokens": "lots", "gen_ai.usage.output_tokens": -3}


@pytest.mark.parametrize("key", ["gen_ai.usage.total_tokens", "llm.usage.total_tokens"])
def test_total_alone_is_never_split(key):
    row = one(traces([span({"gen_ai.request.model": "m", key: 4321})]))
    assert row["total_tokens"] == 4321
    assert row["input_tokens"] is None and row["output_tokens"] is None


# --- Anthropic-style cache accounting --------------------------------------------------------


def test_anthropic_cache_tokens_stored_as_reported():
    """GenAI input includes cache; the row keeps the reported numbers for the cost engine to split."""
    row = one(traces([span({
        "gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 10 + 2000 + 300,  # uncached + cache read + cache write
        "gen_ai.usage.cache_read.input_tokens": 2000,
        "gen_ai.usage.cache_creation.input_tokens": 300,
        "gen_ai.usage.output_tokens": 50,
    })]))
    assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (2310, 2000, 300)
    assert row["provider"] == "anthropic"


def test_openllmetry_04_anthropic_cache_names():
    row = one(traces([span({
        "gen_ai.system": "Anthropic", "llm.request.type": "chat", "gen_ai.request.model": "claude-3-5-sonnet",
        "gen_ai.usage.prompt_tokens": 2310, "gen_ai.usage.completion_tokens": 50,
        "gen_ai.usage.cache_read_input_tokens": 2000, "gen_ai.usage.cache_creation_input_tokens": 300,
        "llm.usage.total_tokens": 2360,
    })]))
    assert row["vocabulary"] == "openllmetry_0.4"
    assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"], row["total_tokens"]) == (
        2310, 2000, 300, 2360)


# --- OpenInference ------------------------------------------------------------------------

OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini-2024-07-18",
    "llm.provider": "azure",
    "llm.system": "openai",
    "llm.token_count.prompt": 800,
    "llm.token_count.completion": 40,
    "llm.token_count.total": 840,
    "llm.token_count.prompt_details.cache_read": 256,
    "llm.token_count.prompt_details.cache_write": 32,
    "llm.token_count.completion_details.reasoning": 8,
    "llm.cost.total": 0.0012,
    "session.id": "sess-42",
    "user.id": "u-7",
    "metadata": json.dumps({"team": "support", "feature": "triage"}),
    "input.value": "What is my balance?",
    "output.value": "It is 42.",
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.content": "What is my balance?",
    "llm.invocation_parameters": "{\"model\": \"gpt-4o-mini\", \"temperature\": 0, \"stream\": true}",
    "llm.finish_reason": "stop",
}


def test_openinference_llm_span():
    for req in (traces([span(OPENINFERENCE)], scope="openinference.instrumentation.openai"),
                sdk_traces([("ChatCompletion", OPENINFERENCE)], scope="openinference.instrumentation.openai")):
        row = one(req)
        assert row["vocabulary"] == "openinference"
        assert (row["operation"], row["provider"], row["request_model"]) == ("chat", "azure.ai.openai", "gpt-4o-mini")
        # llm.model_name is what the response reported; the request model comes from the invocation parameters
        assert row["response_model"] == "gpt-4o-mini-2024-07-18"
        assert (row["is_streaming"], row["finish_reason"]) == (True, "stop")
        assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (800, 40, 840)
        assert (row["cache_read_tokens"], row["cache_write_tokens"], row["reasoning_tokens"]) == (256, 32, 8)
        assert row["client_cost_usd"] == pytest.approx(0.0012)
        assert (row["conversation_id"], row["user_id"]) == ("sess-42", "u-7")
        assert (row["team"], row["feature"]) == ("support", "triage")  # from metadata JSON
        attrs = attrs_json(row)
        assert "input.value" not in attrs and not any(k.startswith("llm.input_messages") for k in attrs)
        assert row["content"] is None


@pytest.mark.parametrize(
    "kind, operation",
    [("EMBEDDING", "embeddings"), ("TOOL", "execute_tool"), ("AGENT", "invoke_agent"), ("RETRIEVER", "retrieval")],
)
def test_openinference_span_kinds(kind, operation):
    row = one(traces([span({"openinference.span.kind": kind, "llm.model_name": "m"})]))
    assert row["operation"] == operation


@pytest.mark.parametrize("provider, canonical", [("aws", "aws.bedrock"), ("google", "gcp.vertex_ai"),
                                                 ("anthropic", "anthropic")])
def test_openinference_provider_mapping(provider, canonical):
    row = one(traces([span({"openinference.span.kind": "LLM", "llm.model_name": "m", "llm.provider": provider})]))
    assert row["provider"] == canonical


def test_openinference_cost_from_parts():
    row = one(traces([span({"openinference.span.kind": "LLM", "llm.model_name": "m",
                            "llm.cost.prompt": 0.001, "llm.cost.completion": 0.0005})]))
    assert row["client_cost_usd"] == pytest.approx(0.0015)


# --- OpenLLMetry 0.4 / 0.5 ----------------------------------------------------------------

OPENLLMETRY_04 = {
    "gen_ai.system": "OpenAI",
    "llm.request.type": "completion",
    "gen_ai.request.model": "gpt-3.5-turbo-instruct",
    "gen_ai.response.model": "gpt-3.5-turbo-instruct",
    "gen_ai.usage.prompt_tokens": 30,
    "gen_ai.usage.completion_tokens": 70,
    "llm.usage.total_tokens": 100,
    "llm.is_streaming": False,
    "llm.response.finish_reason": "length",
    "traceloop.workflow.name": "summarise",
    "traceloop.association.properties.team": "growth",
    "traceloop.association.properties.user.id": "u-99",
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": "secret prompt",
    "gen_ai.completion.0.content": "secret answer",
}


def test_openllmetry_04():
    for req in (traces([span(OPENLLMETRY_04)]), sdk_traces([("openai.completion", OPENLLMETRY_04)])):
        row = one(req)
        assert row["vocabulary"] == "openllmetry_0.4"
        assert (row["operation"], row["provider"]) == ("text_completion", "openai")
        assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (30, 70, 100)
        assert row["is_streaming"] is False
        assert row["finish_reason"] == "length" and row["finish_reasons"] == ["length"]
        assert (row["team"], row["feature"], row["user_id"]) == ("growth", "summarise", "u-99")
        attrs = attrs_json(row)
        assert not any(k.startswith(("gen_ai.prompt", "gen_ai.completion")) for k in attrs)
        assert row["content"] is None


@pytest.mark.parametrize("req_type, operation", [("chat", "chat"), ("embedding", "embeddings"), ("rerank", "rerank")])
def test_openllmetry_request_types(req_type, operation):
    row = one(traces([span({"llm.request.type": req_type, "gen_ai.request.model": "m"})]))
    assert row["operation"] == operation


def test_openllmetry_05():
    attrs = {
        "gen_ai.provider.name": "openai", "llm.request.type": "chat", "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 22,
        "gen_ai.usage.total_tokens": 33, "gen_ai.is_streaming": True, "llm.usage.reasoning_tokens": 5,
    }
    for req in (traces([span(attrs)]), sdk_traces([("openai.chat", attrs)])):
        row = one(req)
        assert row["vocabulary"] == "openllmetry_0.5"
        assert (row["input_tokens"], row["output_tokens"], row["total_tokens"], row["reasoning_tokens"]) == (
            11, 22, 33, 5)
        assert row["is_streaming"] is True


# --- OpenLIT --------------------------------------------------------------------------------

OPENLIT = {
    "gen_ai.system": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 500,
    "gen_ai.usage.output_tokens": 60,
    "gen_ai.usage.total_tokens": 560,
    "gen_ai.usage.cost": 0.00185,
    "gen_ai.usage.prompt_tokens_details.cached_tokens": 128,
    "gen_ai.usage.completion_tokens_details.reasoning_tokens": 16,
    "gen_ai.request.is_stream": True,
    "gen_ai.server.time_to_first_token": 0.25,
    "gen_ai.application_name": "support-bot",
    "gen_ai.environment": "prod",
    "gen_ai.content.prompt": "secret",
}


def test_openlit():
    for req in (traces([span(OPENLIT)], resource={"service.name": "support-bot", "telemetry.sdk.name": "openlit"}),
                sdk_traces([("chat gpt-4o", OPENLIT)], scope="openlit.otel.tracing")):
        row = one(req)
        assert row["vocabulary"] == "openlit"
        assert row["client_cost_usd"] == pytest.approx(0.00185)
        assert (row["cache_read_tokens"], row["reasoning_tokens"], row["total_tokens"]) == (128, 16, 560)
        assert row["is_streaming"] is True and row["time_to_first_token_s"] == pytest.approx(0.25)
        assert "gen_ai.content.prompt" not in attrs_json(row)


# --- content opt-in ---------------------------------------------------------------------------


def test_content_dropped_by_default_and_kept_when_opted_in():
    attrs = {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
        "gen_ai.output.messages": "[]", "gen_ai.system_instructions": "be brief",
        "gen_ai.prompt.0.content": "old style", "traceloop.entity.input": "in",
        "gen_ai.request.max_tokens": 100,
    }
    dropped = one(traces([span(attrs)]))
    assert dropped["content"] is None
    assert attrs_json(dropped) == {"gen_ai.request.max_tokens": 100}

    kept = one(traces([span(attrs)]), capture_content=True)
    content = json.loads(kept["content"])
    assert set(content) == {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                            "gen_ai.prompt.0.content", "traceloop.entity.input"}
    assert content["gen_ai.system_instructions"] == "be brief"
    assert attrs_json(kept) == {"gen_ai.request.max_tokens": 100}  # never in attributes


# --- attribution ------------------------------------------------------------------------------


def test_attribution_span_beats_baggage_beats_resource_beats_default():
    res = {"service.name": "svc", "team": "res-team", "feature": "res-feature", "enduser.id": "res-user"}
    base = {"gen_ai.request.model": "m"}
    r1 = one(traces([span({**base, "team": "span-team", "baggage.team": "bag-team"})], resource=res))
    assert (r1["team"], r1["feature"], r1["user_id"]) == ("span-team", "res-feature", "res-user")
    r2 = one(traces([span({**base, "baggage.team": "bag-team", "baggage.user.id": "bag-user"})], resource=res))
    assert (r2["team"], r2["user_id"]) == ("bag-team", "bag-user")
    r3 = one(traces([span(base)], resource={"service.name": "svc"}))
    assert (r3["team"], r3["feature"], r3["user_id"], r3["conversation_id"]) == (
        "unassigned", "unassigned", None, None)


def test_attribution_configurable_keys_and_defaults():
    attribution = AttributionSettings(team_keys=["cost.center"], feature_keys=["app.use_case"],
                                      default_team="platform", default_feature="misc")
    row = one(traces([span({"gen_ai.request.model": "m", "cost.center": "cc-12", "team": "ignored"})]),
              attribution=attribution)
    assert (row["team"], row["feature"]) == ("cc-12", "misc")


def test_attribution_baggage_copied_as_is_and_from_service_namespace():
    row = one(traces([span({"gen_ai.request.model": "m", "feature": "autocomplete",
                            "gen_ai.conversation.id": "conv-1"})],
                     resource={"service.name": "svc", "service.namespace": "payments"}))
    assert (row["team"], row["feature"], row["conversation_id"]) == ("payments", "autocomplete", "conv-1")


# --- errors ---------------------------------------------------------------------------------


def test_error_status_with_error_type():
    row = one(traces([span({"gen_ai.request.model": "m", "error.type": "RateLimitError"}, status=2,
                           message="429 Too Many Requests")]))
    assert row["is_error"] is True and row["status_code"] == "ERROR"
    # The status message can quote the prompt: it is content, kept only with capture_content.
    assert row["error_type"] == "RateLimitError" and row["status_message"] is None
    req = traces([span({"gen_ai.request.model": "m"}, status=2, message="429 Too Many Requests")])
    assert one(req, capture_content=True)["status_message"] == "429 Too Many Requests"


def test_error_type_from_exception_event_via_sdk():
    req = sdk_traces([("chat m", {"gen_ai.request.model": "m"})], error=TimeoutError("upstream timed out"))
    row = one(req)
    assert row["is_error"] is True and row["error_type"] == "TimeoutError"


def test_error_without_any_type_is_other():
    row = one(traces([span({"gen_ai.request.model": "m"}, status=2)]))
    assert row["error_type"] == "_OTHER"


# --- rejection, skipping, unmapped -------------------------------------------------------------


def test_bad_spans_rejected_with_messages_and_good_spans_kept():
    good = span({"gen_ai.request.model": "m"})
    bad_trace = span({"gen_ai.request.model": "m"}, name="short trace", trace_id=b"\x01" * 5)
    bad_span = span({"gen_ai.request.model": "m"}, name="long span", span_id=b"\x02" * 9)
    no_start = span({"gen_ai.request.model": "m"}, name="no start", start=0)
    zero = span({"gen_ai.request.model": "m"}, name="zero", trace_id=bytes(16))
    backwards = span({"gen_ai.request.model": "m"}, name="backwards", duration_ns=-5)
    batch = normalize_traces(traces([bad_trace, good, bad_span, no_start, zero, backwards]), ctx())
    assert batch.rejected == 5
    assert "zero" in batch.errors[3] and "all-zero" in batch.errors[3]
    assert "backwards" in batch.errors[4] and "before start" in batch.errors[4]
    assert [r[2] for r in batch.rows] == [good.span_id.hex()]
    assert "short trace" in batch.errors[0] and "trace_id is 5 bytes" in batch.errors[0]
    assert "long span" in batch.errors[1] and "span_id is 9 bytes" in batch.errors[1]
    assert "no start" in batch.errors[2] and "start_time_unix_nano is 0" in batch.errors[2]


def test_error_messages_capped():
    spans = [span({"gen_ai.request.model": "m"}, trace_id=b"") for _ in range(25)]
    batch = normalize_traces(traces(spans), ctx())
    assert batch.rejected == 25 and len(batch.errors) == 10 and batch.rows == []
    assert "and 15 more" in batch.error_message


def test_plain_spans_are_skipped_and_inference_services_kept():
    plain = span({"http.request.method": "POST", "url.path": "/v1/chat"}, name="POST /v1/chat")
    batch = normalize_traces(traces([plain]), ctx())
    assert (batch.rows, batch.skipped, batch.unmapped_spans) == ([], 1, 0)

    batch = normalize_traces(traces([plain], resource={"service.name": "vllm-router"}),
                             ctx(inference_services=["vllm-router"]))
    (row,) = rows(batch)
    assert row["vocabulary"] == "inference_service" and row["service_name"] == "vllm-router"
    assert attrs_json(row) == {"http.request.method": "POST", "url.path": "/v1/chat"}


def test_unmapped_inference_spans_counted_not_stored():
    vercel = span({"langchain.model": "gpt-4o", "langchain.provider": "openai", "langchain.prompt_tokens": 10,
                   "http.method": "POST"}, name="llm")
    mapped = span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5, "gen_ai.brand_new.thing": 1,
                   "langchain.chain.type": "stuff"})
    batch = normalize_traces(traces([vercel, mapped]), ctx())
    assert batch.unmapped_spans == 1 and len(batch.rows) == 1
    # counted under the scope that sent them (traces() names it "test", no version)
    assert batch.unmapped_keys == {("test", "", k): 1 for k in (
        "langchain.model", "langchain.provider", "langchain.prompt_tokens", "gen_ai.brand_new.thing",
        "langchain.chain.type")}
    # mapped spans keep their unknown keys in attributes
    assert attrs_json(rows(batch)[0]) == {"gen_ai.brand_new.thing": 1, "langchain.chain.type": "stuff"}


def test_attribute_value_types_preserved_in_json():
    sp = span({"gen_ai.request.model": "m", "x.list": [1, 2], "x.map": {"a": True}, "x.bytes": b"\xff\x00"})
    row = one(traces([sp]))
    assert attrs_json(row) == {"x.list": [1, 2], "x.map": {"a": True}, "x.bytes": "ff00"}


def test_span_kind_and_status_names():
    sp = span({"gen_ai.request.model": "m"}, kind=trace_pb2.Span.SPAN_KIND_INTERNAL, status=1)
    row = one(traces([sp]))
    assert (row["span_kind"], row["status_code"]) == ("INTERNAL", "OK")


def test_duplicate_key_last_wins_like_the_sdk():
    sp = span({"gen_ai.request.model": "m"})
    sp.attributes.append(KeyValue(key="gen_ai.request.model", value=any_value("m2")))
    assert one(traces([sp]))["request_model"] == "m2"


def test_timestamps_truncate_to_microseconds():
    sp = span({"gen_ai.request.model": "m"}, start=T0 + 1_999, duration_ns=1)
    row = one(traces([sp]))
    assert row["start_time"].microsecond == 1 and row["duration_s"] == pytest.approx(1e-9)


def test_unmapped_keys_collapse_list_positions():
    sp = span({"langchain.messages.0.content": "a", "langchain.messages.1.content": "b", "langchain.model": "x"})
    batch = normalize_traces(traces([sp]), ctx())
    assert batch.unmapped_keys == {("test", "", "langchain.messages.*.content"): 1, ("test", "", "langchain.model"): 1}
