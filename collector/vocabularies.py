"""The span-attribute vocabularies InferLedger reads, as lookup tables.

Normalization is one pass over a span's attributes with one dict lookup per key
(`SPAN_KEYS`), so adding a dialect means adding rows here, not code.

What each vocabulary reports (token counts are stored exactly as reported; the
cost engine decides what to subtract):

- ``otel_genai`` (semantic-conventions v1.41): ``gen_ai.usage.input_tokens``
  **includes** cache read and cache write tokens; ``cache_read`` /
  ``cache_creation`` are subsets of it. ``output_tokens`` includes reasoning.
  Anthropic's API reports cache tokens apart from input, but instrumentations
  following the convention add them back into ``input_tokens``.
- ``otel_genai_deprecated``: the same meaning under the older names
  (``gen_ai.system``, ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``).
- ``openinference``: ``llm.token_count.prompt`` is inclusive of cache
  (``prompt_details.cache_read`` / ``cache_write`` are subsets);
  ``completion_details.reasoning`` is a subset of completion.
- ``openllmetry_0.4``: deprecated GenAI names, ``llm.usage.total_tokens``, CamelCase
  ``gen_ai.system``, and for Anthropic the prompt count already summed with
  ``gen_ai.usage.cache_read_input_tokens`` / ``cache_creation_input_tokens``.
- ``openllmetry_0.5``: upstream GenAI names plus ``gen_ai.usage.total_tokens``.
- ``openlit``: GenAI names plus ``gen_ai.usage.cost`` (USD, client estimate) and
  OpenAI-style ``*_tokens_details`` subsets.
- ``vercel_ai``: the Vercel AI SDK's ``ai.*`` names (v4 ``promptTokens`` /
  ``completionTokens``, v5 ``inputTokens`` / ``outputTokens`` / ``cachedInputTokens``);
  ``ai.model.provider`` is ``<provider>.<api>`` (``openai.chat``), TTFT in milliseconds.
- ``inference_service``: a span of a configured inference service that carries
  none of the above; only the span's own fields are known.

A reported total without input/output is stored as ``total_tokens`` with the
split unknown (input/output NULL) - never split by guess.
"""

from __future__ import annotations

# --- canonical slots read from span attributes ------------------------------------------
OPERATION = "operation"
PROVIDER = "provider"
REQUEST_MODEL = "request_model"
RESPONSE_MODEL = "response_model"
INPUT = "input_tokens"
OUTPUT = "output_tokens"
CACHE_READ = "cache_read_tokens"
CACHE_WRITE = "cache_write_tokens"
REASONING = "reasoning_tokens"
TOTAL = "total_tokens"
TTFT = "time_to_first_token_s"
STREAMING = "is_streaming"
FINISH = "finish_reasons"
SERVER_ADDRESS = "server_address"
SERVER_PORT = "server_port"
COST = "client_cost_usd"
COST_PROMPT = "_cost_prompt"
COST_COMPLETION = "_cost_completion"
ERROR_TYPE = "error_type"
RESPONSE_ID = "response_id"
TTFT_MS = "_ttft_ms"  # time to first token in milliseconds (Vercel AI SDK)
OUTPUT_BODY = "_output_body"  # OpenInference output.value: content; only the response id is read from it
INVOCATION = "_invocation"  # OpenInference invocation parameters (a JSON string: model, stream, max_tokens)
CONTENT = "_content"  # prompt / completion text: opt-in only, never in `attributes`
KNOWN = "_known"  # a key we recognise that stays in `attributes` (not counted as unmapped)

# --- vocabulary marker bits -------------------------------------------------------------
F_GENAI = 1  # any OTel GenAI key
F_GENAI_CURRENT = 2  # a name of the current conventions
F_GENAI_DEPRECATED = 4  # a name the conventions deprecated
F_OPENINFERENCE = 8
F_OPENLLMETRY = 16
F_OPENLLMETRY_05 = 32  # a name only OpenLLMetry >= 0.5 writes
F_OPENLIT = 64
F_OTHER_AI = 128  # inference-looking prefix that no vocabulary here reads (ai., langchain., ...)
F_LLM_PREFIX = 256  # an llm.* key (OpenInference and OpenLLMetry share the prefix)
F_VERCEL = 512  # the Vercel AI SDK's ai.* keys

_G, _C, _D = F_GENAI, F_GENAI | F_GENAI_CURRENT, F_GENAI | F_GENAI_DEPRECATED
_OI, _OLM, _OLM5, _OLIT = F_OPENINFERENCE, F_OPENLLMETRY, F_OPENLLMETRY_05, F_OPENLIT
_VAI = F_VERCEL

# key -> (slot, rank, marker bits). Lower rank wins when several keys fill one slot.
SPAN_KEYS: dict[str, tuple[str, int, int]] = {
    # operation
    "gen_ai.operation.name": (OPERATION, 0, _G),
    "openinference.span.kind": (OPERATION, 1, _OI),
    "llm.request.type": (OPERATION, 2, _OLM),
    "traceloop.span.kind": (OPERATION, 3, _OLM),
    # provider
    "gen_ai.provider.name": (PROVIDER, 0, _C | _OLM5),
    "gen_ai.system": (PROVIDER, 1, _D),
    "llm.provider": (PROVIDER, 2, _OI),
    "llm.system": (PROVIDER, 3, _OI),
    # models
    "gen_ai.request.model": (REQUEST_MODEL, 0, _G),
    "llm.request.model_name": (REQUEST_MODEL, 1, _OI),
    "llm.request.model": (REQUEST_MODEL, 3, _OLM),
    "gen_ai.response.model": (RESPONSE_MODEL, 0, _G),
    "llm.response.model_name": (RESPONSE_MODEL, 1, _OI),
    "llm.response.model": (RESPONSE_MODEL, 2, _OLM),
    # OpenInference: llm.model_name is what the response reports (the dated model); the
    # request model lives in llm.invocation_parameters (INVOCATION below).
    "llm.model_name": (RESPONSE_MODEL, 3, _OI),
    "embedding.model_name": (RESPONSE_MODEL, 4, _OI),
    # input / output / total tokens
    "gen_ai.usage.input_tokens": (INPUT, 0, _C | _OLM5),
    "gen_ai.usage.prompt_tokens": (INPUT, 1, _D),
    "llm.token_count.prompt": (INPUT, 2, _OI),
    "llm.usage.prompt_tokens": (INPUT, 3, _OLM),
    "gen_ai.usage.output_tokens": (OUTPUT, 0, _C | _OLM5),
    "gen_ai.usage.completion_tokens": (OUTPUT, 1, _D),
    "llm.token_count.completion": (OUTPUT, 2, _OI),
    "llm.usage.completion_tokens": (OUTPUT, 3, _OLM),
    "gen_ai.usage.total_tokens": (TOTAL, 0, _G | _OLM5),
    "llm.usage.total_tokens": (TOTAL, 1, _OLM),
    "llm.token_count.total": (TOTAL, 2, _OI),
    # cache read / write, reasoning
    "gen_ai.usage.cache_read.input_tokens": (CACHE_READ, 0, _C),
    "gen_ai.usage.cache_read_input_tokens": (CACHE_READ, 1, _G | _OLM),
    "gen_ai.usage.prompt_tokens_details.cached_tokens": (CACHE_READ, 2, _G | _OLIT),
    "llm.token_count.prompt_details.cache_read": (CACHE_READ, 3, _OI),
    "gen_ai.usage.cache_creation.input_tokens": (CACHE_WRITE, 0, _C),
    "gen_ai.usage.cache_write.input_tokens": (CACHE_WRITE, 1, _C),
    "gen_ai.usage.cache_creation_input_tokens": (CACHE_WRITE, 2, _G | _OLM),
    "llm.token_count.prompt_details.cache_write": (CACHE_WRITE, 3, _OI),
    "gen_ai.usage.reasoning.output_tokens": (REASONING, 0, _C),
    "gen_ai.usage.reasoning_tokens": (REASONING, 1, _G | _OLM),
    "llm.usage.reasoning_tokens": (REASONING, 2, _OLM),
    "gen_ai.usage.completion_tokens_details.reasoning_tokens": (REASONING, 3, _G | _OLIT),
    "llm.token_count.completion_details.reasoning": (REASONING, 4, _OI),
    # streaming, time to first token, finish reasons
    "gen_ai.response.time_to_first_chunk": (TTFT, 0, _C),
    "gen_ai.server.time_to_first_token": (TTFT, 1, _G | _OLIT),
    "gen_ai.is_streaming": (STREAMING, 0, _OLM | _OLM5),
    "llm.is_streaming": (STREAMING, 1, _OLM),
    "gen_ai.request.is_stream": (STREAMING, 2, _G | _OLIT),
    "gen_ai.request.stream": (STREAMING, 3, _G),
    "gen_ai.response.finish_reasons": (FINISH, 0, _G),
    "llm.response.finish_reason": (FINISH, 1, _OLM),
    "llm.response.stop_reason": (FINISH, 2, _OLM),
    "llm.finish_reason": (FINISH, 3, _OI),
    "anthropic.message.stop_reason": (FINISH, 5, 0),  # the Anthropic SDK's own spans
    "llm.invocation_parameters": (INVOCATION, 0, _OI),
    "embedding.invocation_parameters": (INVOCATION, 1, _OI),
    "gen_ai.response.id": (RESPONSE_ID, 0, _G),
    # endpoint, error
    "server.address": (SERVER_ADDRESS, 0, 0),
    "server.port": (SERVER_PORT, 0, 0),
    "error.type": (ERROR_TYPE, 0, 0),
    # client-side cost (reconciliation only)
    "gen_ai.usage.cost": (COST, 0, _G | _OLIT),
    "llm.cost.total": (COST, 1, _OI),
    "llm.cost.prompt": (COST_PROMPT, 0, _OI),
    "llm.cost.completion": (COST_COMPLETION, 0, _OI),
    # content: dropped unless ingest.capture_content
    "gen_ai.input.messages": (CONTENT, 0, _C),
    "gen_ai.output.messages": (CONTENT, 0, _C),
    "gen_ai.system_instructions": (CONTENT, 0, _C),
    "gen_ai.tool.call.arguments": (CONTENT, 0, _C),
    "gen_ai.tool.call.result": (CONTENT, 0, _C),
    "gen_ai.prompt": (CONTENT, 0, _D | _OLIT),
    "gen_ai.completion": (CONTENT, 0, _D | _OLIT),
    "input.value": (CONTENT, 0, _OI),
    # content, but its top-level "id" (the provider's response id) is read before it is dropped
    "output.value": (OUTPUT_BODY, 0, _OI),
    "llm.prompts": (CONTENT, 0, _OI),
    "traceloop.entity.input": (CONTENT, 0, _OLM),
    "traceloop.entity.output": (CONTENT, 0, _OLM),
    # recognised keys that stay in `attributes` (vocabulary markers)
    "input.mime_type": (KNOWN, 0, _OI),
    "output.mime_type": (KNOWN, 0, _OI),
    "llm.token_count.prompt_details.audio": (KNOWN, 0, _OI),
    "llm.token_count.completion_details.audio": (KNOWN, 0, _OI),
    "gen_ai.usage.prompt_tokens_details.audio_tokens": (KNOWN, 0, _G | _OLIT),
    "gen_ai.usage.completion_tokens_details.audio_tokens": (KNOWN, 0, _G | _OLIT),
    "gen_ai.application_name": (KNOWN, 0, _OLIT),
    "gen_ai.environment": (KNOWN, 0, _OLIT),
    "gen_ai.sdk.version": (KNOWN, 0, _OLIT),
    "gen_ai.endpoint": (KNOWN, 0, _OLIT),
    "llm.headers": (KNOWN, 0, _OLM),
    "llm.user": (KNOWN, 0, _OLM),
    "llm.frequency_penalty": (KNOWN, 0, _OLM),
    "llm.presence_penalty": (KNOWN, 0, _OLM),
    "llm.top_k": (KNOWN, 0, _OLM),
    "llm.chat.stop_sequences": (KNOWN, 0, _OLM),
    "gen_ai.conversation.id": (KNOWN, 0, _C),
    "gen_ai.data_source.id": (KNOWN, 0, _C),
    "gen_ai.output.type": (KNOWN, 0, _C),
}

# The Vercel AI SDK (`experimental_telemetry`): v4 names (promptTokens / completionTokens)
# and v5+ names (inputTokens / outputTokens / cachedInputTokens / reasoningTokens).
# Outer spans (ai.generateText) and inner ones (ai.generateText.doGenerate) both carry
# usage; collector.dedupe keeps one of them as the inference row.
VERCEL_KEYS: dict[str, tuple[str, int, int]] = {
    "ai.operationId": (OPERATION, 4, _VAI),
    "ai.model.provider": (PROVIDER, 4, _VAI),
    "ai.model.id": (REQUEST_MODEL, 4, _VAI),
    "ai.response.model": (RESPONSE_MODEL, 5, _VAI),
    "ai.response.id": (RESPONSE_ID, 1, _VAI),
    "ai.usage.inputTokens": (INPUT, 4, _VAI),
    "ai.usage.promptTokens": (INPUT, 5, _VAI),
    "ai.usage.outputTokens": (OUTPUT, 4, _VAI),
    "ai.usage.completionTokens": (OUTPUT, 5, _VAI),
    "ai.usage.totalTokens": (TOTAL, 3, _VAI),
    "ai.usage.tokens": (INPUT, 6, _VAI),  # ai.embed / ai.embedMany
    "ai.usage.cachedInputTokens": (CACHE_READ, 4, _VAI),
    "ai.usage.reasoningTokens": (REASONING, 5, _VAI),
    "ai.response.msToFirstChunk": (TTFT_MS, 0, _VAI),
    "ai.response.finishReason": (FINISH, 4, _VAI),
    "ai.prompt": (CONTENT, 0, _VAI),
    "ai.prompt.messages": (CONTENT, 0, _VAI),
    "ai.prompt.tools": (CONTENT, 0, _VAI),
    "ai.prompt.toolChoice": (CONTENT, 0, _VAI),
    "ai.response.text": (CONTENT, 0, _VAI),
    "ai.response.toolCalls": (CONTENT, 0, _VAI),
    "ai.response.object": (CONTENT, 0, _VAI),
    "ai.response.reasoning": (CONTENT, 0, _VAI),
    "ai.response.reasoningText": (CONTENT, 0, _VAI),
    "ai.response.files": (CONTENT, 0, _VAI),
    "ai.toolCall.args": (CONTENT, 0, _VAI),
    "ai.toolCall.result": (CONTENT, 0, _VAI),
    "ai.toolCall.input": (CONTENT, 0, _VAI),
    "ai.toolCall.output": (CONTENT, 0, _VAI),
    "ai.value": (CONTENT, 0, _VAI),
    "ai.values": (CONTENT, 0, _VAI),
    "ai.embedding": (CONTENT, 0, _VAI),
    "ai.embeddings": (CONTENT, 0, _VAI),
    "ai.schema": (CONTENT, 0, _VAI),
    "ai.response.msToFinish": (KNOWN, 0, _VAI),
    "ai.response.timestamp": (KNOWN, 0, _VAI),
    "ai.response.providerMetadata": (KNOWN, 0, _VAI),
    "ai.response.avgCompletionTokensPerSecond": (KNOWN, 0, _VAI),
    "ai.response.avgOutputTokensPerSecond": (KNOWN, 0, _VAI),
    "ai.telemetry.functionId": (KNOWN, 0, _VAI),
    "ai.toolCall.name": (KNOWN, 0, _VAI),
    "ai.toolCall.id": (KNOWN, 0, _VAI),
}
SPAN_KEYS.update(VERCEL_KEYS)

# Content under a key prefix (indexed message attributes of the older conventions).
CONTENT_PREFIXES: tuple[str, ...] = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "gen_ai.content.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts.",
    "llm.prompt_template.",
    "retrieval.documents.",
    "embedding.embeddings.",
    "reranker.input_documents.",
    "reranker.output_documents.",
    "reranker.query",
    "ai.prompt.",
)

# First dotted segment of a key -> marker bits. A span with any of these looks like inference.
INFERENCE_HEADS: dict[str, int] = {
    "gen_ai": F_GENAI,
    "llm": F_LLM_PREFIX,  # OpenInference and OpenLLMetry both use llm.*; the specific keys decide
    "openinference": F_OPENINFERENCE,
    "traceloop": F_OPENLLMETRY,
    "ai": F_VERCEL,
    "langchain": F_OTHER_AI,
}

# Inference-prefixed keys we recognise but keep only in `attributes`: not counted as unmapped.
KNOWN_PREFIXES: tuple[str, ...] = (
    "gen_ai.request.",
    "gen_ai.tool.",
    "gen_ai.agent.",
    "gen_ai.openai.",
    "gen_ai.embeddings.",
    "gen_ai.evaluation.",
    "gen_ai.data_source.",
    "gen_ai.user.",
    "llm.tools.",
    "llm.function_call",
    "llm.openai.",
    "llm.request.functions.",
    "llm.request.max_tokens",
    "llm.temperature",
    "llm.top_p",
    "openinference.",
    "traceloop.entity.",
    "traceloop.workflow.",
    "traceloop.association.properties.",
    "ai.settings.",
    "ai.request.headers.",
    "ai.telemetry.",
    "ai.usage.",
    "ai.model.",
    "ai.response.providerMetadata",
    "ai.schema.",
    "embedding.",
)

# --- value maps -------------------------------------------------------------------------
OPERATION_VALUES: dict[str, dict[str, str | None]] = {
    "gen_ai.operation.name": {
        "completion": "text_completion",
        "embedding": "embeddings",
    },
    "openinference.span.kind": {
        "LLM": "chat",
        "EMBEDDING": "embeddings",
        "TOOL": "execute_tool",
        "AGENT": "invoke_agent",
        "RETRIEVER": "retrieval",
        "RERANKER": "rerank",
        "CHAIN": "invoke_workflow",
        "GUARDRAIL": None,
        "EVALUATOR": None,
        "UNKNOWN": None,
    },
    "llm.request.type": {
        "chat": "chat",
        "completion": "text_completion",
        "embedding": "embeddings",
        "rerank": "rerank",
        "unknown": None,
    },
    "traceloop.span.kind": {
        "workflow": "invoke_workflow",
        "agent": "invoke_agent",
        "tool": "execute_tool",
        "task": "task",  # a step of a workflow: application structure, not inference
    },
    "ai.operationId": {
        "ai.generateText": "chat",
        "ai.generateText.doGenerate": "chat",
        "ai.streamText": "chat",
        "ai.streamText.doStream": "chat",
        "ai.generateObject": "chat",
        "ai.generateObject.doGenerate": "chat",
        "ai.streamObject": "chat",
        "ai.streamObject.doStream": "chat",
        "ai.embed": "embeddings",
        "ai.embed.doEmbed": "embeddings",
        "ai.embedMany": "embeddings",
        "ai.embedMany.doEmbed": "embeddings",
        "ai.toolCall": "execute_tool",
    },
}
# For keys whose map is exhaustive, an unknown value maps to None (not passed through).
OPERATION_EXHAUSTIVE = frozenset({"openinference.span.kind", "traceloop.span.kind"})

# Operations that describe application structure (workflows, agents, tools, retrieval),
# not a call to a model: such spans are stored but are never inference requests (no
# request count, SLO total, drift sample or cost line), even when they carry summed usage.
STRUCTURE_OPERATIONS = frozenset({
    "invoke_workflow", "invoke_agent", "create_agent", "execute_tool", "task", "retrieval",
})

# Vercel AI SDK operation ids of streamed calls (no separate streaming flag is sent).
STREAMING_OPERATION_IDS = frozenset({
    "ai.streamText", "ai.streamText.doStream", "ai.streamObject", "ai.streamObject.doStream",
})

# Span events that mark the first streamed token: time to first token = event time - span start.
TTFT_EVENTS = frozenset({"First Token Stream Event", "gen_ai.content.first_token"})

# Scope names of instrumentation libraries, for the vocabulary when attributes alone are
# ambiguous: (prefix, marker bits); the Vercel AI SDK's tracer is named exactly "ai".
SCOPE_PREFIXES: tuple[tuple[str, int], ...] = (
    ("openinference", F_OPENINFERENCE),
    ("openlit", F_OPENLIT),
)
SCOPE_NAMES: dict[str, int] = {"ai": F_VERCEL}


def scope_flags_of(name: str) -> int:
    """Marker bits an instrumentation scope name implies (0: none)."""
    f = SCOPE_NAMES.get(name)
    if f is not None:
        return f
    for prefix, bits in SCOPE_PREFIXES:
        if name.startswith(prefix):
            return bits
    return 0

# Provider names after lower-casing: old GenAI values, OpenLLMetry CamelCase, OpenInference.
PROVIDER_ALIASES: dict[str, str] = {
    "az.ai.inference": "azure.ai.inference",
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "azureopenai": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex ai": "gcp.vertex_ai",
    "google": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "google_genai": "gcp.gen_ai",
    "xai": "x_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "watsonx": "ibm.watsonx.ai",
    "ibm": "ibm.watsonx.ai",
}


PROVIDER_ALIASES.update({"azure-openai": "azure.ai.openai", "amazon-bedrock": "aws.bedrock",
                         "google-vertex": "gcp.vertex_ai", "google.generative-ai": "gcp.gemini"})

# Keys whose value is `<provider>.<api>` (Vercel: `openai.chat`, `anthropic.messages`).
PROVIDER_WITH_API = frozenset({"ai.model.provider"})
# API suffixes the Vercel AI SDK appends to a provider name, also in the gen_ai.system of its inner spans.
PROVIDER_API_SUFFIXES = frozenset({"chat", "responses", "completion", "embedding", "messages", "image",
                                   "transcription", "speech", "rerank"})


def normalize_provider(value: str, key: str | None = None) -> str | None:
    """Canonical provider name: lower-case, old and dialect names mapped to the current ones."""
    v = value.strip().lower()
    if not v:
        return None
    if v not in PROVIDER_ALIASES and "." in v:
        head, _, tail = v.partition(".")
        if key in PROVIDER_WITH_API or tail in PROVIDER_API_SUFFIXES:
            v = head
    return PROVIDER_ALIASES.get(v, v)


_CLASS_REPR = "<class '"


def clean_error_type(value: str) -> str:
    """`<class 'openai.RateLimitError'>` (Python's repr of a class) -> `openai.RateLimitError`.

    Instrumentations that call str(type(exc)) send the repr; the canonical form is the
    qualified class name, so the same error groups under one value whatever sent it.
    """
    v = value.strip()
    if v.startswith(_CLASS_REPR) and v.endswith("'>"):
        v = v[len(_CLASS_REPR):-2]
    return v


def normalize_operation(key: str, value: str) -> str | None:
    table = OPERATION_VALUES.get(key)
    if table is None:
        return value or None
    if key in OPERATION_EXHAUSTIVE:
        return table.get(value, table.get(value.upper(), table.get(value.lower())))
    mapped = table.get(value, value)
    return mapped or None


# Every vocabulary's name as stored in `spans.vocabulary`.
VOCABULARIES = (
    "otel_genai",
    "otel_genai_deprecated",
    "openinference",
    "openllmetry_0.4",
    "openllmetry_0.5",
    "openlit",
    "vercel_ai",
    "inference_service",
)


def vocabulary_of(flags: int, openlit_resource: bool) -> str | None:
    """Which dialect a span speaks, from the marker bits of its keys (None: no GenAI dialect)."""
    if flags & F_OPENINFERENCE:
        return "openinference"
    if flags & F_VERCEL:
        return "vercel_ai"
    if flags & F_OPENLIT or (openlit_resource and flags & F_GENAI):
        return "openlit"
    if flags & F_OPENLLMETRY:
        return "openllmetry_0.5" if flags & F_OPENLLMETRY_05 else "openllmetry_0.4"
    if flags & F_GENAI:
        if flags & F_GENAI_DEPRECATED and not flags & F_GENAI_CURRENT:
            return "otel_genai_deprecated"
        return "otel_genai"
    return None
