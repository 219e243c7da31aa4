"""One logical LLM call, one inference row: spans that report the same call are linked.

The same call often arrives as several spans: an instrumentation library's span with
the provider SDK's own span nested under it (OpenInference over the Anthropic SDK),
two spans with the same `gen_ai.response.id` (OpenLLMetry beside the Anthropic SDK),
or the Vercel AI SDK's outer `ai.generateText` over its inner `….doGenerate`. They
may be exported seconds apart, in any order, in different batches, before or after a
restart, so the decision is made in the warehouse: every commit re-decides the traces
it touched from all their stored spans, and the answer depends only on those spans.
The writer passes only the spans that can have a partner (collector.link_index); a span
with none would be left as it is anyway.

Rules, over the inference spans (`is_inference`) of one trace:

1. A span and its parent are the same call when the parent has no other inference
   child. Spans with the same response id are the same call.
2. A parent with two or more inference children is an aggregate (a multi-step
   `ai.generateText`): the children are the calls; the parent is linked to the first.
3. In each group of spans of the same call, one is kept as the inference row: the
   most complete usage wins (most token fields present, then input present), then
   the provider SDK's own span over an instrumentation library's (the SDK reads the
   wire format itself: measured, OpenLLMetry 0.62 counts a streamed Anthropic reply's
   first output token twice where the SDK does not), then the deeper span
   (closer to the HTTP call), then the lowest span id. The others get
   `duplicate_of` = its span id and are left out of cost, SLO, drift and request counts.

`duplicate_of` holds the kept span's span_id (in the same trace, or the trace of the
span with the same response id). `deduped_at` records when a span's `duplicate_of` changed, so the incremental jobs
re-read it (its cost line goes, its SLO minute is recounted).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

# Scope names of provider SDKs' own tracing: on a tie their span is kept over a library's.
SDK_SCOPES = ("com.anthropic.sdk",)

# How far apart in start time two spans of one call may start and still be compared. Spans
# of one call start within the call's own duration of each other; the window bounds the
# scan to the recent row groups (DuckDB zone maps on start_time prune the rest).
WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class SpanFacts:
    span_id: str
    parent_span_id: str | None
    response_id: str | None
    n_tokens: int  # token fields present
    has_input: bool
    scope_name: str | None


def _rank(s: SpanFacts, depth: int) -> tuple:
    sdk = bool(s.scope_name) and s.scope_name.startswith(SDK_SCOPES)
    return (-s.n_tokens, not s.has_input, not sdk, -depth, s.span_id)


def decide(spans: list[SpanFacts]) -> dict[str, str | None]:
    """span_id -> the span_id it duplicates (None: it is the inference row), for one trace."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[str]] = defaultdict(list)
    for s in spans:
        if s.parent_span_id in by_id and s.parent_span_id != s.span_id:
            children[s.parent_span_id].append(s.span_id)
    parent_of: dict[str, str] = {}
    for p, kids in children.items():
        for k in kids:
            parent_of[k] = p

    def depth(sid: str) -> int:
        d, seen = 0, {sid}
        while sid in parent_of and parent_of[sid] not in seen:
            sid = parent_of[sid]
            seen.add(sid)
            d += 1
        return d

    root = {s.span_id: s.span_id for s in spans}

    def find(x: str) -> str:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            root[max(ra, rb)] = min(ra, rb)

    aggregates: dict[str, str] = {}
    for p, kids in children.items():
        if len(kids) == 1:
            union(p, kids[0])
        else:
            # ties on start order are not known here; the lowest span id is stable whatever arrives when
            aggregates[p] = min(kids)
    by_response: dict[str, str] = {}
    for s in spans:
        if s.response_id:
            first = by_response.setdefault(s.response_id, s.span_id)
            if first != s.span_id:
                union(first, s.span_id)

    groups: dict[str, list[str]] = defaultdict(list)
    for s in spans:
        if s.span_id not in aggregates:
            groups[find(s.span_id)].append(s.span_id)
    winner_of: dict[str, str] = {}
    out: dict[str, str | None] = {}
    for members in groups.values():
        best = min(members, key=lambda sid: _rank(by_id[sid], depth(sid)))
        for sid in members:
            winner_of[sid] = best
            out[sid] = None if sid == best else best
    for p, first_kid in aggregates.items():
        out[p] = winner_of.get(first_kid, first_kid)
    return out


_COLUMNS = """
SELECT s.tenant, s.trace_id, s.span_id, s.parent_span_id, s.response_id,
       (s.input_tokens IS NOT NULL)::INT + (s.output_tokens IS NOT NULL)::INT + (s.cache_read_tokens IS NOT NULL)::INT
         + (s.cache_write_tokens IS NOT NULL)::INT + (s.reasoning_tokens IS NOT NULL)::INT AS n_tokens,
       s.input_tokens IS NOT NULL AS has_input, s.scope_name, s.duplicate_of
FROM spans s"""
# Two hash semi-joins (an OR of both would defeat the join): same trace, or same response id.
_CANDIDATES = f"""
{_COLUMNS} SEMI JOIN _dedupe_traces t ON s.tenant = t.tenant AND s.trace_id = t.trace_id
WHERE s.is_inference AND s.start_time >= ? AND s.start_time <= ?
UNION
{_COLUMNS} SEMI JOIN _dedupe_responses r ON s.tenant = r.tenant AND s.response_id = r.response_id
WHERE s.is_inference AND s.start_time >= ? AND s.start_time <= ?
"""

# Only spans that can be linked go to `decide`: those sharing a trace or a response id with
# another candidate, and those linked now (which may need unlinking). A span alone in its
# trace with its own response id is always its own inference row, and `decide` gives the others
# the same answer without it (every rule relates spans of one trace or one response id).
_LINKABLE = f"""
WITH c AS ({_CANDIDATES})
SELECT * EXCLUDE (nt, nr) FROM (
    SELECT c.*, count(*) OVER (PARTITION BY tenant, trace_id) AS nt,
           count(response_id) OVER (PARTITION BY tenant, response_id) AS nr
    FROM c)
WHERE nt >= 2 OR nr >= 2 OR duplicate_of IS NOT NULL
"""

def _key(trace_id: str, span_id: str | None) -> str | None:
    return None if span_id is None else f"{trace_id}:{span_id}"


def dedupe_batch(con, spans: pa.Table, now: datetime) -> int:
    """Re-decide the traces (and response ids) of a just-inserted spans table; returns spans whose link changed.

    Runs inside the writer's transaction, so a committed batch is already deduplicated.
    Spans of one call can sit in different traces (a library that starts its span without
    making it current): those are matched by response id.
    """
    if spans.num_rows == 0 or "is_inference" not in spans.column_names:
        return 0
    inf = spans.filter(pc.equal(spans["is_inference"], True))
    if inf.num_rows == 0:
        return 0
    lo = pc.min(inf["start_time"]).as_py() - WINDOW
    hi = pc.max(inf["start_time"]).as_py() + WINDOW
    con.register("_dedupe_traces", inf.select(["tenant", "trace_id"]))
    con.register("_dedupe_responses", inf.select(["tenant", "response_id"]).filter(pc.is_valid(inf["response_id"])))
    try:
        rows = con.execute(_LINKABLE, [lo, hi, lo, hi]).fetchall()
    finally:
        con.unregister("_dedupe_traces")
        con.unregister("_dedupe_responses")
    by_tenant: dict[str, list[tuple]] = defaultdict(list)
    for r in rows:
        by_tenant[r[0]].append(r)
    changes: list[list] = []
    for tenant, rs in by_tenant.items():
        facts = [SpanFacts(_key(r[1], r[2]), _key(r[1], r[3]), r[4], r[5], r[6], r[7]) for r in rs]
        decided = decide(facts)
        for r in rs:
            new = decided.get(_key(r[1], r[2]))
            new_span = None if new is None else new.split(":", 1)[1]
            if new_span != r[8]:
                changes.append([new_span, now, tenant, r[1], r[2]])
    if changes:  # one set-based UPDATE (executemany would run one statement per span)
        cols = list(zip(*changes))
        upd = pa.table({"duplicate_of": pa.array(cols[0], pa.string()), "deduped_at": pa.array(cols[1], pa.timestamp("us")),
                        "tenant": pa.array(cols[2], pa.string()), "trace_id": pa.array(cols[3], pa.string()),
                        "span_id": pa.array(cols[4], pa.string())})
        con.register("_dedupe_changes", upd)
        try:
            con.execute(
                "UPDATE spans SET duplicate_of = c.duplicate_of, deduped_at = c.deduped_at FROM _dedupe_changes c"
                " WHERE spans.tenant = c.tenant AND spans.trace_id = c.trace_id AND spans.span_id = c.span_id"
                " AND spans.start_time >= ? AND spans.start_time <= ?",  # every candidate is in the window
                [lo, hi],
            )
        finally:
            con.unregister("_dedupe_changes")
    return len(changes)
