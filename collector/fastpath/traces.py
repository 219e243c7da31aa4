"""Flat arrays from the wire kernel -> the same NormalizedBatch as collector.normalize.

The per-span mapping mirrors `normalize.normalize_traces` attribute for attribute
and then calls the reference's own `_resource`, `_span_row` and `_span_problem`,
so the canonical row (coercions, vocabulary choice, attribution, JSON text) is
computed by the same code on both paths. What the kernel saves is the message
objects: keys are decoded once per distinct key per request, string values in
one Arrow pass, numbers from NumPy columns.

`normalize_traces_fast` returns None when the request must go to the reference
path: the kernel found an encoding it does not reproduce (see wire.py), or a
span carries a key in `DELEGATED_KEYS` / `DELEGATED_PREFIXES`, whose handling
lives only in the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.common.v1.common_pb2 import ArrayValue, KeyValueList

from inferledger.collector.attributes import any_value
from inferledger.collector.attribution import plan_for
from inferledger.collector.bounds import SpanBounds
from inferledger.collector.content import is_content_key
from inferledger.collector.fastpath import grouping, protowire, wire
from inferledger.collector.ingest_batch import MAX_UNIX_NS, IngestContext, NormalizedBatch
from inferledger.collector.keymap import N_SLOTS, NO_RANK, S_CONTENT, S_METADATA, compiled_keys, head_flags
from inferledger.collector.normalize import _ZERO_SPAN, _ZERO_TRACE, _count_unmapped, _resource, _span_problem, _span_row
from inferledger.collector.vocabularies import (
    INFERENCE_HEADS,
    KNOWN_PREFIXES,
    scope_flags_of,
)

# Keys (and prefixes) the reference treats beyond the shared tables: a request carrying one goes there.
DELEGATED_KEYS: frozenset[str] = frozenset()
DELEGATED_PREFIXES: tuple[str, ...] = ()

# per distinct key, what the attribute loop does with it
_K_SPEC, _K_CONTENT, _K_REST = 0, 1, 2
_U64 = 1 << 64
_SCALARS = (str, int, float, bool, type(None))


class SpanView:
    """The Span fields `_span_row` / `_span_problem` read, without a protobuf message; it is
    its own `status` (code, message), which saves an object per span."""

    __slots__ = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_time_unix_nano",
                 "end_time_unix_nano", "code", "message")
    events = ()  # spans with events go to the reference path

    def __init__(self, trace_id: bytes, span_id: bytes, parent: bytes, name: str, kind: int,
                 start: int, end: int, code: int, message: str) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent
        self.name = name
        self.kind = kind
        self.start_time_unix_nano = start
        self.end_time_unix_nano = end
        self.code = code
        self.message = message

    @property
    def status(self) -> SpanView:
        return self


def scan(payload: bytes) -> tuple | None:
    """Run the kernel with arrays sized from the body; None -> reference path."""
    buf = np.frombuffer(payload, np.uint8)
    n = len(payload)
    for span_cap, attr_cap, key_cap in ((n // 96 + 16, n // 12 + 64, 1024), (n // 2 + 2, n // 2 + 2, n + 2)):
        spans = np.empty((span_cap, wire.SP_NCOL), np.int64)
        attrs = np.empty((attr_cap, wire.AT_NCOL), np.int64)
        res = np.empty((span_cap, 2), np.int64)
        scopes = np.empty((span_cap, 5), np.int64)
        ktab = np.full(1 << max(4, (2 * key_cap).bit_length()), -1, np.int64)
        kinfo = np.empty((attr_cap, 2), np.int64)
        status, ns, na, nr, nsc, nk = wire.scan_traces(buf, spans, attrs, res, scopes, ktab, kinfo)
        if status == wire.OK:
            return spans[:ns], attrs[:na], res[:nr], scopes[:nsc], kinfo[:nk]
        if status == wire.FALLBACK:
            return None
    return None


def warm_up() -> None:
    """Load (or compile) the kernels now, so the first request does not pay for it."""
    span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8 + b"\x4a\x05\x0a\x01k\x12\x00"
    body = b"\x0a" + bytes([len(span) + 4]) + b"\x12" + bytes([len(span) + 2]) + b"\x12" + bytes([len(span)]) + span
    scanned = scan(body)
    assert scanned is not None and len(scanned[0]) == 1
    buf = np.frombuffer(body, np.uint8)
    _strings(body, buf, scanned[4][:, 0], scanned[4][:, 1])
    # the columnar path's kernels (collector.fastpath.columnar)
    sp, at = scanned[0], scanned[1]
    grouping.value_reps(buf, at[:, wire.AT_TYPE], at[:, wire.AT_OFF], at[:, wire.AT_LEN], at[:, wire.AT_INT])
    grouping.span_groups(sp[:, wire.SP_SCOPE], sp[:, wire.SP_A0], sp[:, wire.SP_A1], at[:, wire.AT_KEY],
                         np.ones(len(sp), bool))
    protowire.gather_hex(buf, np.ascontiguousarray(sp[:, wire.SP_TID_OFF]), np.ascontiguousarray(sp[:, wire.SP_TID_LEN]))
    grouping.valid_spans(buf, sp[:, wire.SP_TID_OFF], sp[:, wire.SP_TID_LEN], sp[:, wire.SP_SID_OFF],
                         sp[:, wire.SP_SID_LEN], sp[:, wire.SP_START], sp[:, wire.SP_END], 1)
    grouping.first_ids(np.zeros(1, np.int64), 1)


def str_array(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray) -> pa.Array:
    """Slices of the body as one Arrow string array (the kernel has checked the UTF-8)."""
    data, off = protowire.gather(buf, np.ascontiguousarray(offs), np.ascontiguousarray(lens))
    if off[-1] < (1 << 31):
        return pa.Array.from_buffers(pa.string(), len(offs), [None, pa.py_buffer(off.astype(np.int32)),
                                                              pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.large_string(), len(offs), [None, pa.py_buffer(off), pa.py_buffer(data)])


def _strings(payload: bytes, buf: np.ndarray, offs: np.ndarray, lens: np.ndarray) -> list[str]:
    """Slices of the body as str."""
    if len(offs) == 0:
        return []
    return str_array(buf, offs, lens).to_pylist()


def _values(payload: bytes, buf: np.ndarray, attrs: np.ndarray) -> np.ndarray | None:
    """Python value of every attribute, as the reference's loop reads it; None -> reference path."""
    n = len(attrs)
    out = np.empty(n, dtype=object)
    types = attrs[:, wire.AT_TYPE]
    sel = np.flatnonzero(types == wire.V_STR)
    if len(sel):
        out[sel] = _strings(payload, buf, attrs[sel, wire.AT_OFF], attrs[sel, wire.AT_LEN])
    sel = np.flatnonzero(types == wire.V_INT)
    if len(sel):
        out[sel] = attrs[sel, wire.AT_INT].tolist()
    sel = np.flatnonzero(types == wire.V_DOUBLE)
    if len(sel):
        out[sel] = attrs[sel, wire.AT_INT].view(np.float64).tolist()
    sel = np.flatnonzero(types == wire.V_BOOL)
    if len(sel):
        out[sel] = (attrs[sel, wire.AT_INT] != 0).tolist()
    sel = np.flatnonzero(types >= wire.V_ARRAY)
    if len(sel):
        # arrays and maps repeat (finish reasons, tags): each distinct encoding is decoded once
        memo: dict[tuple[int, bytes], tuple[Any, bool]] = {}
        for i, (t, o, ln) in zip(sel.tolist(), attrs[sel, wire.AT_TYPE:wire.AT_LEN + 1].tolist()):
            raw = payload[o:o + ln]
            if t == wire.V_BYTES:
                out[i] = raw.hex()
                continue
            hit = memo.get((t, raw))
            if hit is not None and hit[1]:  # flat: a shallow copy is a full copy
                out[i] = list(hit[0]) if t == wire.V_ARRAY else dict(hit[0])
                continue
            try:
                msg = ArrayValue.FromString(raw) if t == wire.V_ARRAY else KeyValueList.FromString(raw)
            except ProtobufDecodeError:
                return None  # the reference rejects the whole body the way protobuf does
            if t == wire.V_ARRAY:
                v = [any_value(x) for x in msg.values]
                flat = all(type(x) in _SCALARS for x in v)
            else:
                v = {kv.key: any_value(kv.value) for kv in msg.values}
                flat = all(type(x) in _SCALARS for x in v.values())
            out[i] = v
            if flat:
                memo[(t, raw)] = (list(v) if t == wire.V_ARRAY else dict(v), True)
    # V_NONE stays None
    return out


class Decoded:
    """One request after the kernel: flat arrays, keys and values as Python, resources and scopes.
    `vid` numbers the distinct attribute values; `uvals[vid]` is the value of each attribute
    (`vals` that as a list and `akey` the key ids as a list, made when the row code first needs them;
    the columnar path reads neither)."""

    __slots__ = ("payload", "buf", "spans", "attrs", "akey", "vals", "vid", "uvals", "keys", "kinds", "res_list",
                 "scope_list", "scope_flags_list", "span_names", "messages", "plan")

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def decode(payload: bytes, ctx: IngestContext) -> Decoded | None:
    """Kernel scan plus what depends on the request, not the span; None -> reference path."""
    scanned = scan(payload)
    if scanned is None:
        return None
    spans, attrs, resources, scopes, kinfo = scanned
    buf = np.frombuffer(payload, np.uint8)
    keys = _strings(payload, buf, kinfo[:, 0], kinfo[:, 1])
    for k in keys:
        if k in DELEGATED_KEYS or (DELEGATED_PREFIXES and k.startswith(DELEGATED_PREFIXES)):
            return None
    # each distinct value becomes a Python object once (a request repeats models, counts, ["stop"])
    rep = grouping.value_reps(buf, attrs[:, wire.AT_TYPE], attrs[:, wire.AT_OFF], attrs[:, wire.AT_LEN],
                              attrs[:, wire.AT_INT])
    uniq = np.flatnonzero(rep == np.arange(len(rep)))
    uvals = _values(payload, buf, attrs[uniq])
    if uvals is None:
        return None
    where = np.empty(len(rep), np.int64)
    where[uniq] = np.arange(len(uniq))
    vid = where[rep]
    plan = plan_for(ctx.attribution)
    kget = compiled_keys(plan).get
    heads_get = INFERENCE_HEADS.get
    # what the attribute loop does with each distinct key, decided once per request
    kinds: list[tuple] = []
    for k in keys:
        spec = kget(k)
        if spec is not None:
            kinds.append((_K_SPEC, spec))
        elif is_content_key(k):
            kinds.append((_K_CONTENT, head_flags(k)))
        else:
            dot = k.find(".")
            hf = heads_get(k[:dot]) if dot > 0 else None
            kinds.append((_K_REST, hf, hf is not None and not k.startswith(KNOWN_PREFIXES)))
    res_list = []
    for a0, a1 in resources.tolist():
        d = dict(zip([keys[k] for k in attrs[a0:a1, wire.AT_KEY].tolist()], uvals[vid[a0:a1]].tolist())) if a0 >= 0 else {}
        res_list.append(_resource(d, ctx, plan))
    names = _strings(payload, buf, scopes[:, wire.SC_NAME_OFF], scopes[:, wire.SC_NAME_LEN])
    versions = _strings(payload, buf, scopes[:, wire.SC_VER_OFF], scopes[:, wire.SC_VER_LEN])
    return Decoded(
        payload=payload, buf=buf, spans=spans, attrs=attrs, akey=None, vals=None, keys=keys,
        vid=vid, uvals=uvals,
        kinds=kinds, res_list=res_list, plan=plan,
        scope_list=[(n or None, v or None) for n, v in zip(names, versions)],
        scope_flags_list=[scope_flags_of(n) for n in names],
        span_names=str_array(buf, spans[:, wire.SP_NAME_OFF], spans[:, wire.SP_NAME_LEN]),
        messages=str_array(buf, spans[:, wire.SP_MSG_OFF], spans[:, wire.SP_MSG_LEN]),
    )


def normalize_traces_fast(payload: bytes, ctx: IngestContext) -> NormalizedBatch | None:
    """Protobuf body of an ExportTraceServiceRequest -> `spans` rows, or None for the reference path."""
    d = decode(payload, ctx)
    if d is None:
        return None
    out = NormalizedBatch()
    map_spans(d, range(len(d.spans)), ctx, out, {}, None)
    return out


class _Shape:
    """What the reference's attribute loop does for one sequence of keys, values left out.

    Which key fills which slot, which stay in `attributes`, which are content, the
    marker flags and the unmapped keys depend on the keys alone; only the attribution
    pick looks at the values (empty ones do not count), so it is kept as a list of
    candidates replayed per span. Spans of one request mostly share a few key sequences.
    """

    __slots__ = ("flags", "found", "rest", "content", "odd", "meta", "attrib", "keys")

    def __init__(self, kids: tuple[int, ...], keys: list[str], kinds: list[tuple], capture: bool) -> None:
        flags = 0
        found: list[Any] = [None] * N_SLOTS
        rest: dict[str, int] = {}
        content: dict[str, int] | None = None
        odd: list[str] | None = None
        meta = None
        attrib: list[tuple[int, Any]] = []
        for i, kid in enumerate(kids):
            k = keys[kid]
            kd = kinds[kid]
            if kd[0] == _K_CONTENT:
                if capture:
                    if content is None:
                        content = {}
                    content[k] = i
                flags |= kd[1]
                continue
            if kd[0] == _K_REST:
                rest[k] = i
                if kd[1] is not None:
                    flags |= kd[1]
                    if kd[2]:
                        if odd is None:
                            odd = []
                        odd.append(k)
                continue
            slot, rank, f, attr, is_odd = kd[1]
            flags |= f
            if attr is not None:
                attrib.append((i, attr))
            if slot >= 0:
                prev = found[slot]
                if prev is None or rank <= prev[0]:
                    if prev is not None and rank < prev[0]:
                        rest[prev[1]] = prev[2]
                    found[slot] = (rank, k, i)
                else:
                    rest[k] = i
            elif slot == S_CONTENT:
                if capture:
                    if content is None:
                        content = {}
                    content[k] = i
            else:
                rest[k] = i
                if slot == S_METADATA:
                    meta = i
                elif is_odd:
                    if odd is None:
                        odd = []
                    odd.append(k)
        self.flags = flags
        self.found = [(slot, e[0], e[1], e[2]) for slot, e in enumerate(found) if e is not None]
        self.rest = list(rest.items())
        self.content = list(content.items()) if content is not None else None
        self.odd = odd
        self.meta = meta
        self.attrib = attrib
        self.keys = [keys[kid] for kid in kids]


def map_spans(d: Decoded, which: Any, ctx: IngestContext, out: NormalizedBatch,
              shapes: dict[tuple[int, ...], _Shape], row_spans: list[int] | None) -> None:
    """The spans `which` (indices, in order) through the reference's row code into `out.rows`;
    `row_spans`, when given, receives the span index of each row."""
    if d.vals is None:
        d.vals = d.uvals[d.vid].tolist()
    if d.akey is None:
        d.akey = d.attrs[:, wire.AT_KEY].tolist()
    payload, akey, vals, keys, kinds = d.payload, d.akey, d.vals, d.keys, d.kinds
    res_list, scope_list, scope_flags_list, plan = d.res_list, d.scope_list, d.scope_flags_list, d.plan
    spans = d.spans
    rows = out.rows
    capture = ctx.ingest.capture_content
    tenant = ctx.tenant
    received = ctx.received_at
    bounds = SpanBounds(ctx.ingest)
    span_key_cap = ctx.ingest.max_unmapped_keys_per_span
    which = list(which)
    span_names = d.span_names.take(which).to_pylist() if len(which) < len(spans) else d.span_names.to_pylist()
    messages = d.messages.take(which).to_pylist() if len(which) < len(spans) else d.messages.to_pylist()
    picked = spans[which].tolist() if len(which) < len(spans) else spans.tolist()
    for n, (si, sp) in enumerate(zip(which, picked)):
        res = res_list[sp[wire.SP_RES]]
        t0 = sp[wire.SP_TID_OFF]
        s0 = sp[wire.SP_SID_OFF]
        p0 = sp[wire.SP_PID_OFF]
        view = SpanView(
            payload[t0:t0 + sp[wire.SP_TID_LEN]], payload[s0:s0 + sp[wire.SP_SID_LEN]],
            payload[p0:p0 + sp[wire.SP_PID_LEN]], span_names[n], sp[wire.SP_KIND],
            sp[wire.SP_START], sp[wire.SP_END], sp[wire.SP_CODE], messages[n],
        )
        start_ns = view.start_time_unix_nano
        end_ns = view.end_time_unix_nano
        if start_ns < 0 or end_ns < 0:  # fixed64 beyond int64 (the kernel keeps the bits)
            start_ns = view.start_time_unix_nano = start_ns % _U64
            end_ns = view.end_time_unix_nano = end_ns % _U64
        if (len(view.trace_id) != 16 or len(view.span_id) != 8 or not start_ns
                or end_ns < start_ns or end_ns > MAX_UNIX_NS
                or view.trace_id == _ZERO_TRACE or view.span_id == _ZERO_SPAN):
            out.reject(_span_problem(view))
            continue

        a0, a1 = sp[wire.SP_A0], sp[wire.SP_A1]
        kids = tuple(akey[a0:a1])
        shape = shapes.get(kids)
        if shape is None:
            shape = shapes[kids] = _Shape(kids, keys, kinds, capture)
        flags = scope_flags_list[sp[wire.SP_SCOPE]] | shape.flags
        if not flags and not res.inference_service:
            out.skipped += 1
            continue
        sv = vals[a0:a1]
        found: list[Any] = [None] * N_SLOTS
        for slot, rank, k, i in shape.found:
            found[slot] = (rank, k, sv[i])
        rest = {k: sv[i] for k, i in shape.rest}
        content = None if shape.content is None else {k: sv[i] for k, i in shape.content}
        meta = None if shape.meta is None else sv[shape.meta]
        aval: list[Any] | None = None
        arank: list[int] | None = None
        for i, attrib in shape.attrib:
            v = sv[i]
            if v is not None and v != "":
                if aval is None:
                    aval = [None, None, None, None]
                    arank = [NO_RANK, NO_RANK, NO_RANK, NO_RANK]
                for fi, r in attrib:
                    if r < arank[fi]:
                        arank[fi] = r
                        aval[fi] = v

        row = _span_row(view, found, rest, flags, res, plan, aval, meta, tenant, received, content,
                        scope_list[sp[wire.SP_SCOPE]], capture)
        if row is None:
            out.count_unmapped_span(scope_list[sp[wire.SP_SCOPE]])
            _count_unmapped(out, shape.keys, span_key_cap, scope_list[sp[wire.SP_SCOPE]])
            continue
        problem = bounds.problem(row, received)
        if problem is not None:
            out.reject(f"span {view.name!r} (trace_id {view.trace_id.hex()}, span_id {view.span_id.hex()}): {problem}")
            continue
        if shape.odd is not None:
            _count_unmapped(out, shape.odd, span_key_cap, scope_list[sp[wire.SP_SCOPE]])
        rows.append(row)
        if row_spans is not None:
            row_spans.append(si)
