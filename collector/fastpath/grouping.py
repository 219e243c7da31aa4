"""Numba kernels that find what repeats within one request, so Python work is done once per
distinct thing: equal attribute values (a model name, `["stop"]`, a token count) and spans
with the same scope and key sequence. Both compare the bytes / ids exactly; the hash only
picks the probe slot. Reference implementations: tests/reference/fastpath_groups.py.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from inferledger.collector.fastpath.wire import V_ARRAY, V_BYTES, V_KVLIST, V_NONE, V_STR

_FNV = np.uint64(14695981039346656037)
_PRIME = np.uint64(1099511628211)


@nb.njit(cache=True)
def _table(n):
    size = 16
    while size < 2 * n + 2:
        size <<= 1
    return np.full(size, -1, np.int64)


@nb.njit(cache=True, _nrt=False)
def _fold(h, arr, lo, hi):
    """FNV-1a of arr[lo:hi] and its length, continuing from h."""
    for j in range(lo, hi):
        h = (h ^ np.uint64(arr[j])) * _PRIME
    return (h ^ np.uint64(hi - lo)) * _PRIME


@nb.njit(cache=True, _nrt=False)
def _same_run(arr, o1, o2, n):
    """arr[o1:o1+n] == arr[o2:o2+n], element by element."""
    for j in range(n):
        if arr[o1 + j] != arr[o2 + j]:
            return False
    return True


@nb.njit(cache=True)
def value_reps(buf, types, offs, lens, ints):
    """rep[i]: the first attribute whose value equals attribute i's (same type and same bytes, or
    the same int / double bits / bool)."""
    n = types.shape[0]
    table = _table(n)
    mask = table.shape[0] - 1
    rep = np.empty(n, np.int64)
    for i in range(n):
        t = types[i]
        by_bytes = t == V_STR or t == V_BYTES or t == V_ARRAY or t == V_KVLIST
        h = (_FNV ^ np.uint64(t)) * _PRIME
        if by_bytes:
            h = _fold(h, buf, offs[i], offs[i] + lens[i])
        elif t != V_NONE:
            h = (h ^ np.uint64(ints[i])) * _PRIME
        slot = np.int64(h & np.uint64(mask))
        while True:
            r = table[slot]
            if r < 0:
                table[slot] = i
                rep[i] = i
                break
            if types[r] == t:
                same = True
                if by_bytes:
                    same = lens[r] == lens[i] and _same_run(buf, offs[r], offs[i], lens[i])
                elif t != V_NONE:
                    same = ints[r] == ints[i]
                if same:
                    rep[i] = r
                    break
            slot = (slot + 1) & mask
    return rep


@nb.njit(cache=True)
def span_groups(scope, a0, a1, akey, valid):
    """Group id per span (-1 where not `valid`), spans with equal scope and key sequence sharing
    one, numbered in order of first appearance; and the first span of each group."""
    n = scope.shape[0]
    table = _table(n)
    mask = table.shape[0] - 1
    gid = np.full(n, -1, np.int64)
    first = np.empty(n, np.int64)
    ng = 0
    for s in range(n):
        if not valid[s]:
            continue
        h = _fold((_FNV ^ np.uint64(scope[s])) * _PRIME, akey, a0[s], a1[s])
        slot = np.int64(h & np.uint64(mask))
        while True:
            g = table[slot]
            if g < 0:
                table[slot] = ng
                first[ng] = s
                gid[s] = ng
                ng += 1
                break
            r = first[g]
            if (scope[r] == scope[s] and a1[r] - a0[r] == a1[s] - a0[s]
                    and _same_run(akey, a0[r], a0[s], a1[s] - a0[s])):
                gid[s] = g
                break
            slot = (slot + 1) & mask
    return gid, first[:ng]


@nb.njit(cache=True)
def first_ids(ids, n_ids):
    """The distinct values of `ids` (each in [0, n_ids)) in order of first appearance, and for
    each element its index among them (int32, an Arrow take index). O(n), where a sort-based
    unique would be O(n log n) and a dozen NumPy calls."""
    where = np.full(n_ids, -1, np.int64)
    u = np.empty(ids.shape[0], np.int64)
    inv = np.empty(ids.shape[0], np.int32)
    k = 0
    for j in range(ids.shape[0]):
        v = ids[j]
        w = where[v]
        if w < 0:
            w = k
            where[v] = k
            u[k] = v
            k += 1
        inv[j] = w
    return u[:k], inv


@nb.njit(cache=True)
def valid_spans(buf, tid_off, tid_len, sid_off, sid_len, start, end, max_ns):
    """The reference's id and time test per span, in one pass: a 16-byte trace id and an 8-byte
    span id, neither all zero, 0 < start <= end <= max_ns."""
    n = start.shape[0]
    ok = np.zeros(n, np.bool_)
    for s in range(n):
        if tid_len[s] != 16 or sid_len[s] != 8 or start[s] <= 0 or end[s] < start[s] or end[s] > max_ns:
            continue
        nz = False
        for j in range(16):
            if buf[tid_off[s] + j] != 0:
                nz = True
                break
        if not nz:
            continue
        nz = False
        for j in range(8):
            if buf[sid_off[s] + j] != 0:
                nz = True
                break
        ok[s] = nz
    return ok
