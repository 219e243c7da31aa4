"""Numba kernels for numeric drift on *sorted* samples.

The reference side is sorted once (see `analytics.drift.profile`) and every current
window is sorted once; each kernel below is then one linear merge of the two sorted
arrays, instead of the searchsorted-over-the-concatenation that scipy does per call.

Each kernel evaluates exactly the same floating-point terms as its scipy reference
(`count / n` for an ECDF, `x[k+1] - x[k]` for a gap), so values agree with scipy to
the last few ulps; only the order of the final sum differs, and that sum is
compensated (Kahan) so it is at least as accurate as NumPy's pairwise sum.
Inputs must be finite float64 arrays sorted ascending (NaN/inf are dropped before,
as Evidently does).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def ks_statistic_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    """Two-sided KS statistic D = max |F_ref - F_cur|, as scipy.stats.ks_2samp computes it.

    scipy takes max(cdf1 - cdf2) and clip(-min(cdf1 - cdf2), 0, 1) over every pooled
    point with `side='right'` ECDFs. The merge below takes one pooled element per
    step (branch-free selects, so random interleaving costs no mispredictions) and
    looks at the ECDF gap whenever the value changes, i.e. after all ties of the
    previous value were consumed — the same points as scipy. The gap is tracked as
    the exact integer i*n2 - j*n1; scipy's float `i / n1 - j / n2` is formed once,
    at the extremes, so D is bit-identical to scipy's.
    """
    n1 = ref.shape[0]
    n2 = cur.shape[0]
    i = 0
    j = 0
    best_hi = -(n1 * n2) - 1
    best_lo = n1 * n2 + 1
    hi_i = hi_j = lo_i = lo_j = 0
    prev = -np.inf
    for _ in range(n1 + n2):
        av = ref[i] if i < n1 else np.inf
        bv = cur[j] if j < n2 else np.inf
        take_a = av <= bv
        x = av if take_a else bv
        if x != prev:
            num = i * n2 - j * n1
            if num > best_hi:
                best_hi, hi_i, hi_j = num, i, j
            if num < best_lo:
                best_lo, lo_i, lo_j = num, i, j
        prev = x
        i += 1 if take_a else 0
        j += 0 if take_a else 1
    # the last pooled value: both ECDFs are 1 (num = 0)
    if 0 > best_hi:
        hi_i, hi_j = n1, n2
    if 0 < best_lo:
        lo_i, lo_j = n1, n2
    max_s = hi_i / n1 - hi_j / n2
    min_s = lo_i / n1 - lo_j / n2
    neg = min(max(-min_s, 0.0), 1.0)
    # scipy: `d = minS if minS > maxS else maxS`
    return neg if neg > max_s else max_s


@njit(cache=True, nogil=True)
def wasserstein_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    """First Wasserstein distance, as scipy.stats.wasserstein_distance (unweighted).

    Integral of |F_ref - F_cur| over the pooled sorted values: between consecutive
    pooled values the ECDFs are constant, so each gap adds |F_ref - F_cur| * gap with
    the ECDFs taken after every value <= the gap's left end (scipy's `side='right'`);
    a gap between tied values is 0 and adds nothing. |F_ref - F_cur| is kept as the
    exact integer |i*n2 - j*n1| and divided by n1*n2 once at the end; the terms are
    summed in blocks, the block sums Kahan-compensated.
    """
    n1 = ref.shape[0]
    n2 = cur.shape[0]
    i = 0
    j = 0
    total = 0.0
    comp = 0.0
    block = 0.0
    prev = 0.0
    num = 0
    for k in range(n1 + n2):
        av = ref[i] if i < n1 else np.inf
        bv = cur[j] if j < n2 else np.inf
        take_a = av <= bv
        x = av if take_a else bv
        block += abs(num) * (x - prev)
        if (k & 255) == 255:
            y = block - comp
            t = total + y
            comp = (t - total) - y
            total = t
            block = 0.0
        prev = x
        i += 1 if take_a else 0
        j += 0 if take_a else 1
        num = i * n2 - j * n1
    y = block - comp
    total = total + y
    return total / (float(n1) * float(n2))


@njit(cache=True, nogil=True)
def count_unique_sorted(a: np.ndarray) -> int:
    """Distinct values of a sorted array (pandas `nunique` after dropna)."""
    n = a.shape[0]
    if n == 0:
        return 0
    k = 1
    for i in range(1, n):
        if a[i] != a[i - 1]:
            k += 1
    return k


@njit(cache=True, nogil=True)
def count_unique_merged(a: np.ndarray, b: np.ndarray, cap: int) -> int:
    """Distinct values of the union of two sorted arrays, stopping once `cap` is passed.

    Evidently's default test choice only asks "<= 2", "<= 5" of the pooled column, so
    counting stops early on continuous data.
    """
    n1 = a.shape[0]
    n2 = b.shape[0]
    i = 0
    j = 0
    k = 0
    while i < n1 or j < n2:
        if j >= n2 or (i < n1 and a[i] <= b[j]):
            x = a[i]
        else:
            x = b[j]
        while i < n1 and a[i] == x:
            i += 1
        while j < n2 and b[j] == x:
            j += 1
        k += 1
        if k > cap:
            return k
    return k


@njit(cache=True, nogil=True)
def value_counts_sorted(a: np.ndarray):
    """(unique values, counts) of a sorted array."""
    n = a.shape[0]
    k = count_unique_sorted(a)
    vals = np.empty(k, dtype=np.float64)
    counts = np.zeros(k, dtype=np.int64)
    p = -1
    for i in range(n):
        if i == 0 or a[i] != a[i - 1]:
            p += 1
            vals[p] = a[i]
        counts[p] += 1
    return vals, counts


@njit(cache=True, nogil=True)
def histogram_sorted(a: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin as np.histogram(a, edges): [e_i, e_i+1), the last bin closed.

    On a sorted sample this is a binary search per edge, which is why the reference
    profile keeps its sample sorted: new edges for every window cost O(bins log n).
    """
    nb = edges.shape[0] - 1
    out = np.zeros(nb, dtype=np.int64)
    prev = np.searchsorted(a, edges[0], side="left")
    for b in range(nb):
        if b == nb - 1:
            nxt = np.searchsorted(a, edges[b + 1], side="right")
        else:
            nxt = np.searchsorted(a, edges[b + 1], side="left")
        out[b] = nxt - prev
        prev = nxt
    return out
