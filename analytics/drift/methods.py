"""Drift methods with Evidently 0.7's defaults, names, thresholds and binning.

Default choice (`evidently.legacy.calculations.stattests.registry._get_default_stattest`,
used by `DataDriftPreset`), with n_values the distinct count of reference and current
pooled (after dropping NaN/inf):

    reference rows <= 1000: numeric: n_values <= 2 -> z, 3..5 -> chisquare, > 5 -> ks
                            categorical: n_values <= 2 -> z, else chisquare
    reference rows  > 1000: numeric: n_values <= 5 -> jensenshannon, else wasserstein
                            categorical: jensenshannon

Scores: KS, chi-square and z give p-values (drift when p <= threshold for KS,
p < threshold for chi-square and z, exactly as Evidently compares); Wasserstein
(normalised by the reference std, floored at 0.001), PSI and Jensen-Shannon give
distances (drift when score >= threshold).

P-values: the statistics come from the numba kernels; the final p-value from a
statistic uses scipy's own distribution code, because that is what gives parity:
KS asymptotic `scipy.stats.kstwo.sf(D, round(n*m/(n+m)))`; KS exact (both sides
<= 10000 rows, scipy's `method='auto'`) scipy's `_attempt_exact_2kssamp` on the
same D; chi-square `scipy.special.chdtrc`; z `scipy.special.ndtr`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from inferledger.analytics.drift.profile import CategoricalSample, ColumnKind, ColumnSample, NumericSample
from inferledger.analytics.kernels import drift_binned, drift_numeric


@dataclass(frozen=True)
class Method:
    name: str
    display_name: str  # Evidently's display name
    default_threshold: float
    kinds: tuple[ColumnKind, ...]  # column kinds Evidently allows when the method is asked for by name
    drifted: Callable[[float, float], bool]


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", "K-S p_value", 0.05, ("numeric",), lambda s, t: s <= t),
        Method("wasserstein", "Wasserstein distance (normed)", 0.1, ("numeric",), lambda s, t: s >= t),
        Method("psi", "PSI", 0.1, ("numeric", "categorical"), lambda s, t: s >= t),
        Method("jensenshannon", "Jensen-Shannon distance", 0.1, ("numeric", "categorical"), lambda s, t: s >= t),
        Method("chisquare", "chi-square p_value", 0.05, ("categorical",), lambda s, t: s < t),
        Method("z", "Z-test p_value", 0.05, ("categorical",), lambda s, t: s < t),
    )
}

KS_MAX_EXACT_N = 10000  # scipy.stats.ks_2samp(method='auto'): exact when both sides are this small


@dataclass(frozen=True)
class ColumnResult:
    column: str
    kind: ColumnKind
    method: str  # "" when no test could run (empty side), see `detail`
    score: float  # NaN when no test could run
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The `{column, method, score, threshold, drifted}` contract of `drift compare --json`."""
        score = None if math.isnan(self.score) else float(self.score)
        out: dict[str, Any] = {
            "column": self.column,
            "method": self.method or None,
            "score": score,
            "threshold": None if math.isnan(self.threshold) else self.threshold,
            "drifted": bool(self.drifted),
            "kind": self.kind,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


def validate_method(name: str, kind: ColumnKind | None = None, *, column: str = "") -> Method:
    """The method of that name, or a clear error naming the column and the choices."""
    method = METHODS.get(name)
    where = f"column {column!r}: " if column else ""
    if method is None:
        raise ValueError(f"{where}unknown drift method {name!r} (known: {', '.join(METHODS)})")
    if kind is not None and kind not in method.kinds:
        raise ValueError(f"{where}method {name!r} does not apply to a {kind} column (it takes {'/'.join(method.kinds)})")
    return method


def pooled_nunique(ref: ColumnSample, cur: ColumnSample, cap: int = 5) -> int:
    """Distinct values of reference and current pooled; exact up to `cap`, else `cap + 1`."""
    if isinstance(ref, NumericSample) and isinstance(cur, NumericSample):
        return int(drift_numeric.count_unique_merged(ref.values, cur.values, cap))
    assert isinstance(ref, CategoricalSample) and isinstance(cur, CategoricalSample)
    return len(set(ref.counts) | set(cur.counts))


def default_method(kind: ColumnKind, reference_rows: int, n_values: int) -> str:
    """Evidently 0.7 DataDriftPreset's choice (see the module docstring)."""
    if reference_rows <= 1000:
        if kind == "numeric" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if kind == "numeric":
        return "jensenshannon" if n_values <= 5 else "wasserstein"
    return "jensenshannon"


def compare_column(
    column: str,
    ref: ColumnSample,
    cur: ColumnSample,
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnResult:
    """One column's drift. Empty sides give a result with a reason, never an exception."""
    if ref.kind != cur.kind:
        raise ValueError(f"column {column!r}: reference is {ref.kind} but current is {cur.kind}")
    if method:
        validate_method(method, ref.kind, column=column)
    if ref.n == 0 or cur.n == 0:
        side = "reference" if ref.n == 0 else "current"
        thr = threshold if threshold is not None else (METHODS[method].default_threshold if method else math.nan)
        return ColumnResult(column, ref.kind, method or "", math.nan, thr, False, ref.n, cur.n,
                            detail=f"{side} has no values (all null, NaN or infinite): nothing to compare")
    name = method or default_method(ref.kind, ref.n, pooled_nunique(ref, cur))
    spec = METHODS[name]
    thr = spec.default_threshold if threshold is None else float(threshold)
    score = float(SCORERS[name](ref, cur))
    drifted = bool(spec.drifted(score, thr)) if not math.isnan(score) else False
    return ColumnResult(column, ref.kind, name, score, thr, drifted, ref.n, cur.n)


# ---- scorers: each reproduces one Evidently stattest on cleaned samples ----


def _ks(ref: ColumnSample, cur: ColumnSample) -> float:
    assert isinstance(ref, NumericSample) and isinstance(cur, NumericSample)
    n1, n2 = ref.n, cur.n
    d = float(drift_numeric.ks_statistic_sorted(ref.values, cur.values))
    if max(n1, n2) <= KS_MAX_EXACT_N:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp  # scipy's exact path for this D
        except ImportError:  # a scipy that moved it: small samples, let scipy do all of it
            return float(stats.ks_2samp(ref.values, cur.values).pvalue)
        success, d_exact, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
        if success:
            return float(np.clip(prob, 0, 1))
        d = d_exact
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))


def _wasserstein(ref: ColumnSample, cur: ColumnSample) -> float:
    assert isinstance(ref, NumericSample) and isinstance(cur, NumericSample)
    norm = max(ref.std, 0.001)
    return float(drift_numeric.wasserstein_sorted(ref.values, cur.values)) / norm


def sturges_edges(ref: NumericSample, cur: NumericSample) -> np.ndarray:
    """np.histogram_bin_edges(concat(ref, cur), bins='sturges'), from the two summaries.

    NumPy: width = ptp / (log2(n) + 1) on the pooled data (rounded up to 1 for an
    integer dtype), outer edges min/max (+/-0.5 when equal), ceil(span / width) bins.
    """
    lo = min(ref.values[0], cur.values[0])
    hi = max(ref.values[-1], cur.values[-1])
    first, last = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
    width = (hi - lo) / (np.log2(ref.n + cur.n) + 1.0)
    if width:
        if ref.integer and cur.integer and width < 1:
            width = 1
        n_bins = int(np.ceil((last - first) / width))
    else:
        n_bins = 1
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=np.float64)


def binned_percents(ref: ColumnSample, cur: ColumnSample) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's `get_binned_data` before zero-filling.

    Numeric with more than 20 distinct reference values: Sturges bins over both
    samples. Otherwise one bin per distinct value of either side.
    """
    if isinstance(ref, NumericSample) and isinstance(cur, NumericSample):
        if ref.nunique > 20:
            edges = sturges_edges(ref, cur)
            r = drift_numeric.histogram_sorted(ref.values, edges)
            c = drift_numeric.histogram_sorted(cur.values, edges)
            return r / ref.n, c / cur.n
        rv, rc = drift_numeric.value_counts_sorted(ref.values)
        cv, cc = drift_numeric.value_counts_sorted(cur.values)
        keys = np.union1d(rv, cv)
        r = np.zeros(keys.size)
        c = np.zeros(keys.size)
        r[np.searchsorted(keys, rv)] = rc
        c[np.searchsorted(keys, cv)] = cc
        return r / ref.n, c / cur.n
    rk, ck = _aligned_counts(ref, cur)
    return rk / ref.n, ck / cur.n


def _category_counts(sample: ColumnSample) -> dict[Any, int]:
    if isinstance(sample, CategoricalSample):
        return sample.counts
    vals, counts = drift_numeric.value_counts_sorted(sample.values)
    return {float(v): int(c) for v, c in zip(vals, counts)}


def _sorted_keys(keys: set) -> list:
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__name__, str(k)))


def _aligned_counts(ref: ColumnSample, cur: ColumnSample) -> tuple[np.ndarray, np.ndarray]:
    rc, cc = _category_counts(ref), _category_counts(cur)
    keys = _sorted_keys(set(rc) | set(cc))
    return (
        np.array([rc.get(k, 0) for k in keys], dtype=np.float64),
        np.array([cc.get(k, 0) for k in keys], dtype=np.float64),
    )


def _psi(ref: ColumnSample, cur: ColumnSample) -> float:
    r, c = binned_percents(ref, cur)
    return float(drift_binned.psi(r, c))


def _jensenshannon(ref: ColumnSample, cur: ColumnSample) -> float:
    r, c = binned_percents(ref, cur)
    return float(drift_binned.jensenshannon(r, c))


def _chisquare(ref: ColumnSample, cur: ColumnSample) -> float:
    r, c = _aligned_counts(ref, cur)
    if r.size < 2:
        return 1.0  # one category on both sides: nothing can have moved (scipy would give NaN with 0 dof)
    stat = float(drift_binned.chisquare_statistic(r, c))
    return float(special.chdtrc(r.size - 1, stat))


def _z(ref: ColumnSample, cur: ColumnSample) -> float:
    rc, cc = _category_counts(ref), _category_counts(cur)
    if len(rc) == 1 and len(cc) == 1 and next(iter(rc)) == next(iter(cc)):
        return 1.0
    first = _sorted_keys(set(rc) | set(cc))[0]
    n1, n2 = ref.n, cur.n
    zstat = float(drift_binned.proportions_z(n1, n1 - rc.get(first, 0), n2, n2 - cc.get(first, 0)))
    return float(2 * (1 - special.ndtr(np.abs(zstat))))


SCORERS: dict[str, Callable[[ColumnSample, ColumnSample], float]] = {
    "ks": _ks,
    "wasserstein": _wasserstein,
    "psi": _psi,
    "jensenshannon": _jensenshannon,
    "chisquare": _chisquare,
    "z": _z,
}
