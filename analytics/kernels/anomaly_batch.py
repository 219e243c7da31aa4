"""Entry points of the anomaly kernel: inputs checked and buffers sized, then one numba call.

`anomaly_loop.score_one` scores one series; here it is run over a matrix of series on one time
axis (`score_matrix`), over a list of series of any lengths and time axes read where they lie
(`score_alarms`, what the job uses), or over one series alone (`score_series`). Each gets
exactly the outputs it would get alone; many series run in parallel, one per thread at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from inferledger.analytics.kernels.anomaly_block import LANES, score_blocks
from inferledger.analytics.kernels.anomaly_loop import score_one
from inferledger.analytics.kernels.anomaly_params import KIND_NONE, alarm_capacity, check_params, reciprocals


@nb.njit(cache=True, parallel=True, error_model="numpy")
def score_batch(ts, x, p, inv, out_score, out_expected, out_kind):
    """Score many series at once (rows), sharing one time axis; rows run in parallel."""
    no_i = np.empty(0, dtype=np.int64)
    no_f = np.empty(0, dtype=np.float64)
    no_k = np.empty(0, dtype=np.int8)
    for s in nb.prange(x.shape[0]):
        score_one(ts, x[s], p, inv, out_score[s], out_expected[s], out_kind[s], True, no_i, no_f, no_f, no_k)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def score_list(ts_list, x_list, p, inv, full_off, full_score, full_expected, full_kind,
               a_off, a_idx, a_score, a_expected, a_kind, counts, skip):
    """Score many series of any lengths and time axes in parallel, each exactly as alone
    (but those marked in `skip`, which a block of `score_blocks` scores).

    Series s writes its alarms to a_*[a_off[s]:a_off[s + 1]] and their number to counts[s];
    where full_off[s] >= 0 it also writes every point to full_*[full_off[s]:][:len]. Nothing is
    gridded or copied: each series is read where it lies.
    """
    for i in nb.prange(full_off.shape[0]):
        s = np.int64(i)
        if skip[s]:
            continue
        x = x_list[s]
        n = x.shape[0]
        fo = full_off[s]
        full = fo >= 0
        lo = fo if full else 0
        hi = fo + n if full else 0
        a = a_off[s]
        b = a_off[s + 1]
        counts[s] = score_one(ts_list[s], x, p, inv, full_score[lo:hi], full_expected[lo:hi], full_kind[lo:hi],
                              full, a_idx[a:b], a_score[a:b], a_expected[a:b], a_kind[a:b])


def _check_series(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    x = np.ascontiguousarray(values, dtype=np.float64)
    if ts.shape != x.shape or ts.ndim != 1:
        raise ValueError(f"timestamps and values must be 1-D and equally long, got {ts.shape} and {x.shape}")
    return ts, x


_NO_I = np.empty(0, dtype=np.int64)
_NO_F = np.empty(0, dtype=np.float64)
_NO_K = np.empty(0, dtype=np.int8)
_NO_BLOCKS = np.empty((0, LANES), dtype=np.int64)


def score_series(ts: np.ndarray, values: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, expected values and alarm kinds for one series (kind 0 none, 1 spike, 2 shift)."""
    ts, x = _check_series(ts, values)
    p = check_params(params)
    score = np.empty_like(x)
    expected = np.empty_like(x)
    kind = np.empty(x.shape, dtype=np.int8)
    score_one(ts, x, p, reciprocals(p), score, expected, kind, True, _NO_I, _NO_F, _NO_F, _NO_K)
    return score, expected, kind


def score_matrix(ts: np.ndarray, values: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch form: `values` is (series, time) on the shared time axis `ts`."""
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    x = np.ascontiguousarray(values, dtype=np.float64)
    if x.ndim != 2 or ts.ndim != 1 or ts.shape[0] != x.shape[1]:
        raise ValueError(f"values must be (series, time) matching ts; got {x.shape} and {ts.shape}")
    p = check_params(params)
    score = np.empty_like(x)
    expected = np.empty_like(x)
    kind = np.empty(x.shape, dtype=np.int8)
    score_batch(ts, x, p, reciprocals(p), score, expected, kind)
    return score, expected, kind


@dataclass(frozen=True)
class SeriesAlarms:
    """One series' alarms (positions in the series, ascending) and, where asked for, every point."""

    index: np.ndarray     # int64
    score: np.ndarray     # float64
    expected: np.ndarray  # float64
    kind: np.ndarray      # int8, never KIND_NONE
    full: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (score, expected, kind) of every point


# series per scheduling chunk of the parallel loop: threads take chunks as they finish, so a
# thread slowed by a busy neighbour does not hold the others up
PARALLEL_CHUNK = 16


# a block's lanes all cost the same, filled or not: fewer series than this of one time axis are
# scored one by one
MIN_BLOCK = 4
# a union axis at most this much longer than a block's longest series (more: the series lie on
# different grids, and the NaN points would cost more than scoring them one by one)
UNION_SLACK = 1.5


def shared_axis_blocks(ts_list: list[np.ndarray], exclude: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rows of LANES series (-1 pads) for `score_blocks`, and each row's time axis.

    A row holds series whose axes have one length, first and last point (one axis, which
    `score_blocks` checks point by point as it copies them, in parallel), or series whose axes
    end together at one step and whose union is not much longer than the longest (a late start,
    missing buckets: the union holds each axis, and the series is NaN where it has no point). A
    series in `exclude`, or left in a group of fewer than MIN_BLOCK, is in none.
    """
    rows: list[list[int]] = []
    axes: list[np.ndarray] = []
    groups: dict[tuple[int, int, int], list[int]] = {}
    for s, t in enumerate(ts_list):
        if not exclude[s] and len(t):
            groups.setdefault((len(t), int(t[0]), int(t[-1])), []).append(s)
    loose: dict[tuple[int, int], list[int]] = {}
    for members in groups.values():
        ref = ts_list[members[0]]
        left = []
        for k in range(0, len(members), LANES):
            part = members[k:k + LANES]
            if len(part) >= MIN_BLOCK:
                rows.append(part + [-1] * (LANES - len(part)))
                axes.append(ref)
            else:
                left.extend(part)
        for s in left:
            d = np.diff(ts_list[s])
            if len(d) and d.min() > 0:  # ascending: it can be walked onto a union axis
                loose.setdefault((int(ts_list[s][-1]), int(d.min())), []).append(s)
    for members in loose.values():
        members.sort(key=lambda s: -len(ts_list[s]))
        for k in range(0, len(members), LANES):
            part = members[k:k + LANES]
            if len(part) < MIN_BLOCK:
                continue
            union = np.unique(np.concatenate([ts_list[s] for s in part]))
            if len(union) <= UNION_SLACK * len(ts_list[part[0]]):
                rows.append(part + [-1] * (LANES - len(part)))
                axes.append(union)
    return np.array(rows, dtype=np.int64).reshape(len(rows), LANES), axes


def score_alarms(ts_list: list[np.ndarray], values_list: list[np.ndarray], params: np.ndarray,
                 full: list[bool] | None = None, blocked: bool = True) -> list[SeriesAlarms]:
    """Score many series (any lengths, any time axes) in parallel; each gets exactly what
    `score_series` gives it alone, but only its alarms come back, plus every point's output for
    the series flagged in `full`. Series that share a time axis are scored in vector blocks
    (`anomaly_block`, bit-identical; `blocked=False` scores every series alone)."""
    p = check_params(params)
    n = len(values_list)
    if len(ts_list) != n or (full is not None and len(full) != n):
        raise ValueError("one time axis (and one full flag) per series")
    checked = [_check_series(t, v) for t, v in zip(ts_list, values_list)]
    tl = nb.typed.List([t for t, _ in checked])
    xl = nb.typed.List([v for _, v in checked])
    lens = np.fromiter((len(v) for _, v in checked), dtype=np.int64, count=n)
    want = np.zeros(n, dtype=bool) if full is None else np.asarray(full, dtype=bool)
    full_off = np.where(want, np.cumsum(np.where(want, lens, 0)) - lens, -1).astype(np.int64)
    n_full = int(lens[want].sum())
    caps = alarm_capacity(lens, p)
    a_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(caps, out=a_off[1:])
    m = int(a_off[-1])
    fs, fe, fk = np.empty(n_full), np.empty(n_full), np.empty(n_full, dtype=np.int8)
    a_idx, a_s, a_e, a_k = np.empty(m, dtype=np.int64), np.empty(m), np.empty(m), np.empty(m, dtype=np.int8)
    counts = np.zeros(n, dtype=np.int64)
    inv = reciprocals(p)
    blocks, axes = shared_axis_blocks([t for t, _ in checked], want) if blocked else (_NO_BLOCKS, [])
    skip = np.zeros(n, dtype=bool)
    skip[blocks[blocks >= 0]] = True
    if len(blocks):
        rejected = np.zeros(n, dtype=bool)  # not on its block's axis after all: scored alone
        with nb.parallel_chunksize(1):  # a block is 16 series' work: threads take them one by one
            score_blocks(nb.typed.List(axes), tl, xl, blocks, p, a_off, a_idx, a_s, a_e, a_k, counts, rejected)
        skip &= ~rejected
    if n > int(skip.sum()):
        with nb.parallel_chunksize(PARALLEL_CHUNK):
            score_list(tl, xl, p, inv, full_off, fs, fe, fk, a_off, a_idx, a_s, a_e, a_k, counts, skip)
    out = []
    for s in range(n):
        c = int(counts[s])
        f = None
        if want[s]:
            lo, hi = int(full_off[s]), int(full_off[s]) + int(lens[s])
            f = (fs[lo:hi], fe[lo:hi], fk[lo:hi])
        if c > caps[s]:  # more alarms than room (not possible with the damping above): score it alone
            sc, ex, kd = score_series(checked[s][0], checked[s][1], p)
            idx = np.flatnonzero(kd != KIND_NONE)
            out.append(SeriesAlarms(idx, sc[idx], ex[idx], kd[idx], f))
            continue
        a = int(a_off[s])
        out.append(SeriesAlarms(a_idx[a:a + c], a_s[a:a + c], a_e[a:a + c], a_k[a:a + c], f))
    return out
