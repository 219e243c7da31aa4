"""The numba drift kernels equal their NumPy / SciPy references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from inferledger.analytics.kernels import drift_binned, drift_numeric


def _samples(seed: int):
    rng = np.random.default_rng(seed)
    yield np.sort(rng.normal(0, 1, 3000)), np.sort(rng.normal(0.1, 1.2, 2500))
    yield np.sort(rng.integers(0, 30, 4000).astype(float)), np.sort(rng.integers(5, 40, 1000).astype(float))
    yield np.sort(rng.pareto(1.2, 5000)), np.sort(rng.pareto(1.0, 5000))
    yield np.array([1.0]), np.array([1.0, 2.0])
    yield np.full(10, 2.0), np.full(7, 2.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_ks_statistic_equals_scipy(seed):
    for a, b in _samples(seed):
        # method="asymp" keeps the raw max ECDF gap (exact mode re-rounds it to a lattice point)
        assert drift_numeric.ks_statistic_sorted(a, b) == stats.ks_2samp(a, b, method="asymp").statistic


@pytest.mark.parametrize("seed", [0, 1])
def test_wasserstein_equals_scipy(seed):
    for a, b in _samples(seed):
        ours = drift_numeric.wasserstein_sorted(a, b)
        assert ours == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12, abs=1e-300)


def test_histogram_and_unique_counts_equal_numpy():
    for a, b in _samples(3):
        both = np.concatenate([a, b])
        edges = np.histogram_bin_edges(both, bins="sturges")
        assert np.array_equal(drift_numeric.histogram_sorted(a, edges), np.histogram(a, edges)[0])
        assert drift_numeric.count_unique_sorted(a) == np.unique(a).size
        assert drift_numeric.count_unique_merged(a, b, 10**9) == np.unique(both).size
        assert drift_numeric.count_unique_merged(a, b, 5) == min(np.unique(both).size, 6)
        vals, counts = drift_numeric.value_counts_sorted(a)
        ref_vals, ref_counts = np.unique(a, return_counts=True)
        assert np.array_equal(vals, ref_vals) and np.array_equal(counts, ref_counts)


def test_binned_scores_equal_reference_formulas():
    rng = np.random.default_rng(9)
    for _ in range(20):
        k = int(rng.integers(2, 40))
        p = rng.random(k)
        q = rng.random(k)
        p[rng.random(k) < 0.2] = 0.0
        q[rng.random(k) < 0.2] = 0.0
        p[0] = q[1] = 0.3
        assert drift_binned.jensenshannon(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
        pf, qf = drift_binned.fill_zeroes(p), drift_binned.fill_zeroes(q)
        assert not (pf == 0).any()
        ref_psi = np.sum((pf - qf) * np.log(pf / qf))
        assert drift_binned.psi(p, q) == pytest.approx(ref_psi, rel=1e-12)
        rc = rng.integers(1, 1000, k).astype(float)
        cc = rng.integers(0, 1000, k).astype(float)
        f_exp = rc * (cc.sum() / rc.sum())
        ref_chi = stats.chisquare(cc, f_exp).statistic
        assert drift_binned.chisquare_statistic(rc, cc) == pytest.approx(ref_chi, rel=1e-12)


@pytest.mark.slow
def test_sturges_edges_equal_numpy_for_float_integer_and_constant_data():
    from inferledger.analytics.drift.methods import sturges_edges
    from inferledger.analytics.drift.profile import numeric_sample

    rng = np.random.default_rng(2)
    cases = [
        (rng.normal(0, 1, 5000), rng.normal(1, 2, 3000)),
        (np.arange(22).repeat(100_000), np.arange(22).repeat(100_000)),  # integer: width < 1 rounds up to 1
        (np.arange(22).repeat(100_000).astype(float), np.arange(22).repeat(100_000).astype(float)),
        (np.full(100, 7.0), np.full(50, 7.0)),
        (rng.integers(0, 1000, 4000), rng.integers(-50, 900, 100)),
    ]
    for a, b in cases:
        expected = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
        ours = sturges_edges(numeric_sample(a), numeric_sample(b))
        assert np.array_equal(ours, expected), (a.dtype, len(ours), len(expected))
