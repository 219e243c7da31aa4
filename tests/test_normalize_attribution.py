"""Attribution: the one-pass lookup in normalize_traces equals the plain reference lookup."""

from __future__ import annotations

import itertools
import json
import random

from inferledger.collector.attributes import to_str
from inferledger.collector.attribution import AttributionPlan, plan_for, resource_attribution
from inferledger.collector.columns import SPAN_COLUMNS
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.settings import AttributionSettings
from tests.otlp_builders import ctx, span, traces

KEYS = ["team", "app.team", "baggage.team", "baggage.app.team", "traceloop.association.properties.team",
        "feature", "baggage.feature", "traceloop.workflow.name", "user.id", "enduser.id", "baggage.user.id",
        "gen_ai.user.id", "session.id", "gen_ai.conversation.id", "traceloop.association.properties.session.id"]


def span_attribution(
    plan: AttributionPlan, attrs: dict, fallback: tuple[str | None, ...]
) -> tuple[str | None, ...]:
    """The plain reference lookup: per field, the span's (or its baggage's / metadata's) value, else `fallback`."""
    all_span_keys = {k for cands in plan.span_candidates for k in cands} | {"metadata"}
    if all_span_keys.isdisjoint(attrs):
        return fallback
    meta = None
    raw_meta = attrs.get("metadata")
    if type(raw_meta) is str and raw_meta[:1] == "{":
        try:
            meta = json.loads(raw_meta)
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            meta = None
    elif isinstance(raw_meta, dict):
        meta = raw_meta
    out = []
    for cands, ks, fb in zip(plan.span_candidates, plan.keys, fallback):
        val = None
        for k in cands:
            v = attrs.get(k)
            if v is not None and v != "":
                val = to_str(v)
                break
        if val is None and meta is not None:
            for k in ks:
                v = meta.get(k)
                if v is not None and v != "":
                    val = to_str(v)
                    break
        out.append(val if val is not None else fb)
    return tuple(out)


def test_fast_path_equals_reference_on_random_combinations():
    rng = random.Random(7)
    settings = AttributionSettings()
    plan = plan_for(settings)
    resources = [{"service.name": "s"}, {"service.name": "s", "team": "res-team", "service.namespace": "ns",
                                          "enduser.id": "res-user"}]
    cases = 0
    for n in range(0, 6):
        for combo in itertools.islice(itertools.combinations(KEYS, n), 60):
            attrs = {k: f"v-{k}" for k in combo}
            if rng.random() < 0.3:
                attrs["metadata"] = json.dumps({"team": "meta-team", "feature": "meta-feature"})
            if rng.random() < 0.2 and combo:
                attrs[combo[0]] = ""  # empty values are ignored
            attrs["gen_ai.request.model"] = "m"
            for res in resources:
                expected = span_attribution(plan, attrs, resource_attribution(plan, res))
                (row,) = normalize_traces(traces([span(attrs)], resource=res), ctx(attribution=settings)).rows
                got = dict(zip(SPAN_COLUMNS, row))
                assert (got["team"], got["feature"], got["user_id"], got["conversation_id"]) == expected, attrs
                cases += 1
    assert cases > 500


def test_non_string_attribution_values_become_strings():
    (row,) = normalize_traces(traces([span({"gen_ai.request.model": "m", "user.id": 12345, "team": True})]),
                              ctx()).rows
    got = dict(zip(SPAN_COLUMNS, row))
    assert (got["user_id"], got["team"]) == ("12345", "True")
