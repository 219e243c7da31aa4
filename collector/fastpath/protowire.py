"""Protobuf wire-format primitives for the numba kernels: varints, length prefixes,
skipping unknown fields, strict UTF-8, and gathering byte slices into Arrow buffers.

Kernels that allocate nothing, here, in the fast path's other modules and in the writer's key
hashing (`collector/span_keys.py`, `collector/recent_ids.py`), are compiled with
`_nrt=False`: without numba's runtime, handing an array to a helper that is not inlined costs
no atomic reference count, and those counts were three quarters of the trace scan's time."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def varint(buf, pos, end):
    """(value as uint64, new pos); new pos -1 on a truncated or over-long varint."""
    result = np.uint64(0)
    shift = 0
    while pos < end:
        b = buf[pos]
        pos += 1
        result |= np.uint64(b & 0x7F) << np.uint64(shift)
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            return result, -1
    return result, -1


@nb.njit(cache=True, _nrt=False)
def utf8_ok(buf, pos, end):
    """Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as protobuf checks string fields."""
    while pos < end:
        c = buf[pos]
        if c < 0x80:
            pos += 1
            continue
        if 0xC2 <= c <= 0xDF:
            n = 1
            lo, hi = 0x80, 0xBF
        elif c == 0xE0:
            n, lo, hi = 2, 0xA0, 0xBF
        elif 0xE1 <= c <= 0xEC or c == 0xEE or c == 0xEF:
            n, lo, hi = 2, 0x80, 0xBF
        elif c == 0xED:
            n, lo, hi = 2, 0x80, 0x9F
        elif c == 0xF0:
            n, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= c <= 0xF3:
            n, lo, hi = 3, 0x80, 0xBF
        elif c == 0xF4:
            n, lo, hi = 3, 0x80, 0x8F
        else:
            return False
        if pos + n >= end:
            return False
        b = buf[pos + 1]
        if b < lo or b > hi:
            return False
        for j in range(2, n + 1):
            b = buf[pos + j]
            if b < 0x80 or b > 0xBF:
                return False
        pos += n + 1
    return True


@nb.njit(cache=True, _nrt=False)
def skip(buf, pos, end, f, wt):
    """Skip one unknown field's payload; -1 when protobuf would refuse it or it cannot be skipped
    (field number 0 or beyond 2^29-1, groups, truncation)."""
    if f <= 0 or f > 536870911:
        return -1
    if wt == 0:
        _, pos = varint(buf, pos, end)
        return pos
    if wt == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wt == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wt == 2:
        n, pos = varint(buf, pos, end)
        if pos < 0 or n > np.uint64(end - pos):
            return -1
        return pos + np.int64(n)
    return -1


@nb.njit(cache=True, _nrt=False)
def len_field(buf, pos, end):
    n, pos = varint(buf, pos, end)
    if pos < 0 or n > np.uint64(end - pos):
        return -1, -1
    return pos, pos + np.int64(n)


@nb.njit(cache=True, _nrt=False)
def string_field(buf, pos, end, wt):
    """(start, end) of a valid UTF-8 string field, (-1, -1) otherwise."""
    if wt != 2:
        return -1, -1
    p0, p1 = len_field(buf, pos, end)
    if p0 < 0 or not utf8_ok(buf, p0, p1):
        return -1, -1
    return p0, p1


@nb.njit(cache=True, _nrt=False)
def _offsets(lens, width, out_off):
    """Arrow offsets of slices `width` output bytes per input byte long, into out_off; the total."""
    total = 0
    for i in range(lens.shape[0]):
        out_off[i] = total
        total += width * lens[i]
    out_off[lens.shape[0]] = total
    return total


@nb.njit(cache=True)
def gather(buf, offs, lens):
    """Concatenate buf slices into one data buffer with Arrow int64 offsets (a large_string array)."""
    n = offs.shape[0]
    out_off = np.empty(n + 1, np.int64)
    data = np.empty(_offsets(lens, 1, out_off), np.uint8)
    p = 0
    for i in range(n):
        o = offs[i]
        for j in range(lens[i]):
            data[p + j] = buf[o + j]
        p += lens[i]
    return data, out_off


@nb.njit(cache=True)
def gather_hex(buf, offs, lens):
    """Like `gather`, each byte written as two lower-case hex digits (Arrow int32 offsets)."""
    n = offs.shape[0]
    out_off = np.empty(n + 1, np.int32)
    data = np.empty(_offsets(lens, 2, out_off), np.uint8)
    p = 0
    for i in range(n):
        o = offs[i]
        for j in range(lens[i]):
            b = buf[o + j]
            hi = b >> 4
            lo = b & 15
            data[p] = hi + 48 if hi < 10 else hi + 87
            data[p + 1] = lo + 48 if lo < 10 else lo + 87
            p += 2
    return data, out_off
