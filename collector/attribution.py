"""Who a span is billed to: team, feature, user and conversation.

Sources, first hit wins: the span's own attributes (by each configured key in
order), baggage copied onto the span (a BaggageSpanProcessor writes it either
as-is or with a ``baggage.`` prefix), OpenLLMetry's
``traceloop.association.properties.<key>``, the Vercel AI SDK's
``ai.telemetry.metadata.<key>``, OpenInference's ``metadata`` JSON
string, then the resource attributes, then the configured default. The lookup
plan is built once per settings object, not per span: per span it is a handful
of dict lookups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from inferledger.collector.attributes import first_str
from inferledger.collector.settings import AttributionSettings

FIELDS = ("team", "feature", "user", "conversation")
# The instrumentations' own attribution keys, read (after the configured ones) even when
# the configuration lists others: OpenInference `user.id` / `session.id`, OTel `enduser.id`,
# OpenLLMetry `gen_ai.user` / `llm.user`, OpenLIT `gen_ai.request.user`, the Vercel AI
# SDK's `ai.telemetry.functionId` as the feature.
_FALLBACK_KEYS = {
    "feature": ("ai.telemetry.functionId",),
    "user": ("user.id", "enduser.id", "gen_ai.user", "gen_ai.request.user", "gen_ai.user.id", "llm.user", "user_id"),
    "conversation": ("session.id", "gen_ai.conversation.id", "session_id"),
}
# Prefixes under which SDKs copy per-request attribution onto a span.
_SPAN_PREFIXES = ("baggage.", "traceloop.association.properties.", "ai.telemetry.metadata.")


@dataclass(frozen=True)
class AttributionPlan:
    keys: tuple[tuple[str, ...], ...]  # per field: configured keys in order
    span_candidates: tuple[tuple[str, ...], ...]  # per field: span-attribute keys in lookup order
    defaults: tuple[str | None, ...]


_PLANS: dict[tuple, AttributionPlan] = {}


def plan_for(settings: AttributionSettings) -> AttributionPlan:
    """The lookup plan for these settings (memoised on the key lists)."""
    cache_key = (
        tuple(settings.team_keys),
        tuple(settings.feature_keys),
        tuple(settings.user_keys),
        tuple(settings.conversation_keys),
        settings.default_team,
        settings.default_feature,
    )
    plan = _PLANS.get(cache_key)
    if plan is not None:
        return plan
    keys = []
    cands = []
    for name, configured in zip(FIELDS, cache_key[:4]):
        ks = tuple(dict.fromkeys(configured + _FALLBACK_KEYS.get(name, ())))
        keys.append(ks)
        cands.append(tuple(ks) + tuple(pre + k for pre in _SPAN_PREFIXES for k in ks))
    plan = AttributionPlan(
        keys=tuple(keys),
        span_candidates=tuple(cands),
        defaults=(settings.default_team, settings.default_feature, None, None),
    )
    if len(_PLANS) < 64:
        _PLANS[cache_key] = plan
    return plan


def span_key_ranks(plan: AttributionPlan) -> dict[str, tuple[tuple[int, int], ...]]:
    """span-attribute key -> ((field index, rank), ...): lower rank wins; one dict lookup per key."""
    out: dict[str, list[tuple[int, int]]] = {}
    for fi, cands in enumerate(plan.span_candidates):
        for rank, k in enumerate(cands):
            out.setdefault(k, []).append((fi, rank))
    return {k: tuple(v) for k, v in out.items()}


def metadata_attribution(plan: AttributionPlan, raw: Any) -> list[str | None] | None:
    """Per field, the value in OpenInference's `metadata` (a JSON object string), or None."""
    meta = None
    if type(raw) is str and raw[:1] == "{":
        try:
            meta = json.loads(raw)
        except ValueError:
            return None
    elif isinstance(raw, dict):
        meta = raw
    if not isinstance(meta, dict):
        return None
    return [first_str(meta, ks) for ks in plan.keys]


def resource_attribution(plan: AttributionPlan, resource: dict[str, Any]) -> tuple[str | None, ...]:
    """Per field, the resource's value or the default (computed once per resource)."""
    out = []
    for ks, default in zip(plan.keys, plan.defaults):
        val = first_str(resource, ks)
        out.append(val if val is not None else default)
    return tuple(out)

