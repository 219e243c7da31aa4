"""Decoded OTLP trace requests -> canonical `spans` rows.

Pure functions, no I/O: the receivers decode, this maps, the writer commits.
It runs once per ingested span, so the per-span path is one pass over the
attributes with one dict lookup per key (collector.keymap); everything that
depends only on the resource or the scope is computed once per resource / scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inferledger.collector.attributes import (
    any_value,
    dumps_json,
    json_or_none,
    kv_dict,
    to_bool,
    to_float,
    to_int,
    to_str,
    to_str_list,
)
from inferledger.collector.attribution import AttributionPlan, metadata_attribution, plan_for, resource_attribution
from inferledger.collector.bounds import SpanBounds
from inferledger.collector.content import drop_content, is_content_key
from inferledger.collector.ingest_batch import EPOCH, MAX_UNIX_NS, IngestContext, NormalizedBatch
from inferledger.collector.keymap import (
    N_SLOTS,
    NO_RANK,
    S_CACHE_READ,
    S_CACHE_WRITE,
    S_CONTENT,
    S_COST,
    S_COST_COMPLETION,
    S_COST_PROMPT,
    S_ERROR_TYPE,
    S_FINISH,
    S_INPUT,
    S_INVOCATION,
    S_METADATA,
    S_OPERATION,
    S_OUTPUT,
    S_OUTPUT_BODY,
    S_PROVIDER,
    S_REASONING,
    S_REQUEST_MODEL,
    S_RESPONSE_ID,
    S_RESPONSE_MODEL,
    S_SERVER_ADDRESS,
    S_SERVER_PORT,
    S_STREAMING,
    S_TOTAL,
    S_TTFT,
    S_TTFT_MS,
    compiled_keys,
    head_flags,
    key_pattern,
)
from inferledger.collector.span_extras import body_id, fallback_ttft, invocation, invocation_user
from inferledger.collector.token_semantics import input_includes_cache
from inferledger.collector.vocabularies import (
    INFERENCE_HEADS,
    KNOWN_PREFIXES,
    PROVIDER_WITH_API,
    STREAMING_OPERATION_IDS,
    STRUCTURE_OPERATIONS,
    clean_error_type,
    normalize_operation,
    normalize_provider,
    scope_flags_of,
    vocabulary_of,
)

_KIND_NAMES = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS_NAMES = ("UNSET", "OK", "ERROR")
_ZERO_TRACE = bytes(16)  # all-zero ids are invalid in OTLP
_ZERO_SPAN = bytes(8)


@dataclass
class _Resource:
    attrs: dict[str, Any]
    json: str | None
    service_name: str | None
    service_version: str | None
    environment: str | None
    host: str | None
    k8s_namespace: str | None
    k8s_pod: str | None
    attribution: tuple[str | None, ...]
    openlit: bool
    inference_service: bool


def _resource(res_attrs: dict[str, Any], ctx: IngestContext, plan: AttributionPlan) -> _Resource:
    service = to_str(res_attrs.get("service.name"))
    env = res_attrs.get("deployment.environment.name", res_attrs.get("deployment.environment"))
    return _Resource(
        attrs=res_attrs,
        json=json_or_none(res_attrs if ctx.ingest.capture_content else drop_content(res_attrs)),
        service_name=service,
        service_version=to_str(res_attrs.get("service.version")),
        environment=to_str(env),
        host=to_str(res_attrs.get("host.name")),
        k8s_namespace=to_str(res_attrs.get("k8s.namespace.name")),
        k8s_pod=to_str(res_attrs.get("k8s.pod.name")),
        attribution=resource_attribution(plan, res_attrs),
        openlit=res_attrs.get("telemetry.sdk.name") == "openlit",
        inference_service=service is not None and service in ctx.ingest.inference_services,
    )


def _exception_type(span: Any) -> str | None:
    for ev in span.events:
        if ev.name == "exception":
            for kv in ev.attributes:
                if kv.key == "exception.type":
                    return to_str(any_value(kv.value))
    return None


def normalize_traces(req: Any, ctx: IngestContext) -> NormalizedBatch:
    """ExportTraceServiceRequest -> `spans` rows, one per span that carries inference meaning.

    Bad spans (wrong id length, no start time) are rejected one by one with a
    message naming them; the rest of the batch is kept. Spans without
    inference meaning are `skipped`; inference-looking spans that no
    vocabulary can read are counted in `unmapped_spans` / `unmapped_keys`.
    """
    out = NormalizedBatch()
    rows = out.rows
    plan = plan_for(ctx.attribution)
    keymap = compiled_keys(plan)
    kget = keymap.get
    heads_get = INFERENCE_HEADS.get
    capture = ctx.ingest.capture_content
    tenant = ctx.tenant
    received = ctx.received_at
    bounds = SpanBounds(ctx.ingest)
    span_key_cap = ctx.ingest.max_unmapped_keys_per_span

    for rs in req.resource_spans:
        res = _resource(kv_dict(rs.resource.attributes), ctx, plan)
        for ss in rs.scope_spans:
            scope = (ss.scope.name or None, ss.scope.version or None)
            scope_flags = scope_flags_of(ss.scope.name)
            for span in ss.spans:
                start_ns = span.start_time_unix_nano
                end_ns = span.end_time_unix_nano
                if (len(span.trace_id) != 16 or len(span.span_id) != 8 or not start_ns
                        or end_ns < start_ns or end_ns > MAX_UNIX_NS
                        or span.trace_id == _ZERO_TRACE or span.span_id == _ZERO_SPAN):
                    out.reject(_span_problem(span))
                    continue

                # One pass over the attributes: canonical slots, attribution, content, leftovers, markers.
                flags = scope_flags
                found: list[Any] = [None] * N_SLOTS
                rest: dict[str, Any] = {}
                content: dict[str, Any] | None = None
                odd: list[str] | None = None  # inference-prefixed keys nobody maps
                aval: list[Any] | None = None  # attribution values found on the span
                arank: list[int] | None = None
                meta = None
                for kv in span.attributes:
                    k = kv.key
                    av = kv.value
                    v = av.string_value  # the common case costs one call
                    if not v:
                        kind = av.WhichOneof("value")
                        if kind == "int_value":
                            v = av.int_value
                        elif kind == "double_value":
                            v = av.double_value
                        elif kind != "string_value":
                            v = any_value(av)
                    spec = kget(k)
                    if spec is None:
                        if is_content_key(k):
                            if capture:
                                if content is None:
                                    content = {}
                                content[k] = v
                            flags |= head_flags(k)
                            continue
                        rest[k] = v
                        dot = k.find(".")
                        if dot > 0:
                            hf = heads_get(k[:dot])
                            if hf is not None:
                                flags |= hf
                                if not k.startswith(KNOWN_PREFIXES):
                                    if odd is None:
                                        odd = []
                                    odd.append(k)
                        continue
                    slot, rank, f, attrib, is_odd = spec
                    flags |= f
                    if attrib is not None and v is not None and v != "":
                        if aval is None:
                            aval = [None, None, None, None]
                            arank = [NO_RANK, NO_RANK, NO_RANK, NO_RANK]
                        for fi, r in attrib:
                            if r < arank[fi]:
                                arank[fi] = r
                                aval[fi] = v
                    if slot >= 0:
                        prev = found[slot]
                        if prev is None:
                            found[slot] = (rank, k, v)
                        elif rank < prev[0]:
                            rest[prev[1]] = prev[2]  # the losing key stays visible in `attributes`
                            found[slot] = (rank, k, v)
                        elif rank == prev[0]:  # ranks are unique per slot: the same key again, last wins
                            found[slot] = (rank, k, v)
                        else:
                            rest[k] = v
                    elif slot == S_CONTENT:
                        if capture:
                            if content is None:
                                content = {}
                            content[k] = v
                    else:
                        rest[k] = v
                        if slot == S_METADATA:
                            meta = v
                        elif is_odd:
                            if odd is None:
                                odd = []
                            odd.append(k)

                if not flags and not res.inference_service:
                    out.skipped += 1
                    continue

                row = _span_row(span, found, rest, flags, res, plan, aval, meta, tenant, received, content, scope,
                                capture)
                if row is None:
                    out.count_unmapped_span(scope)
                    _count_unmapped(out, [kv.key for kv in span.attributes], span_key_cap, scope)
                    continue
                problem = bounds.problem(row, received)
                if problem is not None:
                    out.reject(f"span {span.name!r} (trace_id {span.trace_id.hex()}, span_id {span.span_id.hex()}): {problem}")
                    continue
                if odd is not None:
                    _count_unmapped(out, odd, span_key_cap, scope)
                rows.append(row)
    return out


def _count_unmapped(out: NormalizedBatch, keys: list[str], cap: int, scope: tuple[str | None, str | None]) -> None:
    """Count the inference-prefixed keys of one span, at most `cap` distinct patterns of them,
    under the span's instrumentation scope (name, version)."""
    seen: set[str] = set()
    for k in keys:
        if len(seen) >= cap:
            out.unmapped_keys_dropped += 1
            continue
        dot = k.find(".")
        if dot > 0 and k[:dot] in INFERENCE_HEADS:
            seen.add(key_pattern(k))
    name, version = scope[0] or "", scope[1] or ""
    out.unmapped_keys.update((name, version, k) for k in seen)


def _span_problem(span: Any) -> str:
    name = span.name
    tid = span.trace_id.hex() or "-"
    sid = span.span_id.hex() or "-"
    where = f"span {name!r} (trace_id {tid}, span_id {sid})"
    if len(span.trace_id) != 16:
        return f"{where}: trace_id is {len(span.trace_id)} bytes, must be 16"
    if len(span.span_id) != 8:
        return f"{where}: span_id is {len(span.span_id)} bytes, must be 8"
    if span.trace_id == _ZERO_TRACE or span.span_id == _ZERO_SPAN:
        return f"{where}: all-zero trace_id or span_id is invalid"
    if not span.start_time_unix_nano:
        return f"{where}: start_time_unix_nano is 0"
    if span.end_time_unix_nano > MAX_UNIX_NS:
        return f"{where}: end_time_unix_nano {span.end_time_unix_nano} is beyond year 9999"
    return f"{where}: end_time_unix_nano is before start_time_unix_nano"


def _count(entry: tuple[int, str, Any], rest: dict[str, Any]) -> int | None:
    """A token count that is not a plain int; an unreadable one stays visible in `attributes`."""
    n = to_int(entry[2])
    if n is None:
        rest[entry[1]] = entry[2]
    return n


_MISSING = object()
# Value normalisations memoised: providers, operations and marker sets repeat across spans.
_OP_CACHE: dict[tuple[str, Any], str | None] = {}
_PROVIDER_CACHE: dict[str, str | None] = {}
_VOCAB_CACHE: dict[tuple[int, bool], str | None] = {}


def _span_row(
    span: Any,
    found: list[Any],
    rest: dict[str, Any],
    flags: int,
    res: _Resource,
    plan: AttributionPlan,
    aval: list[Any] | None,
    meta: Any,
    tenant: str,
    received: datetime,
    content: dict[str, Any] | None,
    scope: tuple[str | None, str | None] = (None, None),
    capture: bool = False,
) -> tuple | None:
    """The canonical row, or None when the span looks like inference but nothing could be read."""
    # token counts (plain ints inline; anything else through _count)
    e = found[S_INPUT]
    input_tokens = None if e is None else e[2] if type(e[2]) is int and e[2] >= 0 else _count(e, rest)
    e = found[S_OUTPUT]
    output_tokens = None if e is None else e[2] if type(e[2]) is int and e[2] >= 0 else _count(e, rest)
    e = found[S_TOTAL]
    total_tokens = None if e is None else e[2] if type(e[2]) is int and e[2] >= 0 else _count(e, rest)
    e = found[S_CACHE_READ]
    cache_read = None if e is None else e[2] if type(e[2]) is int and e[2] >= 0 else _count(e, rest)
    e = found[S_CACHE_WRITE]
    cache_write = None if e is None else e[2] if type(e[2]) is int and e[2] >= 0 else _count(e, rest)
    e = found[S_REASONING]
    reasoning = None if e is None else e[2] if type(e[2]) is int and e[2] >= 0 else _count(e, rest)

    e = found[S_REQUEST_MODEL]
    request_model = None if e is None else e[2] if type(e[2]) is str and e[2] else to_str(e[2])
    e = found[S_RESPONSE_MODEL]
    response_model = None if e is None else e[2] if type(e[2]) is str and e[2] else to_str(e[2])
    e = found[S_OPERATION]
    operation = None
    streamed_op = e is not None and type(e[2]) is str and e[2] in STREAMING_OPERATION_IDS
    if e is not None and type(e[2]) is not str:
        rest[e[1]] = e[2]  # not a name: keep it visible, do not guess
    elif e is not None:
        ck = (e[1], e[2])
        operation = _OP_CACHE.get(ck, _MISSING)
        if operation is _MISSING:
            operation = normalize_operation(e[1], e[2])
            if len(_OP_CACHE) < 4096:
                _OP_CACHE[ck] = operation

    vocabulary = _VOCAB_CACHE.get((flags, res.openlit), _MISSING)
    if vocabulary is _MISSING:
        vocabulary = _VOCAB_CACHE[(flags, res.openlit)] = vocabulary_of(flags, res.openlit)
    has_tokens = (
        input_tokens is not None
        or output_tokens is not None
        or total_tokens is not None
        or cache_read is not None
        or cache_write is not None
    )
    if vocabulary is None or not (request_model or response_model or has_tokens or operation):
        if not res.inference_service:
            return None
        vocabulary = "inference_service"

    e = found[S_PROVIDER]
    provider = None
    if e is not None and type(e[2]) is not str:
        rest[e[1]] = e[2]
    elif e is not None:
        raw = e[2]
        pk = (e[1], raw) if e[1] in PROVIDER_WITH_API else raw  # the same value may map apart per key
        provider = _PROVIDER_CACHE.get(pk, _MISSING)
        if provider is _MISSING:
            provider = normalize_provider(raw, e[1])
            if len(_PROVIDER_CACHE) < 4096:
                _PROVIDER_CACHE[pk] = provider
    e = found[S_TTFT]
    ttft = to_float(e[2]) if e is not None else None
    if ttft is None:
        ttft = fallback_ttft(span, found[S_TTFT_MS], rest)
    e = found[S_STREAMING]
    streaming = to_bool(e[2]) if e is not None else None
    e = found[S_INVOCATION]
    inv_user = None
    if e is not None:
        rest[e[1]] = e[2]  # kept whole in `attributes`; model, stream and user are read from it
        inv = invocation(e[2])
        if inv is not None:
            if request_model is None:
                request_model = to_str(inv.get("model"))
            if streaming is None:  # the request's own parameters: no `stream` means not streamed
                streaming = to_bool(inv.get("stream", False))
            inv_user = invocation_user(inv)
    if streaming is None and streamed_op:
        streaming = True
    if streaming is None and ttft is not None:
        streaming = True  # a first chunk is only reported for streamed responses
    finish_reasons = None
    e = found[S_FINISH]
    if e is not None:
        v = e[2]
        finish_reasons = [v] if type(v) is str and v and v[0] != "[" else to_str_list(v)
    e = found[S_SERVER_ADDRESS]
    server_address = None if e is None else e[2] if type(e[2]) is str and e[2] else to_str(e[2])
    e = found[S_SERVER_PORT]
    server_port = None if e is None else e[2] if type(e[2]) is int and 0 <= e[2] <= 65535 else to_int(e[2])
    if server_port is not None and server_port > 65535:
        server_port = None

    e = found[S_COST]
    cost = to_float(e[2]) if e is not None else None
    if cost is None:
        cp, cc = found[S_COST_PROMPT], found[S_COST_COMPLETION]
        if cp is not None or cc is not None:
            a = to_float(cp[2]) if cp is not None else 0.0
            b = to_float(cc[2]) if cc is not None else 0.0
            if a is not None and b is not None:
                cost = a + b

    status = span.status
    code = status.code
    e = found[S_ERROR_TYPE]
    error_type = to_str(e[2]) if e is not None else None
    is_error = code == 2 or error_type is not None
    if code == 2 and error_type is None:
        error_type = _exception_type(span) or "_OTHER"
    if error_type is not None and error_type[:1] == "<":
        error_type = clean_error_type(error_type)
    e = found[S_RESPONSE_ID]
    response_id = None if e is None else to_str(e[2])
    e = found[S_OUTPUT_BODY]
    if e is not None:
        if response_id is None:
            response_id = body_id(e[2])
        if capture:
            content = {**(content or {}), e[1]: e[2]}

    team, feature, user, conversation = res.attribution
    if aval is not None or meta is not None:
        from_meta = metadata_attribution(plan, meta) if meta is not None else None
        picked = []
        for i, fb in enumerate(res.attribution):
            v = aval[i] if aval is not None else None
            if v is None and from_meta is not None:
                v = from_meta[i]
            picked.append(fb if v is None else v if type(v) is str else to_str(v))
        team, feature, user, conversation = picked
    if inv_user is not None and user is None:
        user = inv_user

    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano
    kind = span.kind
    parent = span.parent_span_id
    return (
        tenant,
        span.trace_id.hex(),
        span.span_id.hex(),
        parent.hex() if parent else None,
        EPOCH + timedelta(microseconds=start_ns // 1000),
        EPOCH + timedelta(microseconds=end_ns // 1000),
        (end_ns - start_ns) / 1e9,
        res.service_name,
        res.service_version,
        res.environment,
        span.name,
        _KIND_NAMES[kind] if 0 <= kind < 6 else "UNSPECIFIED",
        _STATUS_NAMES[code] if 0 <= code < 3 else "UNSET",
        (status.message or None) if capture else None,  # error texts often quote the prompt
        is_error,
        error_type,
        operation,
        provider,
        request_model,
        response_model,
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        reasoning,
        total_tokens,
        ttft,
        streaming,
        finish_reasons[0] if finish_reasons else None,
        finish_reasons,
        server_address,
        server_port,
        team,
        feature,
        user,
        conversation,
        res.host,
        res.k8s_namespace,
        res.k8s_pod,
        cost,
        vocabulary,
        dumps_json(rest) if rest else None,
        res.json,
        dumps_json(content) if content else None,
        received,
        scope[0],
        scope[1],
        vocabulary == "inference_service" or operation not in STRUCTURE_OPERATIONS,
        response_id,
        input_includes_cache(scope[0], vocabulary, provider),
        None,  # duplicate_of: set in the warehouse by collector.dedupe
        None,  # deduped_at
    )

