"""The 64-bit keys the writer derives from every span: one home for the resend filter's and the link index's.

`RecentIds` holds a hash of (tenant, trace_id, span_id); `LinkIndex` holds hashes of
(tenant, trace_id) and (tenant, response_id). Both are filled from the warehouse on start and
from each commit's batch after, so the same function must hash both: this module is it.

The keys are computed in-process by a numba kernel straight from the Arrow string buffers: a
DuckDB query over the batch (`SELECT hash(...) FROM batch`) cost ~1.3 ms of the writer's CPU per
commit whatever the batch size, plus its per-row part. FNV-1a folds each field with its length
(so field boundaries cannot shift), a per-key seed keeps a trace key and a response key of the
same text apart, and murmur3's finalizer spreads the bits (the sets probe by the low bits).
Key 0 marks an empty slot and "no response id": a real hash of 0 becomes 1.
Reference implementation: tests/reference/span_keys.py.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FNV = np.uint64(14695981039346656037)
_PRIME = np.uint64(1099511628211)
SEED_ID = np.uint64(0x68)  # 'h': (tenant, trace_id, span_id)
SEED_TRACE = np.uint64(0x74)  # 't': (tenant, trace_id)
SEED_RESPONSE = np.uint64(0x72)  # 'r': (tenant, response_id)

# Columns a spans table needs for `span_keys`; the warehouse query of the loaders selects them.
KEY_COLUMNS = ["tenant", "trace_id", "span_id", "response_id", "start_time", "is_inference"]
STORED_KEYS_SQL = "SELECT " + ", ".join(KEY_COLUMNS) + " FROM spans"


@numba.njit(cache=True, nogil=True, _nrt=False)
def _fold(h: np.uint64, data: np.ndarray, lo: np.int64, hi: np.int64) -> np.uint64:
    for j in range(lo, hi):
        h = (h ^ np.uint64(data[j])) * _PRIME
    return (h ^ np.uint64(hi - lo)) * _PRIME


@numba.njit(cache=True, nogil=True, _nrt=False)
def _finish(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    if h == np.uint64(0):
        return np.uint64(1)
    return h


@numba.njit(cache=True, nogil=True, _nrt=False)
def _seeded(seed: np.uint64) -> np.uint64:
    return (_FNV ^ seed) * _PRIME


@numba.njit(cache=True, nogil=True)  # the writer thread: leave the GIL to the event loop
def keys_kernel(ten_d: np.ndarray, ten_o: np.ndarray, tr_d: np.ndarray, tr_o: np.ndarray,
                sp_d: np.ndarray, sp_o: np.ndarray, re_d: np.ndarray, re_o: np.ndarray,
                re_valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: id key, trace key, response key (0 where response_id is null), from Arrow offsets/data."""
    n = ten_o.size - 1
    h = np.empty(n, np.uint64)
    t = np.empty(n, np.uint64)
    r = np.zeros(n, np.uint64)
    for i in range(n):
        a = _fold(_seeded(SEED_ID), ten_d, ten_o[i], ten_o[i + 1])
        a = _fold(a, tr_d, tr_o[i], tr_o[i + 1])
        h[i] = _finish(_fold(a, sp_d, sp_o[i], sp_o[i + 1]))
        b = _fold(_seeded(SEED_TRACE), ten_d, ten_o[i], ten_o[i + 1])
        t[i] = _finish(_fold(b, tr_d, tr_o[i], tr_o[i + 1]))
        if re_valid[i]:
            c = _fold(_seeded(SEED_RESPONSE), ten_d, ten_o[i], ten_o[i + 1])
            r[i] = _finish(_fold(c, re_d, re_o[i], re_o[i + 1]))
    return h, t, r


def _strings(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(UTF-8 bytes, int64 offsets, valid mask) of a string column, zero-copy for plain `string`."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.type != pa.string():
        arr = arr.cast(pa.string())  # large_string, string_view, or an all-null column
    n = len(arr)
    _, offsets, data = arr.buffers()
    offs = (np.frombuffer(offsets, np.int32)[arr.offset:arr.offset + n + 1] if offsets is not None and n
            else np.zeros(n + 1, np.int32)).astype(np.int64)
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    valid = np.ones(n, np.bool_) if arr.null_count == 0 else ~arr.is_null().to_numpy(zero_copy_only=False)
    return raw, offs, valid


def span_keys(spans: pa.Table) -> dict[str, np.ndarray]:
    """Per row: `h` id key, `t` trace key, `r` response key (0: none), `s` start (µs), `i` is_inference."""
    ten, tr, sp, re = (_strings(spans[c]) for c in ("tenant", "trace_id", "span_id", "response_id"))
    h, t, r = keys_kernel(ten[0], ten[1], tr[0], tr[1], sp[0], sp[1], re[0], re[1], re[2])
    start = spans["start_time"]
    if not pa.types.is_integer(start.type):
        start = pc.cast(pc.cast(start, pa.timestamp("us")), pa.int64())
    inf = pc.fill_null(spans["is_inference"], False)
    return {"h": h, "t": t, "r": r,
            "s": np.asarray(start.to_numpy(), dtype=np.int64),
            "i": np.asarray(inf.to_numpy(), dtype=np.bool_)}
