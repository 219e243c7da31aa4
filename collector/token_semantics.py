"""Whether a span's input token count includes cache tokens, decided per source.

Anthropic's API reports ``input_tokens`` without cache reads and writes; OpenAI's
``prompt_tokens`` include cached tokens. What reaches us depends on the
instrumentation that copied the count onto the span, not on the provider alone:
OpenLIT passes Anthropic's number through as is, OpenLLMetry and OpenInference add
the cache tokens in (as the GenAI conventions ask). So the answer is looked up by
(instrumentation scope or vocabulary, provider) in `RULES`, first match wins; no
match leaves it NULL and the price book's provider default applies
(``analytics.cost.input_excludes_cache_providers``).

The rules marked measured are checked against the real library in tests/instrumentations/.
"""

from __future__ import annotations

from functools import lru_cache

# (scope-name prefix or None, vocabulary or None, provider or None) -> input includes cache.
# None matches anything; the first matching rule wins, so specific rules come first.
RULES: tuple[tuple[str | None, str | None, str | None, bool], ...] = (
    # OpenLIT: Anthropic's input_tokens as the API reports them, cache apart (measured, 1.45.0).
    ("openlit", None, "anthropic", False),
    (None, "openlit", "anthropic", False),
    # OpenLLMetry's Anthropic instrumentation sums input + cache read + cache write.
    ("opentelemetry.instrumentation.anthropic", None, "anthropic", True),
    # OpenInference's Anthropic instrumentor reports llm.token_count.prompt inclusive of cache.
    ("openinference", None, "anthropic", True),
    (None, "openinference", None, True),
    # The Anthropic SDK's own spans (2.10) follow the GenAI conventions: input includes cache (measured).
    ("com.anthropic.sdk", None, "anthropic", True),
    # The Vercel AI SDK's Anthropic provider (@ai-sdk/anthropic 2.x) reports Anthropic's input_tokens
    # (cache apart) as inputTokens; read from its source, not measured (the tests drive OpenAI through it).
    (None, "vercel_ai", "anthropic", False),
    # OpenAI-compatible APIs always include cached tokens in the prompt count.
    (None, None, "openai", True),
    (None, None, "azure.ai.openai", True),
)


@lru_cache(maxsize=4096)  # once per row: a handful of (scope, vocabulary, provider) sources repeat
def input_includes_cache(scope_name: str | None, vocabulary: str | None, provider: str | None) -> bool | None:
    """True / False from the first matching rule; None when no rule knows this source."""
    scope = scope_name or ""
    for r_scope, r_vocab, r_provider, includes in RULES:
        if r_scope is not None and not scope.startswith(r_scope):
            continue
        if r_vocab is not None and vocabulary != r_vocab:
            continue
        if r_provider is not None and provider != r_provider:
            continue
        return includes
    return None
