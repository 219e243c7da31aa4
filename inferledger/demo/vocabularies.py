"""How each instrumentation in the field writes a request down (CONVENTIONS.md).

A real fleet is instrumented service by service, so each simulated service
speaks one dialect: the current OTel GenAI conventions, their deprecated names,
OpenInference, OpenLLMetry 0.4 / 0.5 or OpenLIT. Pure functions from a
`Request` to a span name, kind, scope and attribute dict; the emitter turns them
into SDK spans.

Attribution is the same in every dialect so the collector's default keys find
it: `team` (resource or span attribute, per service), `feature`, `user.id`,
`gen_ai.conversation.id` (`conversation.id` in the deprecated dialect, which
predates the key); dialect-native copies (OpenInference `session.id` and
`metadata`, OpenLLMetry `traceloop.association.properties.*`) ride along.
"""

from __future__ import annotations

import json
from typing import Any

from inferledger.collector.vocabularies import VOCABULARIES as COLLECTOR_VOCABULARIES
from inferledger.demo.fleet import Request

# The dialects the fleet speaks: every vocabulary the collector reads, except the
# catch-all for configured inference services and the Vercel AI SDK (a node library
# whose outer/inner span pairs the demo does not imitate).
VOCABULARIES = tuple(v for v in COLLECTOR_VOCABULARIES if v not in ("inference_service", "vercel_ai"))

# (scope name, scope version) per dialect and provider family
_SCOPES = {
    "otel_genai": ("opentelemetry.instrumentation.openai_v2", "2.3b0"),
    "otel_genai_deprecated": ("opentelemetry.instrumentation.openai_v2", "2.0b0"),
    "openinference": ("openinference.instrumentation.anthropic", "0.1.18"),
    "openllmetry_0.4": ("opentelemetry.instrumentation.openai.v1", "0.40.14"),
    "openllmetry_0.5": ("opentelemetry.instrumentation.bedrock", "0.50.1"),
    "openlit": ("openlit.otel.tracing", "1.35.4"),
}

_CAMEL = {"openai": "OpenAI", "anthropic": "Anthropic", "aws.bedrock": "AWS", "vllm": "vLLM"}
_OI_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "aws.bedrock": "aws", "vllm": "openai"}
_OI_KIND = {"chat": "LLM", "embeddings": "EMBEDDING"}
_TRACELOOP_TYPE = {"chat": "chat", "embeddings": "embedding"}


def scope_of(req: Request) -> tuple[str, str]:
    return _SCOPES[req.vocabulary]


def resource_attributes(req: Request) -> dict[str, Any]:
    """The resource of the service replica that made the call."""
    attrs: dict[str, Any] = {
        "service.name": req.service,
        "service.version": req.service_version,
        "service.namespace": req.k8s_namespace,
        "deployment.environment": req.environment,
        "host.name": req.host_name,
        "k8s.namespace.name": req.k8s_namespace,
        "k8s.pod.name": req.k8s_pod,
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "openlit" if req.vocabulary == "openlit" else "opentelemetry",
    }
    if req.vocabulary == "otel_genai":
        attrs["deployment.environment.name"] = req.environment
    if req.attribution == "resource":
        attrs["team"] = req.team
    return attrs


def span_name(req: Request) -> str:
    if req.vocabulary in ("otel_genai", "otel_genai_deprecated", "openlit"):
        return f"{req.operation} {req.request_model}"
    if req.vocabulary == "openinference":
        return "Messages" if req.provider == "anthropic" else (
            "Embeddings" if req.operation == "embeddings" else "ChatCompletion")
    family = {"aws.bedrock": "bedrock", "vllm": "openai"}.get(req.provider, req.provider)
    return f"{family}.{'chat' if req.operation == 'chat' else 'embeddings'}"


def span_kind_name(req: Request) -> str:
    """OpenInference spans are INTERNAL; the client instrumentations emit CLIENT."""
    return "INTERNAL" if req.vocabulary == "openinference" else "CLIENT"


def span_attributes(req: Request) -> dict[str, Any]:
    """The span's attributes in the request's dialect."""
    render = _RENDERERS[req.vocabulary]
    attrs = render(req)
    attrs["feature"] = req.feature
    if req.attribution == "span":
        attrs["team"] = req.team
    if req.user_id is not None:
        attrs["user.id"] = req.user_id
    if req.conversation_id is not None:
        # gen_ai.conversation.id arrived with the current conventions; older
        # instrumentations carry the conversation under an application key.
        key = "conversation.id" if req.vocabulary == "otel_genai_deprecated" else "gen_ai.conversation.id"
        attrs[key] = req.conversation_id
    if req.error_type is not None:
        attrs["error.type"] = req.error_type
    return {k: v for k, v in attrs.items() if v is not None}


def _endpoint(req: Request) -> dict[str, Any]:
    return {"server.address": req.server_address, "server.port": req.server_port}


def _otel_genai(req: Request) -> dict[str, Any]:
    a: dict[str, Any] = {
        "gen_ai.operation.name": req.operation,
        "gen_ai.provider.name": req.provider,
        "gen_ai.request.model": req.request_model,
        "gen_ai.response.model": req.response_model,
        **_endpoint(req),
    }
    if req.input_tokens is not None:
        a["gen_ai.usage.input_tokens"] = req.input_tokens
    if req.output_tokens is not None:
        a["gen_ai.usage.output_tokens"] = req.output_tokens
    if req.cache_read_tokens:
        a["gen_ai.usage.cache_read.input_tokens"] = req.cache_read_tokens
    if req.cache_write_tokens:
        a["gen_ai.usage.cache_creation.input_tokens"] = req.cache_write_tokens
    if req.reasoning_tokens:
        a["gen_ai.usage.reasoning.output_tokens"] = req.reasoning_tokens
    if req.finish_reason:
        a["gen_ai.response.finish_reasons"] = (req.finish_reason,)
    if req.ttft_s is not None:
        a["gen_ai.response.time_to_first_chunk"] = round(req.ttft_s, 4)
    if req.response_model:
        a["gen_ai.response.id"] = f"resp_{req.span_id:016x}"
    return a


def _otel_genai_deprecated(req: Request) -> dict[str, Any]:
    a: dict[str, Any] = {
        "gen_ai.operation.name": req.operation,
        "gen_ai.system": req.provider,
        "gen_ai.request.model": req.request_model,
        "gen_ai.response.model": req.response_model,
        **_endpoint(req),
    }
    if req.input_tokens is not None:
        a["gen_ai.usage.prompt_tokens"] = req.input_tokens
    if req.output_tokens is not None:
        a["gen_ai.usage.completion_tokens"] = req.output_tokens
    if req.finish_reason:
        a["gen_ai.response.finish_reasons"] = (req.finish_reason,)
    return a


def _openinference(req: Request) -> dict[str, Any]:
    a: dict[str, Any] = {
        "openinference.span.kind": _OI_KIND[req.operation],
        "llm.model_name": req.response_model or req.request_model,
        "llm.request.model_name": req.request_model,
        "llm.response.model_name": req.response_model,
        "llm.provider": _OI_PROVIDER[req.provider],
        "llm.system": req.provider if req.provider != "aws.bedrock" else "anthropic",
        "llm.invocation_parameters": json.dumps({"model": req.request_model, "stream": req.streaming}),
        "metadata": json.dumps({"team": req.team, "feature": req.feature}),
    }
    if req.input_tokens is not None:
        a["llm.token_count.prompt"] = req.input_tokens
    if req.output_tokens is not None:
        a["llm.token_count.completion"] = req.output_tokens
        a["llm.token_count.total"] = req.input_tokens + req.output_tokens
    if req.cache_read_tokens:
        a["llm.token_count.prompt_details.cache_read"] = req.cache_read_tokens
    if req.cache_write_tokens:
        a["llm.token_count.prompt_details.cache_write"] = req.cache_write_tokens
    if req.reasoning_tokens:
        a["llm.token_count.completion_details.reasoning"] = req.reasoning_tokens
    if req.client_cost_usd is not None:
        a["llm.cost.total"] = req.client_cost_usd
    if req.conversation_id is not None:
        a["session.id"] = req.conversation_id
    return a


def _openllmetry(req: Request, version: str) -> dict[str, Any]:
    a: dict[str, Any] = {
        "gen_ai.request.model": req.request_model,
        "gen_ai.response.model": req.response_model,
        "llm.request.type": _TRACELOOP_TYPE[req.operation],
        "traceloop.workflow.name": req.feature,
        "traceloop.association.properties.team": req.team,
        "traceloop.association.properties.feature": req.feature,
        **_endpoint(req),
    }
    if req.user_id is not None:
        a["traceloop.association.properties.user_id"] = req.user_id
    total = (req.input_tokens or 0) + (req.output_tokens or 0) if req.input_tokens is not None else None
    if version == "0.4":
        a["gen_ai.system"] = _CAMEL.get(req.provider, req.provider)
        a["llm.is_streaming"] = req.streaming
        if req.input_tokens is not None:
            a["gen_ai.usage.prompt_tokens"] = req.input_tokens
            a["llm.usage.total_tokens"] = total
        if req.output_tokens is not None:
            a["gen_ai.usage.completion_tokens"] = req.output_tokens
        if req.cache_read_tokens:
            a["gen_ai.usage.cache_read_input_tokens"] = req.cache_read_tokens
        if req.cache_write_tokens:
            a["gen_ai.usage.cache_creation_input_tokens"] = req.cache_write_tokens
        if req.reasoning_tokens:
            a["llm.usage.reasoning_tokens"] = req.reasoning_tokens
        if req.finish_reason:
            a["llm.response.finish_reason"] = req.finish_reason
    else:
        a["gen_ai.system"] = req.provider
        a["gen_ai.is_streaming"] = req.streaming
        if req.input_tokens is not None:
            a["gen_ai.usage.input_tokens"] = req.input_tokens
            a["gen_ai.usage.total_tokens"] = total
        if req.output_tokens is not None:
            a["gen_ai.usage.output_tokens"] = req.output_tokens
        if req.reasoning_tokens:
            a["gen_ai.usage.reasoning_tokens"] = req.reasoning_tokens
        if req.finish_reason:
            a["gen_ai.response.finish_reasons"] = (req.finish_reason,)
    return a


def _openlit(req: Request) -> dict[str, Any]:
    a: dict[str, Any] = {
        "gen_ai.operation.name": req.operation,
        "gen_ai.system": req.provider,
        "gen_ai.request.model": req.request_model,
        "gen_ai.response.model": req.response_model,
        "gen_ai.environment": req.environment,
        "gen_ai.application_name": req.service,
        "gen_ai.request.is_stream": req.streaming,
        **_endpoint(req),
    }
    if req.input_tokens is not None:
        a["gen_ai.usage.input_tokens"] = req.input_tokens
        a["gen_ai.usage.total_tokens"] = req.input_tokens + (req.output_tokens or 0)
    if req.output_tokens is not None:
        a["gen_ai.usage.output_tokens"] = req.output_tokens
    if req.cache_read_tokens:
        a["gen_ai.usage.prompt_tokens_details.cached_tokens"] = req.cache_read_tokens
    if req.reasoning_tokens:
        a["gen_ai.usage.completion_tokens_details.reasoning_tokens"] = req.reasoning_tokens
    if req.client_cost_usd is not None:
        a["gen_ai.usage.cost"] = req.client_cost_usd
    if req.finish_reason:
        a["gen_ai.response.finish_reasons"] = (req.finish_reason,)
    if req.ttft_s is not None:
        a["gen_ai.server.time_to_first_token"] = round(req.ttft_s, 4)
    return a


_RENDERERS = {
    "otel_genai": _otel_genai,
    "otel_genai_deprecated": _otel_genai_deprecated,
    "openinference": _openinference,
    "openllmetry_0.4": lambda r: _openllmetry(r, "0.4"),
    "openllmetry_0.5": lambda r: _openllmetry(r, "0.5"),
    "openlit": _openlit,
}
