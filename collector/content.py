"""The one allow-or-drop decision for prompt and completion text.

Every vocabulary spells content differently: exact keys (`gen_ai.input.messages`,
`input.value`, Vercel's `ai.prompt`), indexed keys (`gen_ai.prompt.0.content`,
`llm.input_messages.0.message.content`), and the same keys sent once as an array
attribute (`llm.input_messages`). Without `ingest.capture_content` none of them may
reach the warehouse: span attributes, span status messages, log attributes and
log bodies all pass through `is_content_key` / `drop_content` here.
"""

from __future__ import annotations

from typing import Any

from inferledger.collector.vocabularies import CONTENT, CONTENT_PREFIXES, SPAN_KEYS

# Keys whose value is content in some vocabulary but that the vocabulary table does not
# (yet) list as CONTENT. Matched exactly, and as a prefix followed by "." or "[".
EXTRA_CONTENT_KEYS: frozenset[str] = frozenset({
    # OpenTelemetry GenAI (older event / array forms)
    "gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
    "gen_ai.system_instructions", "gen_ai.event.content", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
    "gen_ai.choice",
    # OpenInference
    "input.value", "output.value", "llm.input_messages", "llm.output_messages", "llm.prompts",
    "llm.prompt_template.template", "llm.prompt_template.variables", "retrieval.documents",
    "embedding.embeddings", "reranker.input_documents", "reranker.output_documents", "reranker.query",
    "tool.parameters", "tool_call.function.arguments", "message.content", "message.contents",
    # OpenLLMetry / Traceloop
    "traceloop.entity.input", "traceloop.entity.output",
    # Vercel AI SDK
    "ai.prompt", "ai.prompt.messages", "ai.prompt.tools", "ai.prompt.toolChoice", "ai.response.text",
    "ai.response.toolCalls", "ai.response.object", "ai.response.reasoning", "ai.toolCall.args",
    "ai.toolCall.result", "ai.value", "ai.values", "ai.embedding", "ai.embeddings", "ai.schema",
    # OpenLIT / generic event payloads
    "gen_ai.content.prompt", "gen_ai.content.completion", "content", "exception.message", "exception.stacktrace",
})

_PREFIXES: tuple[str, ...] = tuple(sorted(
    set(CONTENT_PREFIXES) | {k + "." for k in EXTRA_CONTENT_KEYS} | {k + "[" for k in EXTRA_CONTENT_KEYS}
))
_CACHE: dict[str, bool] = {}


def is_content_key(key: str) -> bool:
    """True when the value under `key` may carry prompt, completion or tool text."""
    hit = _CACHE.get(key)
    if hit is None:
        spec = SPAN_KEYS.get(key)
        hit = (spec is not None and spec[0] == CONTENT) or key in EXTRA_CONTENT_KEYS or key.startswith(_PREFIXES)
        if len(_CACHE) < 65536:
            _CACHE[key] = hit
    return hit


def drop_content(attrs: dict[str, Any]) -> dict[str, Any]:
    """`attrs` without its content keys (the same dict when it has none)."""
    for k in attrs:
        if is_content_key(k):
            return {k2: v for k2, v in attrs.items() if not is_content_key(k2)}
    return attrs
