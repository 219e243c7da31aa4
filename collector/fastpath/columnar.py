"""Kernel arrays -> the `spans` Arrow table, column by column, without a Python row per span.

Spans are grouped by (scope, key sequence): within a group every span has the same
keys at the same attribute positions, so the reference's attribute loop (which key
fills which slot, what stays in `attributes`, the markers, the vocabulary) is decided
once per group (`traces._Shape`), and a slot's values are the attributes at one
position, read as NumPy / Arrow columns. A span is built here only when every value it
carries is of the plain kind the reference passes through unchanged (a count is an
int >= 0, a model a string, ...) and it is within the plausibility bounds; every other
span (bad ids or times, a count sent as a string, metadata
attribution, output bodies, a value out of bounds, no inference meaning)
goes through the reference's row code (`traces.map_spans`) in span order, so its
rejection messages, skips and unmapped counts are the reference's. The two parts are
merged back into span order.

JSON text (`attributes`, `content`) is assembled per key from per-value JSON columns:
strings without characters JSON escapes are quoted as they are, ints cast to decimal,
everything else goes through the reference's `dumps_json` value by value (JSON is
compositional, so this equals encoding the whole dict).
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from inferledger.collector.attributes import dumps_json, to_bool, to_str, to_str_list
from inferledger.collector.bounds import SpanBounds
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.fastpath import grouping, wire
from inferledger.collector.fastpath.span_columns import ERROR_ATTR, STR, TYPES, Limits, const, span_columns, spread
from inferledger.collector.fastpath.traces import Decoded, _Shape, decode, map_spans, str_array
from inferledger.collector.ingest_batch import MAX_UNIX_NS, IngestContext, NormalizedBatch
from inferledger.collector.keymap import (
    S_CACHE_READ,
    S_CACHE_WRITE,
    S_COST,
    S_ERROR_TYPE,
    S_FINISH,
    S_INPUT,
    S_INVOCATION,
    S_OPERATION,
    S_OUTPUT,
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
)
from inferledger.collector.normalize import _count_unmapped
from inferledger.collector.span_extras import invocation, invocation_user
from inferledger.collector.token_semantics import input_includes_cache
from inferledger.collector.vocabularies import (
    PROVIDER_WITH_API,
    STREAMING_OPERATION_IDS,
    STRUCTURE_OPERATIONS,
    clean_error_type,
    normalize_operation,
    normalize_provider,
    vocabulary_of,
)


@dataclass
class ColumnarBatch(NormalizedBatch):
    """A NormalizedBatch whose accepted spans are already an Arrow table (`rows` stays empty)."""

    table: pa.Table | None = None
    row_code_spans: int = 0  # spans that went through the reference's row code instead


_TOKENS = (S_INPUT, S_OUTPUT, S_CACHE_READ, S_CACHE_WRITE, S_REASONING, S_TOTAL)
_TOKEN_COLS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
               "total_tokens")
_HAS_TOKENS = (S_INPUT, S_OUTPUT, S_TOTAL, S_CACHE_READ, S_CACHE_WRITE)  # what counts as "has tokens"
_STRS = (S_REQUEST_MODEL, S_RESPONSE_MODEL, S_SERVER_ADDRESS, S_RESPONSE_ID, S_OPERATION, S_PROVIDER, S_ERROR_TYPE)
_FLOATS = (S_TTFT, S_COST)
# every other slot (output body, ms to first chunk, cost parts) -> row code
_COLUMNAR_SLOTS = frozenset(_TOKENS + _STRS + _FLOATS + (S_STREAMING, S_FINISH, S_SERVER_PORT, S_ERROR_TYPE,
                                                           S_INVOCATION))
_BOOL_JSON = pa.array(["false", "true"])
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'  # what json's encode_basestring (ensure_ascii off) escapes

_MAX_NS = min(MAX_UNIX_NS, (1 << 63) - 1)  # int64 times: a later bound cannot be exceeded
_OPS: dict[tuple[str, str], str | None] = {}
_PROVIDERS: dict[tuple[str, str], str | None] = {}
_VOCABS: dict[tuple[int, bool], str | None] = {}


def traces_table_fast(payload: bytes, ctx: IngestContext) -> ColumnarBatch | None:
    """Protobuf ExportTraceServiceRequest -> batch with the `spans` table, or None for the reference path."""
    d = decode(payload, ctx)
    if d is None:
        return None
    return build(d, ctx)


def build(d: Decoded, ctx: IngestContext) -> ColumnarBatch:
    out = ColumnarBatch()
    sp = d.spans
    buf = d.buf
    start, end = sp[:, wire.SP_START], sp[:, wire.SP_END]
    valid = grouping.valid_spans(buf, sp[:, wire.SP_TID_OFF], sp[:, wire.SP_TID_LEN], sp[:, wire.SP_SID_OFF],
                                 sp[:, wire.SP_SID_LEN], start, end, _MAX_NS)

    gid, firsts = grouping.span_groups(sp[:, wire.SP_SCOPE], sp[:, wire.SP_A0], sp[:, wire.SP_A1],
                                       d.attrs[:, wire.AT_KEY], valid)
    akey = d.attrs[:, wire.AT_KEY]
    if len(firsts) == 1 and gid[-1] == 0 and (gid == 0).all():  # the common request: one shape, all valid
        fallback: list[int] = []
        sc, a0, a1 = sp[0, [wire.SP_SCOPE, wire.SP_A0, wire.SP_A1]].tolist()
        groups = [((sc, tuple(akey[a0:a1].tolist())), np.arange(len(sp)))]
    else:
        fallback = np.flatnonzero(gid < 0).tolist()
        by_group = np.argsort(gid, kind="stable")[len(fallback):]
        cuts = np.cumsum(np.bincount(gid[by_group], minlength=len(firsts)))[:-1]
        groups = [((sc, tuple(akey[a0:a1].tolist())), members) for (sc, a0, a1), members in zip(
            sp[firsts][:, [wire.SP_SCOPE, wire.SP_A0, wire.SP_A1]].tolist(), np.split(by_group, cuts))]

    capture = ctx.ingest.capture_content
    shapes: dict[tuple[int, ...], _Shape] = {}
    bounds = SpanBounds(ctx.ingest)
    limits = Limits(bounds, ctx)
    sall = None
    chunks: dict[str, list[pa.Array]] = {}
    fast: list[np.ndarray] = []
    for (scope, kids), idx in groups:
        shape = shapes.get(kids)
        if shape is None:
            shape = shapes[kids] = _Shape(kids, d.keys, d.kinds, capture)
        res = d.res_list[sp[idx[0], wire.SP_RES]]
        flags = d.scope_flags_list[scope] | shape.flags
        if not flags and not res.inference_service:
            out.skipped += len(idx)
            continue
        vkey = (flags, res.openlit)
        vocabulary = _VOCABS.get(vkey, _VOCABS)
        if vocabulary is _VOCABS:
            vocabulary = _VOCABS[vkey] = vocabulary_of(flags, res.openlit)
        if (vocabulary is None or shape.meta is not None or any(f[0] not in _COLUMNAR_SLOTS for f in shape.found)
                or any(f[0] == S_INVOCATION and any(k == f[2] for k, _ in shape.rest) for f in shape.found)):
            fallback.extend(idx.tolist())
            continue
        if sall is None:
            sall = _attr_strings(d)
        g = _Group(d, sall, shape, idx)
        ok = g.typed_ok() & limits.ok(g, start[idx], end[idx], _TOKENS, S_COST, S_TTFT)
        if not ok.all():
            fallback.extend(idx[~ok].tolist())
            if not ok.any():
                continue
            g = _Group(d, sall, shape, idx[ok])
        meaningful = g.meaningful()
        if not meaningful.all():
            fallback.extend(g.idx[~meaningful].tolist())
            if not meaningful.any():
                continue
            g = _Group(d, sall, shape, g.idx[meaningful])
        for name, arr in g.columns(res, d.scope_list[scope], vocabulary, capture).items():
            chunks.setdefault(name, []).append(arr)
        fast.append(g.idx)
        if shape.odd is not None:
            tmp = NormalizedBatch()
            _count_unmapped(tmp, shape.odd, ctx.ingest.max_unmapped_keys_per_span, d.scope_list[scope])
            n = len(g.idx)
            for k, c in tmp.unmapped_keys.items():
                out.unmapped_keys[k] += c * n
            out.unmapped_keys_dropped += tmp.unmapped_keys_dropped * n

    fallback.sort()
    out.row_code_spans = len(fallback)
    row_spans: list[int] = []
    if fallback:
        map_spans(d, fallback, ctx, out, shapes, row_spans)
    fast_idx = np.concatenate(fast) if fast else np.zeros(0, np.int64)
    parts = []
    if len(fast_idx):
        parts.append(pa.Table.from_arrays(span_columns(d, ctx, fast_idx, chunks), schema=SPAN_ARROW_SCHEMA))
    if out.rows:
        parts.append(rows_to_arrow(out.rows, SPAN_ARROW_SCHEMA))
        out.rows = []
    if not parts:
        out.table = SPAN_ARROW_SCHEMA.empty_table()
        return out
    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
    if len(fast) != 1 or row_spans:  # one fast group alone is in span order already
        order = np.argsort(np.concatenate([fast_idx, np.array(row_spans, np.int64)]), kind="stable")
        if (order != np.arange(len(order))).any():
            table = table.take(order)
    out.table = table.combine_chunks() if any(c.num_chunks > 1 for c in table.columns) else table
    return out


def _attr_strings(d: Decoded) -> _Strings:
    """Every attribute's string value as one Arrow array ("" where the value is not a string)."""
    a = d.attrs
    lens = np.where(a[:, wire.AT_TYPE] == wire.V_STR, a[:, wire.AT_LEN], 0)
    return _Strings(str_array(d.buf, a[:, wire.AT_OFF], lens), [np.ascontiguousarray(a[:, c]) for c in range(wire.AT_NCOL)])


class _Strings:
    """Every attribute's string value as one Arrow array, and the attribute columns one by one."""

    __slots__ = ("arr", "acol")

    def __init__(self, arr: pa.Array, acol: list[np.ndarray]) -> None:
        self.arr, self.acol = arr, acol

    def take(self, ai: pa.Array) -> pa.Array:
        return self.arr.take(ai)


class _Group:
    """Spans of one scope and key sequence; `pos` maps a canonical slot to its attribute position."""

    def __init__(self, d: Decoded, sall: _Strings, shape: _Shape, idx: np.ndarray) -> None:
        self.d, self.sall, self.shape, self.idx = d, sall, shape, idx
        self.acol = sall.acol
        self.a0 = d.spans[idx, wire.SP_A0]
        self.pos = {slot: i for slot, _rank, _k, i in shape.found}
        self.key = {slot: k for slot, _rank, k, _i in shape.found}
        self._ops: tuple | None = None
        self._ids: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # position -> first_ids of its values
        self._distinct: dict[int, tuple[list[Any], pa.Array]] = {}

    def at(self, i: int, col: int) -> np.ndarray:
        return self.acol[col][self.a0 + i]

    def ints(self, i: int) -> np.ndarray:
        return self.at(i, wire.AT_INT)

    def floats(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """to_float of an int or double attribute, and whether it is finite (else None)."""
        t, iv = self.at(i, wire.AT_TYPE), self.ints(i)
        v = np.where(t == wire.V_DOUBLE, iv.view(np.float64), iv.astype(np.float64))
        return v, np.isfinite(v)

    def strings(self, i: int) -> pa.Array:
        return self.sall.take(pa.array(self.a0 + i))

    def distinct(self, i: int | np.ndarray) -> tuple[list[Any], pa.Array]:
        """The distinct Python values at attribute position i (or attribute indices i), and
        for each span the index of its value among them."""
        if isinstance(i, int):
            hit = self._distinct.get(i)
            if hit is None:
                u, inv = self._first_ids(i)
                hit = self._distinct[i] = (self.d.uvals[u].tolist(), pa.array(inv))
            return hit
        u, inv = grouping.first_ids(self.d.vid[i], len(self.d.uvals))
        return self.d.uvals[u].tolist(), pa.array(inv)

    def _first_ids(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._ids.get(i)
        if hit is None:
            hit = self._ids[i] = grouping.first_ids(self.d.vid[self.a0 + i], len(self.d.uvals))
        return hit

    def few(self, i: int) -> bool:
        """Whether position i holds few distinct values (then Python work per value is cheap)."""
        n = len(self.idx)
        return n <= 64 or len(self._first_ids(i)[0]) * 4 <= n

    def typed_ok(self) -> np.ndarray:
        ok = np.ones(len(self.idx), bool)
        for slot, i in self.pos.items():
            t = self.at(i, wire.AT_TYPE)
            if slot in _TOKENS:
                ok &= (t == wire.V_INT) & (self.ints(i) >= 0)
            elif slot in _STRS:
                ok &= t == wire.V_STR
            elif slot in _FLOATS:
                ok &= (t == wire.V_INT) | (t == wire.V_DOUBLE)
            elif slot == S_STREAMING:
                ok &= (t == wire.V_INT) | (t == wire.V_BOOL)
            elif slot == S_SERVER_PORT:
                iv = self.ints(i)
                ok &= (t == wire.V_INT) & (iv >= 0) & (iv <= 65535)
        return ok

    def operations(self) -> tuple[pa.Array | None, np.ndarray | None, pa.Array, np.ndarray]:
        """(operation, streamed-operation mask, is_inference, operation is truthy), per span."""
        if self._ops is not None:
            return self._ops
        n = len(self.idx)
        i = self.pos.get(S_OPERATION)
        if i is None:
            self._ops = (None, None, pa.repeat(pa.scalar(None not in STRUCTURE_OPERATIONS), n), np.zeros(n, bool))
            return self._ops
        k = self.key[S_OPERATION]
        raw, ix = self.distinct(i)
        ops = []
        for v in raw:
            op = _OPS.get((k, v), _OPS)
            if op is _OPS:
                op = normalize_operation(k, v)
                if len(_OPS) < 4096:
                    _OPS[(k, v)] = op
            ops.append(op)
        take = np.asarray(ix)
        self._ops = (
            spread(ops, STR, ix),
            np.array([v in STREAMING_OPERATION_IDS for v in raw], bool)[take],
            spread([op not in STRUCTURE_OPERATIONS for op in ops], pa.bool_(), ix),
            np.array([bool(op) for op in ops], bool)[take],
        )
        return self._ops

    def meaningful(self) -> np.ndarray:
        """The reference's test for a vocabulary span that is read: a model, tokens or an operation."""
        if any(s in self.pos for s in _HAS_TOKENS):
            return np.ones(len(self.idx), bool)
        m = self.operations()[3].copy()
        for slot in (S_REQUEST_MODEL, S_RESPONSE_MODEL):
            i = self.pos.get(slot)
            if i is not None:
                m |= self.at(i, wire.AT_LEN) > 0
        return m

    def opt_string(self, slot: int) -> pa.Array:
        """A string slot as the reference reads it: "" -> NULL."""
        i = self.pos.get(slot)
        if i is None:
            return const(None, STR, len(self.idx))
        if self.few(i):
            u, inv = self.distinct(i)
            return spread([v or None for v in u], STR, inv)
        return pc.if_else(pa.array(self.at(i, wire.AT_LEN) > 0), self.strings(i), pa.scalar(None, STR))

    def columns(self, res: Any, scope: tuple, vocabulary: str, capture: bool) -> dict[str, pa.Array]:
        n = len(self.idx)
        cols: dict[str, pa.Array] = {}
        for name, v in (("service_name", res.service_name), ("service_version", res.service_version),
                        ("deployment_environment", res.environment), ("host_name", res.host),
                        ("k8s_namespace", res.k8s_namespace), ("k8s_pod", res.k8s_pod),
                        ("resource_attributes", res.json), ("vocabulary", vocabulary),
                        ("scope_name", scope[0]), ("scope_version", scope[1])):
            cols[name] = const(v, TYPES[name], n)
        operation, streamed, is_inference, _ = self.operations()
        cols["operation"] = operation if operation is not None else const(None, STR, n)
        cols["is_inference"] = is_inference
        for slot, name in zip(_TOKENS, _TOKEN_COLS):
            i = self.pos.get(slot)
            cols[name] = const(None, pa.int64(), n) if i is None else pa.array(self.ints(i))
        cols["request_model"] = self.opt_string(S_REQUEST_MODEL)
        cols["response_model"] = self.opt_string(S_RESPONSE_MODEL)
        cols["server_address"] = self.opt_string(S_SERVER_ADDRESS)
        cols["response_id"] = self.opt_string(S_RESPONSE_ID)
        i = self.pos.get(S_ERROR_TYPE)
        if i is None:
            cols[ERROR_ATTR] = const(None, STR, n)
        else:
            u, inv = self.distinct(i)
            cols[ERROR_ATTR] = spread([None if not v else clean_error_type(v) if v[0] == "<" else v for v in u], STR, inv)
        self._provider(cols, scope, vocabulary)
        ttft_known = np.zeros(n, bool)
        for slot, name in ((S_TTFT, "time_to_first_token_s"), (S_COST, "client_cost_usd")):
            i = self.pos.get(slot)
            if i is None:
                cols[name] = const(None, pa.float64(), n)
                continue
            v, fin = self.floats(i)
            cols[name] = pa.array(v, mask=~fin)
            if slot == S_TTFT:
                ttft_known = fin
        inv_model, inv_stream, inv_user = self._invocation()
        if inv_model is not None:  # the request's own parameters name the model when no attribute does
            cols["request_model"] = pc.coalesce(cols["request_model"], inv_model)
        i = self.pos.get(S_STREAMING)
        if i is not None:
            cols["is_streaming"] = pa.array(self.ints(i) != 0)
        else:  # the request's `stream`, else a streamed operation or a first-token time means streamed
            known = ttft_known if streamed is None else ttft_known | streamed
            cols["is_streaming"] = pa.array(np.ones(n, bool), mask=~known)
            if inv_stream is not None:
                cols["is_streaming"] = pc.coalesce(inv_stream, cols["is_streaming"])
        i = self.pos.get(S_SERVER_PORT)
        cols["server_port"] = const(None, pa.int32(), n) if i is None else pa.array(self.ints(i).astype(np.int32))
        i = self.pos.get(S_FINISH)
        if i is None:
            cols["finish_reasons"] = const(None, TYPES["finish_reasons"], n)
            cols["finish_reason"] = const(None, STR, n)
        else:
            u, inv = self.distinct(i)
            fr = [[v] if type(v) is str and v and v[0] != "[" else to_str_list(v) for v in u]
            cols["finish_reasons"] = spread(fr, TYPES["finish_reasons"], inv)
            cols["finish_reason"] = spread([x[0] if x else None for x in fr], STR, inv)
        for fi, name in enumerate(("team", "feature", "user_id", "conversation_id")):
            cols[name] = self._attribution(fi, res.attribution[fi])
        rest = self.shape.rest
        if inv_user is not None:
            cols["user_id"] = pc.coalesce(cols["user_id"], inv_user)
            rest = [*rest, (self.key[S_INVOCATION], self.pos[S_INVOCATION])]  # kept whole in `attributes`, last
            # (build() sends spans whose invocation key is also among the leftovers to the row code)
        cols["attributes"] = self._json(rest)
        cols["content"] = self._json(self.shape.content) if capture and self.shape.content else const(None, STR, n)
        return cols

    def _invocation(self) -> tuple[pa.Array | None, pa.Array | None, pa.Array | None]:
        """Model, `stream` and end user from OpenInference's invocation parameters, per span
        (NULL where they do not say); None when the spans carry none."""
        i = self.pos.get(S_INVOCATION)
        if i is None:
            return None, None, None
        u, inv = self.distinct(i)
        parsed = [invocation(v) for v in u]
        return (spread([None if p is None else to_str(p.get("model")) for p in parsed], STR, inv),
                spread([None if p is None else to_bool(p.get("stream", False)) for p in parsed], pa.bool_(), inv),
                spread([None if p is None else invocation_user(p) for p in parsed], STR, inv))

    def _provider(self, cols: dict[str, pa.Array], scope: tuple, vocabulary: str) -> None:
        n = len(self.idx)
        i = self.pos.get(S_PROVIDER)
        if i is None:
            cols["provider"] = const(None, STR, n)
            cols["input_includes_cache"] = const(input_includes_cache(scope[0], vocabulary, None), pa.bool_(), n)
            return
        k = self.key[S_PROVIDER]
        raws, ix = self.distinct(i)
        provs = []
        for raw in raws:
            pk = (k if k in PROVIDER_WITH_API else "", raw)
            p = _PROVIDERS.get(pk, _PROVIDERS)
            if p is _PROVIDERS:
                p = normalize_provider(raw, k)
                if len(_PROVIDERS) < 4096:
                    _PROVIDERS[pk] = p
            provs.append(p)
        cols["provider"] = spread(provs, STR, ix)
        cols["input_includes_cache"] = spread(
            [input_includes_cache(scope[0], vocabulary, p) for p in provs], pa.bool_(), ix)

    def _attribution(self, fi: int, default: str | None) -> pa.Array:
        """The reference's pick: the best-ranked key whose value is not None or "", else the resource's."""
        n = len(self.idx)
        cands = sorted((r, order, i) for order, (i, attrib) in enumerate(self.shape.attrib)
                       for f, r in attrib if f == fi)
        if not cands:
            return const(default, STR, n)
        chosen = np.full(n, -1, np.int64)
        for _r, _o, i in reversed(cands):
            ai = self.a0 + i
            t = self.acol[wire.AT_TYPE][ai]
            empty = (t == wire.V_NONE) | (((t == wire.V_STR) | (t == wire.V_BYTES)) & (self.acol[wire.AT_LEN][ai] == 0))
            chosen = np.where(empty, chosen, ai)
        has = chosen >= 0
        if not has.any():
            return const(default, STR, n)
        u, inv = self.distinct(np.where(has, chosen, chosen[has][0]))
        picked = spread([v if type(v) is str else to_str(v) for v in u], STR, inv)
        return picked if has.all() else pc.if_else(pa.array(has), picked, pa.scalar(default, STR))

    def _json(self, entries: list[tuple[str, int]]) -> pa.Array:
        """`dumps_json` of {key: value at position i} for each span, as one Arrow column."""
        n = len(self.idx)
        if not entries:
            return const(None, STR, n)
        parts: list[Any] = []
        lit = "{"
        for j, (k, i) in enumerate(entries):
            lit += ("," if j else "") + encode_basestring(k) + ":"
            if self.few(i):
                u, inv = self.distinct(i)
                if len(u) == 1:  # one value in every span: part of the literal text
                    lit += dumps_json(u[0])
                    continue
            ai = self.a0 + i
            t = self.acol[wire.AT_TYPE][ai]
            t0 = t[0]
            same = (t == t0).all()
            if same and t0 == wire.V_STR and not self.few(i):
                s = self.sall.take(pa.array(ai))
                if not pc.any(pc.match_substring_regex(s, _NEEDS_ESCAPE)).as_py():
                    parts += [lit + '"', s]
                    lit = '"'
                    continue
                u, inv = self.distinct(i)
                col = spread([encode_basestring(v) for v in u], STR, inv)
            elif same and t0 == wire.V_INT and not self.few(i):
                col = pc.cast(pa.array(self.acol[wire.AT_INT][ai]), STR)
            elif same and t0 == wire.V_BOOL:
                col = _BOOL_JSON.take(pa.array((self.acol[wire.AT_INT][ai] != 0).astype(np.int8)))
            elif same and t0 == wire.V_NONE:
                lit += "null"
                continue
            else:
                u, inv = self.distinct(i)
                col = spread([dumps_json(v) for v in u], STR, inv)
            parts += [lit, col]
            lit = ""
        lit += "}"
        if not any(isinstance(p, pa.Array) for p in parts):
            return const("".join(parts) + lit, STR, n)
        parts.append(lit)
        return pc.binary_join_element_wise(*parts, "")
