"""The columns of the `spans` table read from the span itself (ids, times, name, kind, status),
and the plausibility bounds as vectorised tests, for the columnar fast path (columnar.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from inferledger.collector.bounds import SpanBounds
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, SPAN_COLUMNS
from inferledger.collector.fastpath import protowire, wire
from inferledger.collector.fastpath.traces import Decoded
from inferledger.collector.ingest_batch import EPOCH, IngestContext

ERROR_ATTR = "error_type from attributes"  # a per-group chunk, merged into error_type / is_error
TYPES = {n: f.type for n, f in zip(SPAN_COLUMNS, SPAN_ARROW_SCHEMA)}
STR = pa.string()
_KIND_NAMES = pa.array(["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"])
_STATUS_NAMES = pa.array(["UNSET", "OK", "ERROR"])
_US = np.int64(1000)
_TS = pa.timestamp("us")


class Limits:
    """SpanBounds as vectorised tests: a span outside them goes to the row code, which rejects it
    with the reference's message. The future bound is the later of `received` and the clock, as there."""

    def __init__(self, b: SpanBounds, ctx: IngestContext) -> None:
        us = timedelta(microseconds=1)
        self.max_tokens = b.max_tokens
        self.max_cost = b.max_cost
        self.max_duration = b.max_duration
        self.min_us = (b.min_time - EPOCH) // us
        self.future_us = (ctx.received_at + b.max_skew - EPOCH) // us
        self._bounds = b
        self._clock_read = False

    def ok(self, g: Any, start: np.ndarray, end: np.ndarray, tokens: tuple[int, ...], cost: int, ttft: int) -> np.ndarray:
        """Per span of group `g`: within every bound (`tokens`, `cost`, `ttft`: the slots to test)."""
        ok = (end - start) / 1e9 <= self.max_duration
        su = start // _US
        if not self._clock_read and (su > self.future_us).any():
            self._clock_read = True
            self.future_us = max(self.future_us, (self._bounds._clock_bound() - EPOCH) // timedelta(microseconds=1))
        ok &= (su >= self.min_us) & (su <= self.future_us)
        for slot in tokens:
            i = g.pos.get(slot)
            if i is not None:
                ok &= g.ints(i) <= self.max_tokens
        i = g.pos.get(cost)
        if i is not None:
            v, fin = g.floats(i)
            ok &= ~fin | ((v >= 0) & (v <= self.max_cost))
        i = g.pos.get(ttft)
        if i is not None:
            v, fin = g.floats(i)
            ok &= ~fin | ((v >= 0) & (v <= self.max_duration))
        return ok


_CONSTS: dict[tuple, pa.Array] = {}


def const(v: Any, type_: pa.DataType, n: int) -> pa.Array:
    """`v` (None: NULL) n times. Arrow arrays are immutable, so the few that recur (request
    sizes, tenants, services, NULL columns) are kept and shared."""
    key = (tuple(v) if type(v) is list else v, str(type_), n)
    arr = _CONSTS.get(key)
    if arr is None:
        arr = pa.nulls(n, type_) if v is None else pa.repeat(pa.scalar(v, type_), n)
        if len(_CONSTS) >= 512:
            _CONSTS.clear()
        _CONSTS[key] = arr
    return arr


def spread(values: list[Any], type_: pa.DataType, ix: pa.Array) -> pa.Array:
    """`values[ix]` as a column; a single distinct value is a shared constant column (`const`)."""
    if len(values) == 1:
        return const(values[0], type_, len(ix))
    return pa.array(values, type_).take(ix)


def hex_ids(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray, empty_null: bool = False) -> pa.Array:
    """Byte slices of the body as lower-case hex strings (`empty_null`: NULL where empty)."""
    data, off = protowire.gather_hex(buf, np.ascontiguousarray(offs), np.ascontiguousarray(lens))
    return pa.Array.from_buffers(STR, len(offs), [_validity(lens > 0) if empty_null else None, pa.py_buffer(off),
                                                  pa.py_buffer(data)])


def _names(names: pa.Array, codes: np.ndarray, n: int) -> pa.Array:
    """Enum codes as their names (unknown codes as the first name); one code in every span (the
    common case) is a shared constant column."""
    c0 = int(codes[0]) if n else 0
    if n and (codes == c0).all():
        return const(names[c0 if 0 <= c0 < len(names) else 0].as_py(), STR, n)
    return names.take(pa.array(np.where((codes >= 0) & (codes < len(names)), codes, 0)))


def _timestamps(us: np.ndarray) -> pa.Array:
    """int64 microseconds as a timestamp column, zero-copy (pa.array takes a slow path for these)."""
    return pa.Array.from_buffers(_TS, len(us), [None, pa.py_buffer(np.ascontiguousarray(us))])


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    """An Arrow validity bitmap (None: no NULLs), so a NULL-where-empty column costs no compute call."""
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def span_columns(d: Decoded, ctx: IngestContext, fi: np.ndarray, chunks: dict[str, list[pa.Array]]) -> list[pa.Array]:
    """The columns read from the span itself, for the spans `fi` (group order), then the rest from `chunks`."""
    sp = d.spans[fi]
    n = len(fi)
    buf = d.buf
    start, end = sp[:, wire.SP_START], sp[:, wire.SP_END]
    code = sp[:, wire.SP_CODE]
    kind = sp[:, wire.SP_KIND]
    plen = sp[:, wire.SP_PID_LEN]
    parent = hex_ids(buf, sp[:, wire.SP_PID_OFF], plen, empty_null=True)
    err = code == 2
    any_err = bool(err.any())
    every = n == len(d.spans) and bool((fi == np.arange(n)).all())  # the common case: all spans, in order
    ix = pa.array(fi)
    cols = {
        "tenant": const(ctx.tenant, STR, n),
        "trace_id": hex_ids(buf, sp[:, wire.SP_TID_OFF], sp[:, wire.SP_TID_LEN]),
        "span_id": hex_ids(buf, sp[:, wire.SP_SID_OFF], sp[:, wire.SP_SID_LEN]),
        "parent_span_id": parent,
        "start_time": _timestamps(start // _US),
        "end_time": _timestamps(end // _US),
        "duration_s": pa.array((end - start) / 1e9),
        "span_name": d.span_names if every else d.span_names.take(ix),
        "span_kind": _names(_KIND_NAMES, kind, n),
        "status_code": _names(_STATUS_NAMES, code, n),
        "is_error": pa.array(err) if any_err else const(False, pa.bool_(), n),
        "error_type": pc.if_else(pa.array(err), pa.scalar("_OTHER"), pa.scalar(None, STR)) if any_err
        else const(None, STR, n),
    }
    # error.type read from the attributes (NULL where absent) wins over the status code's "_OTHER"
    named = chunks.pop(ERROR_ATTR)
    named = named[0] if len(named) == 1 else pa.concat_arrays(named)
    if named.null_count < n:
        cols["is_error"] = pc.or_(cols["is_error"], pc.is_valid(named))
        cols["error_type"] = pc.coalesce(named, cols["error_type"])
    cols |= {
        # a new time per request: built, not kept among the shared constants
        "ingested_at": _timestamps(np.full(n, (ctx.received_at - EPOCH) // timedelta(microseconds=1), np.int64)),
        "duplicate_of": const(None, STR, n),
        "deduped_at": const(None, pa.timestamp("us"), n),
    }
    if ctx.ingest.capture_content:
        mlen = sp[:, wire.SP_MSG_LEN]
        if not mlen.any():
            cols["status_message"] = const(None, STR, n)
        else:
            m = d.messages if every else d.messages.take(ix)
            cols["status_message"] = pc.if_else(pa.array(mlen > 0), m, pa.scalar(None, STR))
    else:
        cols["status_message"] = const(None, STR, n)
    out = []
    for name in SPAN_COLUMNS:
        arr = cols.get(name)
        if arr is None:
            c = chunks[name]
            arr = c[0] if len(c) == 1 else pa.concat_arrays(c)
        if arr.type != TYPES[name]:
            arr = arr.cast(TYPES[name])
        out.append(arr)
    return out
