"""The burn-rate kernels equal their NumPy references, and the Sloth factor arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from inferledger.analytics.kernels.burn_rate import (
    TIER_LONG,
    TIER_SHORT,
    WINDOWS_MINUTES,
    burn_rate_factor,
    error_ratios,
    evaluate_series,
    evaluate_series_reference,
    tier_factors,
    tier_flags,
    window_sums_at_end,
    window_sums_at_end_reference,
)


def _traffic(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    total = rng.poisson(rng.uniform(0, 30, size=(n, 1)), size=(n, m)).astype(np.int64)
    total[0] = 0  # an SLO with no traffic at all
    total[1, : m // 2] = 0  # traffic starting half way
    bad = rng.binomial(total, rng.uniform(0, 0.05, size=(n, 1))).astype(np.int64)
    bad[2, 100:160] = total[2, 100:160]  # an outage
    return bad, total


def _params(n: int, seed: int):
    rng = np.random.default_rng(seed)
    objectives = rng.choice([99.0, 99.5, 99.9, 95.0], size=n)
    budget = (100 - objectives) / 100
    periods = rng.choice([28, 30], size=n)
    thresholds = np.stack([tier_factors(p * 24) for p in periods]) * budget[:, None]
    return thresholds, budget, (periods * 1440).astype(np.int64)


@pytest.mark.parametrize("seed", [1, 2])
def test_evaluate_series_equals_numpy_reference(seed):
    bad, total = _traffic(9, 6000, seed)
    thresholds, budget, period = _params(9, seed)
    # a short period so the trailing budget window really slides inside 6000 minutes
    period[3] = 1000
    got = evaluate_series(bad, total, WINDOWS_MINUTES, TIER_SHORT, TIER_LONG, thresholds, budget, period)
    want = evaluate_series_reference(bad, total, WINDOWS_MINUTES, TIER_SHORT, TIER_LONG, thresholds, budget,
                                     period, chunk=4)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # bit-identical, not just close
    assert got[0].any(), "the outage row must raise at least one tier, or the test proves nothing"
    assert (got[1][0] == 1.0).all(), "no traffic: the whole budget remains"


def test_window_sums_at_end_equals_reference_and_series_last_column():
    bad, total = _traffic(7, 5000, 3)
    b, t = window_sums_at_end(bad, total, WINDOWS_MINUTES)
    rb, rt = window_sums_at_end_reference(bad, total, WINDOWS_MINUTES)
    np.testing.assert_array_equal(b, rb)
    np.testing.assert_array_equal(t, rt)
    # and the current-state flags agree with the last minute of the full series
    thresholds, budget, period = _params(7, 3)
    flags_now = tier_flags(error_ratios(b, t), thresholds)
    series, _ = evaluate_series(bad, total, WINDOWS_MINUTES, TIER_SHORT, TIER_LONG, thresholds, budget, period)
    np.testing.assert_array_equal(flags_now, series[:, -1])


def test_window_shorter_history_uses_what_exists():
    bad = np.array([[1, 0, 1]], dtype=np.int64)
    total = np.array([[2, 2, 2]], dtype=np.int64)
    b, t = window_sums_at_end(bad, total, WINDOWS_MINUTES)
    assert b.tolist() == [[2] * 7] and t.tolist() == [[6] * 7]


def test_no_events_is_no_burn_not_nan():
    ratios = error_ratios(np.zeros((1, 7), dtype=np.int64), np.zeros((1, 7), dtype=np.int64))
    assert ratios.tolist() == [[0.0] * 7]
    assert tier_flags(ratios, np.zeros((1, 4))).tolist() == [0]  # 0 > 0 is false


def test_sloth_factors_30d_and_28d():
    assert tier_factors(30 * 24).tolist() == [14.4, 6.0, 3.0, 1.0]
    assert tier_factors(28 * 24).tolist() == [13.44, 5.6000000000000005, 2.8000000000000003, 0.9333333333333333]
    # the workbook formula: budget% x period hours / 100 / long window hours
    assert burn_rate_factor(720, 2, 1) == 14.4


def test_threshold_is_strictly_greater_like_sloth():
    """Exactly at the threshold nothing fires (Sloth's `>`); one event more fires."""
    budget = 0.25  # objective 75 %: exact binary fractions
    thr = np.array([[14.4 * budget, 6 * budget, 3 * budget, 1 * budget]])
    at = np.full((1, 7), 0.25)  # ticket_slow threshold is 1 x 0.25 exactly
    assert tier_flags(at, thr).tolist() == [0]
    above = np.full((1, 7), np.nextafter(0.25, 1))
    assert tier_flags(above, thr).tolist() == [0b1000]


def test_objective_100_has_no_budget_to_divide_by():
    """Budget 0: no ZeroDivisionError; remaining is 1 until the first error, then 0; any error fires."""
    bad = np.array([[0, 0, 1, 0]], dtype=np.int64)
    total = np.array([[10, 10, 10, 10]], dtype=np.int64)
    thresholds = np.zeros((1, 4))
    budget = np.zeros(1)
    period = np.array([3], dtype=np.int64)
    for fn in (evaluate_series, evaluate_series_reference):
        flags, remaining = fn(bad, total, WINDOWS_MINUTES, TIER_SHORT, TIER_LONG, thresholds, budget, period)
        assert remaining[0].tolist() == [1.0, 1.0, 0.0, 0.0]
        assert flags[0].tolist()[:2] == [0, 0] and flags[0, 2] == 0b1111
