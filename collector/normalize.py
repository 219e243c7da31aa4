"""Decoded OTLP trace requests -> canonical `spans` rows.

Pure functions, no I/O: the receivers decode, this maps, the writer commits.
It runs once per ingested span at >= 100k spans/s on two cores, so the per-span
path is one pass over the attributes with one dict lookup per key
(collector.vocabularies.SPAN_KEYS); everything that depends only on the
resource or the scope is computed once per resource / scope.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collector.attribution import plan_for, resource_attribution, span_attribution
from collector.attributes import (
    any_value,
    dumps_json,
    json_or_none,
    to_bool,
    to_float,
    to_int,
    to_str,
    to_str_list,
)
from collector.settings import AttributionSettings, IngestSettings
from collector.vocabularies import (
    CACHE_READ,
    CACHE_WRITE,
    CONTENT,
    CONTENT_PREFIXES,
    COST,
    COST_COMPLETION,
    COST_PROMPT,
    ERROR_TYPE,
    F_OPENINFERENCE,
    F_OPENLIT,
    FINISH,
    INFERENCE_HEADS,
    INPUT,
    KNOWN,
    KNOWN_PREFIXES,
    OPERATION,
    OUTPUT,
    PROVIDER,
    REASONING,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    SERVER_ADDRESS,
    SERVER_PORT,
    SPAN_KEYS,
    STREAMING,
    TOTAL,
    TTFT,
    normalize_operation,
    normalize_provider,
    vocabulary_of,
)

MAX_ERRORS = 10
_EPOCH = datetime(1970, 1, 1)
_MAX_NS = 253402300799 * 10**9  # 9999-12-31T23:59:59: later does not fit a TIMESTAMP
_KIND_NAMES = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS_NAMES = ("UNSET", "OK", "ERROR")


@dataclass
class IngestContext:
    tenant: str
    ingest: IngestSettings
    attribution: AttributionSettings
    received_at: datetime  # naive UTC; goes into ingested_at


@dataclass
class NormalizedBatch:
    rows: list[tuple] = field(default_factory=list)  # tuples in the target table's column order
    rejected: int = 0  # items rejected (OTLP partial_success)
    errors: list[str] = field(default_factory=list)  # at most MAX_ERRORS human messages
    skipped: int = 0  # valid items that are not inference data (not stored, not an error)
    unmapped_spans: int = 0  # inference-looking spans no vocabulary could map (not stored)
    unmapped_keys: collections.Counter[str] = field(default_factory=collections.Counter)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    @property
    def error_message(self) -> str:
        """One line for OTLP partial_success.error_message."""
        if not self.errors:
            return ""
        more = self.rejected - len(self.errors)
        return "; ".join(self.errors) + (f"; and {more} more" if more > 0 else "")


def ns_to_datetime(ns: int) -> datetime:
    """Unix nanoseconds -> naive UTC datetime, truncated to microseconds."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


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


def _resource(res_attrs: dict[str, Any], ctx: IngestContext, plan) -> _Resource:
    service = to_str(res_attrs.get("service.name"))
    env = res_attrs.get("deployment.environment.name", res_attrs.get("deployment.environment"))
    return _Resource(
        attrs=res_attrs,
        json=json_or_none(res_attrs),
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
    unmapped_keys = out.unmapped_keys
    plan = plan_for(ctx.attribution)
    capture = ctx.ingest.capture_content
    tenant = ctx.tenant
    received = ctx.received_at
    keys_get = SPAN_KEYS.get
    heads_get = INFERENCE_HEADS.get

    for rs in req.resource_spans:
        res = _resource({kv.key: any_value(kv.value) for kv in rs.resource.attributes}, ctx, plan)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name
            scope_flags = 0
            if scope_name.startswith("openinference"):
                scope_flags = F_OPENINFERENCE
            elif scope_name.startswith("openlit"):
                scope_flags = F_OPENLIT
            for span in ss.spans:
                trace_id = span.trace_id
                span_id = span.span_id
                start_ns = span.start_time_unix_nano
                end_ns = span.end_time_unix_nano
                if len(trace_id) != 16 or len(span_id) != 8 or not start_ns or end_ns < start_ns or end_ns > _MAX_NS:
                    out.reject(_span_problem(span))
                    continue

                # One pass over the attributes: canonical slots, content, leftovers, markers.
                flags = scope_flags
                found: dict[str, tuple[int, str, Any]] = {}
                rest: dict[str, Any] = {}
                content: dict[str, Any] | None = None
                odd: list[str] | None = None  # inference-prefixed keys nobody maps
                attrs: dict[str, Any] = {}
                for kv in span.attributes:
                    k = kv.key
                    v = any_value(kv.value)
                    attrs[k] = v
                    spec = keys_get(k)
                    if spec is not None:
                        slot, rank, f = spec
                        flags |= f
                        if slot is KNOWN:
                            rest[k] = v
                        elif slot is CONTENT:
                            if capture:
                                if content is None:
                                    content = {}
                                content[k] = v
                        else:
                            prev = found.get(slot)
                            if prev is None or rank < prev[0]:
                                found[slot] = (rank, k, v)
                            if prev is not None:
                                # the losing key stays visible in `attributes`
                                lk, lv = (prev[1], prev[2]) if rank < prev[0] else (k, v)
                                rest[lk] = lv
                        continue
                    if k.startswith(CONTENT_PREFIXES):
                        if capture:
                            if content is None:
                                content = {}
                            content[k] = v
                        dot = k.find(".")
                        hf = heads_get(k[:dot]) if dot > 0 else None
                        if hf is not None:
                            flags |= hf
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

                if not flags and not res.inference_service:
                    out.skipped += 1
                    continue

                row = _span_row(span, found, rest, attrs, flags, res, plan, tenant, received, content)
                if row is None:
                    out.unmapped_spans += 1
                    for k in attrs:
                        dot = k.find(".")
                        if dot > 0 and k[:dot] in INFERENCE_HEADS:
                            unmapped_keys[k] += 1
                    continue
                if odd is not None:
                    unmapped_keys.update(odd)
                rows.append(row)
    return out


def _span_problem(span: Any) -> str:
    name = span.name
    tid = span.trace_id.hex() or "-"
    sid = span.span_id.hex() or "-"
    where = f"span {name!r} (trace_id {tid}, span_id {sid})"
    if len(span.trace_id) != 16:
        return f"{where}: trace_id is {len(span.trace_id)} bytes, must be 16"
    if len(span.span_id) != 8:
        return f"{where}: span_id is {len(span.span_id)} bytes, must be 8"
    if not span.start_time_unix_nano:
        return f"{where}: start_time_unix_nano is 0"
    if span.end_time_unix_nano > _MAX_NS:
        return f"{where}: end_time_unix_nano {span.end_time_unix_nano} is beyond year 9999"
    return f"{where}: end_time_unix_nano is before start_time_unix_nano"


def _span_row(
    span: Any,
    found: dict[str, tuple[int, str, Any]],
    rest: dict[str, Any],
    attrs: dict[str, Any],
    flags: int,
    res: _Resource,
    plan,
    tenant: str,
    received: datetime,
    content: dict[str, Any] | None,
) -> tuple | None:
    """The canonical row, or None when the span looks like inference but nothing could be read."""
    g = found.get

    def num(slot: str) -> int | None:
        e = g(slot)
        if e is None:
            return None
        n = to_int(e[2])
        if n is None:
            rest[e[1]] = e[2]  # unreadable: keep the raw value visible
        return n

    input_tokens = num(INPUT)
    output_tokens = num(OUTPUT)
    total_tokens = num(TOTAL)
    cache_read = num(CACHE_READ)
    cache_write = num(CACHE_WRITE)
    reasoning = num(REASONING)

    e = g(REQUEST_MODEL)
    request_model = to_str(e[2]) if e is not None else None
    e = g(RESPONSE_MODEL)
    response_model = to_str(e[2]) if e is not None else None
    e = g(OPERATION)
    operation = normalize_operation(e[1], str(e[2])) if e is not None else None

    vocabulary = vocabulary_of(flags, res.openlit)
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

    e = g(PROVIDER)
    provider = normalize_provider(str(e[2])) if e is not None else None

    e = g(TTFT)
    ttft = to_float(e[2]) if e is not None else None
    e = g(STREAMING)
    streaming = to_bool(e[2]) if e is not None else None
    if streaming is None and ttft is not None:
        streaming = True  # a first chunk is only reported for streamed responses
    e = g(FINISH)
    finish_reasons = to_str_list(e[2]) if e is not None else None
    e = g(SERVER_ADDRESS)
    server_address = to_str(e[2]) if e is not None else None
    e = g(SERVER_PORT)
    server_port = to_int(e[2]) if e is not None else None
    if server_port is not None and server_port > 65535:
        server_port = None

    e = g(COST)
    cost = to_float(e[2]) if e is not None else None
    if cost is None:
        cp, cc = g(COST_PROMPT), g(COST_COMPLETION)
        if cp is not None or cc is not None:
            a = to_float(cp[2]) if cp is not None else 0.0
            b = to_float(cc[2]) if cc is not None else 0.0
            if a is not None and b is not None:
                cost = a + b

    status = span.status
    code = status.code
    status_code = _STATUS_NAMES[code] if 0 <= code < 3 else "UNSET"
    e = g(ERROR_TYPE)
    error_type = to_str(e[2]) if e is not None else None
    is_error = code == 2 or error_type is not None
    if code == 2 and error_type is None:
        error_type = _exception_type(span) or "_OTHER"

    team, feature, user, conversation = span_attribution(plan, attrs, res.attribution)

    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano
    kind = span.kind
    parent = span.parent_span_id
    return (
        tenant,
        span.trace_id.hex(),
        span.span_id.hex(),
        parent.hex() if parent else None,
        _EPOCH + timedelta(microseconds=start_ns // 1000),
        _EPOCH + timedelta(microseconds=end_ns // 1000),
        (end_ns - start_ns) / 1e9,
        res.service_name,
        res.service_version,
        res.environment,
        span.name,
        _KIND_NAMES[kind] if 0 <= kind < 6 else "UNSPECIFIED",
        status_code,
        status.message or None,
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
    )
