"""Mappings of the instrumentation libraries' own names (fast; the real libraries run in tests/instrumentations/)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.trace.v1 import trace_pb2

from inferledger.collector.columns import SPAN_COLUMNS
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.token_semantics import input_includes_cache
from inferledger.collector.vocabularies import clean_error_type, normalize_provider
from tests.otlp_builders import T0, ctx, kvs, span, traces


def rows(req, **kw) -> list[dict]:
    return [dict(zip(SPAN_COLUMNS, r)) for r in normalize_traces(req, ctx(**kw)).rows]


# What ai 5.x's streamText inner span carries (names as measured with ai 5.0.277).
VERCEL_DO_STREAM = {
    "operation.name": "ai.streamText.doStream chat-stream", "ai.operationId": "ai.streamText.doStream",
    "ai.model.provider": "openai.chat", "ai.model.id": "gpt-4o-mini", "ai.telemetry.functionId": "chat-stream",
    "ai.telemetry.metadata.user_id": "u-9", "ai.prompt.messages": "[{\"role\":\"user\",\"content\":\"hi\"}]",
    "ai.response.text": "Hi there.", "ai.response.msToFirstChunk": 361.5, "ai.response.finishReason": "stop",
    "ai.response.id": "chatcmpl-2", "ai.response.model": "gpt-4o-mini-2024-07-18", "ai.usage.inputTokens": 120,
    "ai.usage.outputTokens": 22, "ai.usage.cachedInputTokens": 64, "ai.usage.reasoningTokens": 0,
    "gen_ai.system": "openai.chat", "gen_ai.request.model": "gpt-4o-mini",
}


def test_vercel_v5_inner_span():
    (r,) = rows(traces([span(VERCEL_DO_STREAM, "ai.streamText.doStream")], scope="ai"))
    assert r["vocabulary"] == "vercel_ai" and r["scope_name"] == "ai"
    assert (r["operation"], r["provider"], r["request_model"], r["response_model"]) == (
        "chat", "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert (r["input_tokens"], r["output_tokens"], r["cache_read_tokens"]) == (120, 22, 64)
    assert r["time_to_first_token_s"] == pytest.approx(0.3615) and r["is_streaming"] is True
    assert (r["finish_reason"], r["response_id"], r["feature"], r["user_id"]) == ("stop", "chatcmpl-2", "chat-stream", "u-9")
    attrs = json.loads(r["attributes"])
    assert "ai.prompt.messages" not in attrs and "ai.response.text" not in attrs and r["content"] is None
    assert r["input_includes_cache"] is True


def test_vercel_v4_names_and_embed_tokens():
    outer = span({"ai.operationId": "ai.generateText", "ai.model.provider": "anthropic.messages",
                  "ai.model.id": "claude-sonnet-4-5", "ai.usage.promptTokens": 31, "ai.usage.completionTokens": 16,
                  "ai.prompt": "{\"prompt\":\"hi\"}"}, "ai.generateText")
    emb = span({"ai.operationId": "ai.embed.doEmbed", "ai.model.provider": "openai.embedding",
                "ai.model.id": "text-embedding-3-small", "ai.usage.tokens": 10}, "ai.embed.doEmbed")
    a, b = rows(traces([outer, emb], scope="ai"))
    assert (a["provider"], a["input_tokens"], a["output_tokens"], a["is_streaming"]) == ("anthropic", 31, 16, None)
    assert a["input_includes_cache"] is False  # the AI SDK's Anthropic provider passes input_tokens through
    assert (b["operation"], b["provider"], b["input_tokens"]) == ("embeddings", "openai", 10)


def test_openinference_first_token_event_and_embedding_model():
    ev = trace_pb2.Span.Event(name="First Token Stream Event", time_unix_nano=T0 + 250_000_000,
                              attributes=kvs({"message": "secret prompt text"}))
    chat = span({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini-2024-07-18",
                 "llm.invocation_parameters": json.dumps({"model": "gpt-4o-mini", "stream": True, "max_tokens": 5,
                                                          "user": "u-1"}),
                 "output.value": json.dumps({"id": "chatcmpl-9", "choices": []})}, "ChatCompletion", events=[ev])
    emb = span({"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
                "embedding.invocation_parameters": json.dumps({"model": "text-embedding-3-small"}),
                "llm.token_count.prompt": 10}, "CreateEmbeddings")
    c, e = rows(traces([chat, emb], scope="openinference.instrumentation.openai"))
    assert (c["request_model"], c["response_model"], c["is_streaming"]) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", True)
    assert c["time_to_first_token_s"] == pytest.approx(0.25)
    assert (c["response_id"], c["user_id"]) == ("chatcmpl-9", "u-1")
    assert "output.value" not in json.loads(c["attributes"]) and "secret" not in (c["attributes"] or "")
    assert (e["operation"], e["request_model"], e["response_model"]) == ("embeddings",) + ("text-embedding-3-small",) * 2


@pytest.mark.parametrize("key", ["gen_ai.user", "gen_ai.request.user", "user.id", "enduser.id"])
def test_user_keys(key):
    (r,) = rows(traces([span({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1, key: "u-3",
                              "session.id": "s-1"})]))
    assert (r["user_id"], r["conversation_id"]) == ("u-3", "s-1")


def test_workflow_and_task_spans_are_structure_not_unmapped():
    wf = span({"traceloop.span.kind": "workflow", "traceloop.workflow.name": "triage"}, "triage.workflow")
    task = span({"traceloop.span.kind": "task", "traceloop.entity.name": "lookup"}, "lookup.task")
    chain = span({"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 50}, "chain")
    batch = normalize_traces(traces([wf, task, chain]), ctx())
    assert batch.unmapped_spans == 0
    got = [dict(zip(SPAN_COLUMNS, r)) for r in batch.rows]
    assert [(g["operation"], g["is_inference"]) for g in got] == [
        ("invoke_workflow", False), ("task", False), ("invoke_workflow", False)]


@pytest.mark.parametrize("raw, clean", [("<class 'openai.RateLimitError'>", "openai.RateLimitError"),
                                        ("openai.RateLimitError", "openai.RateLimitError"), ("429", "429")])
def test_error_type_cleaned(raw, clean):
    assert clean_error_type(raw) == clean
    (r,) = rows(traces([span({"gen_ai.request.model": "m", "error.type": raw}, status=2)]))
    assert r["error_type"] == clean


def test_provider_api_suffixes():
    assert normalize_provider("openai.chat") == "openai"
    assert normalize_provider("azure.ai.openai") == "azure.ai.openai"
    assert normalize_provider("google.generative-ai", "ai.model.provider") == "gcp.gemini"


@pytest.mark.parametrize("scope, vocabulary, provider, includes", [
    ("openlit.otel.tracing", "openlit", "anthropic", False),
    ("opentelemetry.instrumentation.anthropic", "otel_genai", "anthropic", True),  # OpenLLMetry 0.62, measured
    ("openinference.instrumentation.anthropic", "openinference", "anthropic", True),  # measured
    ("com.anthropic.sdk.python", "otel_genai", "anthropic", True),  # measured: input 1232 = 31 + 1001 + 200
    ("ai", "vercel_ai", "anthropic", False),
    ("opentelemetry.util.genai.handler", "otel_genai", "openai", True),
    ("some.new.lib", "otel_genai", "anthropic", None),  # unknown: the provider default applies
])
def test_token_semantics_per_source(scope, vocabulary, provider, includes):
    assert input_includes_cache(scope, vocabulary, provider) is includes
