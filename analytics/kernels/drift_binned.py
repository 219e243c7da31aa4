"""Numba kernels for drift scores on binned distributions (counts per bin / category).

Binned scores only ever see a few dozen numbers (Sturges bins or categories), so
these kernels are about reproducing Evidently's arithmetic exactly rather than about
speed: the same per-bin terms, in the same formula, with a compensated sum.
Counts are mergeable partial aggregates (DESIGN.md): partitions can add them up
before any of these run.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _csum(terms: np.ndarray) -> float:
    """Neumaier-compensated sum (at least as accurate as NumPy's pairwise sum)."""
    total = 0.0
    comp = 0.0
    naive = 0.0
    for k in range(terms.shape[0]):
        term = terms[k]
        naive += term
        t = total + term
        if abs(total) >= abs(term):
            comp += (total - t) + term
        else:
            comp += (term - t) + total
        total = t
    if not math.isfinite(naive):
        return naive  # inf / NaN terms: compensation would turn inf into NaN
    return total + comp


@njit(cache=True, nogil=True)
def fill_zeroes(percents: np.ndarray) -> np.ndarray:
    """Evidently's empty-bin rule (`get_binned_data(feel_zeroes=True)`).

    Empty bins get min(non-empty)/1e6 when the smallest non-empty share is <= 1e-4,
    otherwise 1e-4 — so PSI stays finite when a bin is empty on one side.
    """
    out = percents.copy()
    smallest = np.inf
    for k in range(out.shape[0]):
        if out[k] != 0.0 and out[k] < smallest:
            smallest = out[k]
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    for k in range(out.shape[0]):
        if out[k] == 0.0:
            out[k] = fill
    return out


@njit(cache=True, nogil=True)
def psi(ref_percents: np.ndarray, cur_percents: np.ndarray) -> float:
    """Population stability index: sum((r - c) * ln(r / c)) over zero-filled shares."""
    r = fill_zeroes(ref_percents)
    c = fill_zeroes(cur_percents)
    terms = (r - c) * np.log(r / c)
    return _csum(terms)


@njit(cache=True, nogil=True)
def _rel_entr(x: float, y: float) -> float:
    # scipy.special.rel_entr
    if x > 0.0 and y > 0.0:
        return x * math.log(x / y)
    if x == 0.0 and y >= 0.0:
        return 0.0
    return np.inf


@njit(cache=True, nogil=True)
def jensenshannon(ref_percents: np.ndarray, cur_percents: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log), as scipy.spatial.distance.jensenshannon."""
    p = ref_percents / _csum(ref_percents)
    q = cur_percents / _csum(cur_percents)
    m = (p + q) / 2.0
    n = p.shape[0]
    left = np.empty(n)
    right = np.empty(n)
    for k in range(n):
        left[k] = _rel_entr(p[k], m[k])
        right[k] = _rel_entr(q[k], m[k])
    js = _csum(left) + _csum(right)
    return math.sqrt(js / 2.0)


@njit(cache=True, nogil=True)
def chisquare_statistic(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Pearson statistic of current counts against reference counts scaled to the current size.

    Evidently: f_exp = ref_count * (n_cur / n_ref); a category absent from the
    reference has f_exp = 0 and makes the statistic infinite (p-value 0), as in scipy.
    """
    n_ref = 0.0
    n_cur = 0.0
    for k in range(ref_counts.shape[0]):
        n_ref += ref_counts[k]
        n_cur += cur_counts[k]
    k_norm = n_cur / n_ref
    n = ref_counts.shape[0]
    terms = np.empty(n)
    for k in range(n):
        f_exp = ref_counts[k] * k_norm
        d = cur_counts[k] - f_exp
        if f_exp == 0.0:
            terms[k] = np.inf if d != 0.0 else np.nan
        else:
            terms[k] = d * d / f_exp
    return _csum(terms)


@njit(cache=True, nogil=True)
def proportions_z(n1: int, ones1: int, n2: int, ones2: int) -> float:
    """Two-proportion z statistic with pooled variance (Evidently's `proportions_diff_z_stat_ind`)."""
    p1 = float(ones1) / n1
    p2 = float(ones2) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    return (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
