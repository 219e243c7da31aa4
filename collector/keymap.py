"""The vocabulary table and the attribution keys compiled into one lookup map.

normalize_traces reads each span attribute with a single dict lookup in this
map; it is built once per attribution plan (settings), not per span.
"""

from __future__ import annotations

from inferledger.collector.attribution import AttributionPlan, span_key_ranks
from inferledger.collector.vocabularies import (
    CACHE_READ,
    CACHE_WRITE,
    CONTENT,
    CONTENT_PREFIXES,
    COST,
    COST_COMPLETION,
    COST_PROMPT,
    ERROR_TYPE,
    FINISH,
    INFERENCE_HEADS,
    INPUT,
    INVOCATION,
    KNOWN,
    KNOWN_PREFIXES,
    OPERATION,
    OUTPUT,
    OUTPUT_BODY,
    PROVIDER,
    REASONING,
    REQUEST_MODEL,
    RESPONSE_ID,
    RESPONSE_MODEL,
    SERVER_ADDRESS,
    SERVER_PORT,
    SPAN_KEYS,
    STREAMING,
    TOTAL,
    TTFT,
    TTFT_MS,
)

# Slots of the compiled key map: canonical slots get indices 0..N-1, the rest are negative.
_SLOTS = (OPERATION, PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, INPUT, OUTPUT, CACHE_READ, CACHE_WRITE,
          REASONING, TOTAL, TTFT, STREAMING, FINISH, SERVER_ADDRESS, SERVER_PORT, COST, COST_PROMPT,
          COST_COMPLETION, ERROR_TYPE, RESPONSE_ID, TTFT_MS, INVOCATION, OUTPUT_BODY)
(S_OPERATION, S_PROVIDER, S_REQUEST_MODEL, S_RESPONSE_MODEL, S_INPUT, S_OUTPUT, S_CACHE_READ, S_CACHE_WRITE,
 S_REASONING, S_TOTAL, S_TTFT, S_STREAMING, S_FINISH, S_SERVER_ADDRESS, S_SERVER_PORT, S_COST, S_COST_PROMPT,
 S_COST_COMPLETION, S_ERROR_TYPE, S_RESPONSE_ID, S_TTFT_MS, S_INVOCATION, S_OUTPUT_BODY) = range(len(_SLOTS))
N_SLOTS = len(_SLOTS)
S_KNOWN, S_CONTENT, S_OTHER, S_METADATA = -1, -2, -3, -4
NO_RANK = 1 << 30

_COMPILED: dict[AttributionPlan, dict[str, tuple]] = {}


def head_flags(key: str) -> int:
    dot = key.find(".")
    return INFERENCE_HEADS.get(key[:dot], 0) if dot > 0 else 0


def compiled_keys(plan: AttributionPlan) -> dict[str, tuple]:
    """key -> (slot, rank, marker bits, attribution ((field, rank), ...) or None, counts-as-unmapped).

    The vocabulary table and the attribution keys merged into one map, so each
    span attribute costs one dict lookup. Built once per attribution plan.
    """
    m = _COMPILED.get(plan)
    if m is not None:
        return m
    slot_index = {name: i for i, name in enumerate(_SLOTS)}
    m = {}
    for k, (slot, rank, flags) in SPAN_KEYS.items():
        if slot == KNOWN:
            si = S_KNOWN
        elif slot == CONTENT:
            si = S_CONTENT
        else:
            si = slot_index[slot]
        m[k] = (si, rank, flags, None, False)
    for k, ranks in span_key_ranks(plan).items():
        if k in m:
            si, rank, flags, _, odd = m[k]
            m[k] = (si, rank, flags, ranks, odd)
        else:
            hf = head_flags(k)
            odd = bool(hf) and not k.startswith(KNOWN_PREFIXES) and not k.startswith(CONTENT_PREFIXES)
            m[k] = (S_OTHER, 0, hf, ranks, odd)
    if "metadata" not in m:
        m["metadata"] = (S_METADATA, 0, 0, None, False)
    if len(_COMPILED) < 64:
        _COMPILED[plan] = m
    return m


def key_pattern(key: str) -> str:
    """Indexed keys collapse to one pattern (`llm.input_messages.3.message.role` -> `...*.message.role`),
    so the unmapped-keys report counts kinds of keys, not list positions."""
    if not any(c.isdigit() for c in key):
        return key
    return ".".join("*" if p.isdigit() else p for p in key.split("."))
