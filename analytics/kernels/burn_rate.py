"""Multiwindow, multi-burn-rate kernels (SRE Workbook ch. 5) over per-minute good/total counts.

Inputs are dense minute buckets, one row per SLO: `bad[i, t]` and `total[i, t]` are the
bad and total event counts of SLO `i` in minute `t` (integers). A window of `w` minutes
ending at minute `t` covers buckets `t-w+1 .. t` (clipped at the first bucket), so
its error ratio is a ratio of sums, never an average of per-minute ratios.

Why these choices:
- A window with no events has error ratio 0 (no burn), not NaN: very low traffic must
  not page, and NaN must not leak into comparisons (Prometheus drops the 0/0 sample,
  which has the same effect on Sloth's alerts).
- Alert tiers compare like Sloth: `ratio > factor * budget` on both windows, strictly
  greater, so a burn of exactly the factor does not fire.
- Sums are prefix-sum differences on integer counts, so the numba kernels and the
  NumPy references agree exactly (no rounding differs between them).

Each kernel has a `*_reference` NumPy twin; tests prove they are equal.
"""

from __future__ import annotations

import numba
import numpy as np

# Window lengths in minutes, in the order of every array of ratios here.
WINDOWS_MINUTES = np.array([5, 30, 60, 120, 360, 1440, 4320], dtype=np.int64)
WINDOW_NAMES = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# Tiers: (name, short window index, long window index, error budget percent spent in the long window).
TIERS = (
    ("page_quick", 0, 2, 2.0),
    ("page_slow", 1, 4, 5.0),
    ("ticket_quick", 3, 5, 10.0),
    ("ticket_slow", 4, 6, 10.0),
)
TIER_SHORT = np.array([t[1] for t in TIERS], dtype=np.int64)
TIER_LONG = np.array([t[2] for t in TIERS], dtype=np.int64)
PAGE_BITS = 0b0011
TICKET_BITS = 0b1100


def burn_rate_factor(period_hours: float, budget_percent: float, window_hours: float) -> float:
    """Sloth's speed: the burn rate that spends `budget_percent` of the budget in `window_hours`.

    Same operations, order and unit (hours) as Sloth's getBurnRateFactor, so the factor
    is the same float64 it prints: 30 days gives 14.4, 6, 3, 1; 28 days 13.44,
    5.6000000000000005, 2.8000000000000003, 0.9333333333333333.
    """
    hours_required = budget_percent * period_hours / 100
    return hours_required / window_hours


def tier_factors(period_hours: float) -> np.ndarray:
    """The four tier factors for an SLO period."""
    return np.array(
        [burn_rate_factor(period_hours, pct, WINDOWS_MINUTES[lng] / 60) for _, _, lng, pct in TIERS],
        dtype=np.float64,
    )


# --------------------------------------------------------------------------- current state


@numba.njit(cache=True, parallel=True)
def window_sums_at_end(bad, total, windows):
    """Bad and total sums of each window ending at the last bucket: two (n_slo, n_win) arrays."""
    n, m = bad.shape
    k = windows.shape[0]
    bad_out = np.zeros((n, k), dtype=np.int64)
    tot_out = np.zeros((n, k), dtype=np.int64)
    for i in numba.prange(n):
        for j in range(k):
            lo = max(0, m - windows[j])
            b = 0
            s = 0
            for t in range(lo, m):
                b += bad[i, t]
                s += total[i, t]
            bad_out[i, j] = b
            tot_out[i, j] = s
    return bad_out, tot_out


def window_sums_at_end_reference(bad: np.ndarray, total: np.ndarray, windows: np.ndarray):
    m = bad.shape[1]
    b = np.stack([bad[:, max(0, m - w):].sum(axis=1) for w in windows], axis=1).astype(np.int64)
    s = np.stack([total[:, max(0, m - w):].sum(axis=1) for w in windows], axis=1).astype(np.int64)
    return b, s


def error_ratios(bad_sums: np.ndarray, total_sums: np.ndarray) -> np.ndarray:
    """Ratio of sums; 0 where a window has no events (no burn on no traffic)."""
    out = np.zeros(bad_sums.shape, dtype=np.float64)
    np.divide(bad_sums, total_sums, out=out, where=total_sums > 0)
    return out


def tier_flags(ratios: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Bitmask per SLO: bit k set when tier k's short and long ratios are both > its threshold.

    `ratios` is (n, 7) in WINDOWS_MINUTES order; `thresholds` is (n, 4) = factor * budget.
    """
    short = ratios[:, TIER_SHORT] > thresholds
    long_ = ratios[:, TIER_LONG] > thresholds
    both = short & long_
    return (both * (1 << np.arange(len(TIERS)))).sum(axis=1).astype(np.uint8)


# --------------------------------------------------------------------------- full series


@numba.njit(cache=True, inline="always")
def _ratio_over(b, s, thr):
    """`b / s > thr` (0 when s == 0), deciding by multiplication unless b is within 1e-9 of thr * s.

    The margin is far wider than the rounding of either side, so the answer is the one
    the division gives, without paying for a division on almost every minute.
    """
    if s <= 0:
        return 0.0 > thr
    x = thr * s
    if b > x * (1.0 + 1e-9):
        return True
    if b < x * (1.0 - 1e-9):
        return False
    return b / s > thr


@numba.njit(cache=True, parallel=True)
def evaluate_series(bad, total, windows, tier_short, tier_long, thresholds, budget, period):
    """Every minute's tier bitmask and period budget remaining, for every SLO.

    bad, total: (n, m) integer counts. thresholds: (n, 4) factor * budget. budget: (n,)
    error budget ratio (1 - objective). period: (n,) period length in minutes (rolling).
    Returns flags (n, m) uint8 and remaining (n, m) float64 where remaining is
    1 - period bad / (period total * budget), 1 when the period has no bad events, and 0
    when it has some but the budget is 0 (objective 100).
    A tier's long window is only looked at when its short window is over the threshold.
    """
    n, m = bad.shape
    n_tiers = tier_short.shape[0]
    flags = np.zeros((n, m), dtype=np.uint8)
    remaining = np.empty((n, m), dtype=np.float64)
    for i in numba.prange(n):
        cb = np.zeros(m + 1, dtype=np.int64)
        ct = np.zeros(m + 1, dtype=np.int64)
        for t in range(m):
            cb[t + 1] = cb[t] + bad[i, t]
            ct[t + 1] = ct[t] + total[i, t]
        p = period[i]
        bud = budget[i]
        for t in range(m):
            f = 0
            for q in range(n_tiers):
                thr = thresholds[i, q]
                lo = max(0, t + 1 - windows[tier_short[q]])
                if _ratio_over(float(cb[t + 1] - cb[lo]), float(ct[t + 1] - ct[lo]), thr):
                    lo = max(0, t + 1 - windows[tier_long[q]])
                    if _ratio_over(float(cb[t + 1] - cb[lo]), float(ct[t + 1] - ct[lo]), thr):
                        f |= 1 << q
            flags[i, t] = f
            lo = max(0, t + 1 - p)
            s = ct[t + 1] - ct[lo]
            e = cb[t + 1] - cb[lo]
            if s <= 0 or e <= 0:
                remaining[i, t] = 1.0
            elif bud <= 0:  # objective 100: any error exhausts the empty budget
                remaining[i, t] = 0.0
            else:
                remaining[i, t] = 1.0 - e / (s * bud)
    return flags, remaining


def evaluate_series_reference(bad, total, windows, tier_short, tier_long, thresholds, budget, period,
                              chunk: int = 64):
    """Vectorised NumPy version of `evaluate_series` (rows in chunks to bound memory)."""
    n, m = bad.shape
    flags = np.zeros((n, m), dtype=np.uint8)
    remaining = np.empty((n, m), dtype=np.float64)
    idx = np.arange(1, m + 1)
    for a in range(0, n, chunk):
        z = slice(a, min(n, a + chunk))
        rows = z.stop - z.start
        cb = np.zeros((rows, m + 1), dtype=np.int64)
        ct = np.zeros((rows, m + 1), dtype=np.int64)
        np.cumsum(bad[z], axis=1, out=cb[:, 1:])
        np.cumsum(total[z], axis=1, out=ct[:, 1:])

        def ratio_of(w):
            lo = np.maximum(0, idx - w)
            s = ct[:, idx] - ct[:, lo]
            out = np.zeros(s.shape, dtype=np.float64)
            np.divide(cb[:, idx] - cb[:, lo], s, out=out, where=s > 0)
            return out

        ratios = [ratio_of(int(w)) for w in windows]
        f = np.zeros((rows, m), dtype=np.uint8)
        for q in range(len(tier_short)):
            thr = thresholds[z, q][:, None]
            hit = (ratios[tier_short[q]] > thr) & (ratios[tier_long[q]] > thr)
            f |= (hit.astype(np.uint8) << q)
        flags[z] = f
        del ratios
        for r in range(rows):
            p = int(period[z.start + r])
            lo = np.maximum(0, idx - p)
            s = ct[r, idx] - ct[r, lo]
            e = cb[r, idx] - cb[r, lo]
            spent = np.zeros(m, dtype=np.float64)
            bud = budget[z.start + r]
            if bud > 0:
                np.divide(e, s * bud, out=spent, where=s > 0)
            else:
                spent[e > 0] = 1.0
            rem = 1.0 - spent
            rem[(s == 0) | (e == 0)] = 1.0
            remaining[z.start + r] = rem
    return flags, remaining
