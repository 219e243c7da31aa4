"""The vector block kernel (analytics/kernels/anomaly_block.py) gives every series exactly the
alarms `score_one` gives it alone: same positions, scores, expected values and kinds, bit for bit,
on every branch of the parameter space (gaps, NaNs, late starts, warm-up, POT refits, level
shifts moving the season, the seasonal CUSUM, the range check, the tail quantile, model choice)."""

from __future__ import annotations

import numpy as np
import pytest

from inferledger.analytics.anomaly.settings import DetectorConfig
from inferledger.analytics.kernels.anomaly_batch import MIN_BLOCK, score_alarms, shared_axis_blocks
from inferledger.analytics.kernels.anomaly_block import LANES
from inferledger.analytics.kernels.anomaly_params import INV_TABLE_MAX, reciprocals
from tests.test_anomaly_kernels import _daily, _mixed_batch


def _series(n: int = 4000, extra: int = 30) -> tuple[np.ndarray, list[np.ndarray]]:
    """The kernel tests' mixed batch (a shared six-hour gap) and `extra` seasonal series with
    spikes, bursts, scattered NaNs and late starts, all on one time axis."""
    ts, x = _mixed_batch(n)
    rng = np.random.default_rng(3)
    rows = list(x)
    for k in range(extra):
        v = _daily(n, rng, noise=rng.uniform(0.5, 5)) * rng.uniform(0.1, 10)
        v[rng.integers(0, n, 5)] *= rng.uniform(1.5, 4)
        a = rng.integers(n // 8, n - n // 8)
        v[a:a + rng.integers(5, n // 10)] += rng.normal(0, 40)
        if k % 3 == 0:
            v[rng.integers(0, n, n // 20)] = np.nan
        if k % 5 == 0:
            v[:rng.integers(1, n // 4)] = np.nan
        rows.append(v)
    return ts, rows


def _assert_same(cfg: DetectorConfig, ts: np.ndarray, rows: list[np.ndarray]) -> int:
    p = cfg.params()
    blocked = score_alarms([ts] * len(rows), rows, p)
    alone = score_alarms([ts] * len(rows), rows, p, blocked=False)
    for b, a in zip(blocked, alone):
        assert np.array_equal(b.index, a.index)
        assert np.array_equal(b.score, a.score)
        assert np.array_equal(b.expected, a.expected, equal_nan=True)
        assert np.array_equal(b.kind, a.kind)
    return sum(len(a.index) for a in alone)


@pytest.mark.parametrize("cfg", [
    DetectorConfig(),
    DetectorConfig(season_select=1.0, range_margin=0.0, season_min_obs=3),
    DetectorConfig(tail_eta=0.1, tail_p=0.999, suppress_points=50, z_alarm=6, cusum_h=20, warmup_points=0),
    DetectorConfig(tail_eta=0.0, pot_risk=1e-4, pot_q0=0.95, pot_min_exc=5, pot_z_min=2.0, pot_alpha=0.05),
    pytest.param(DetectorConfig(alpha_fast=0.3, alpha_scale=0.1, season_min_obs=1, huber_k=1.5, suppress_factor=0.0),
                 marks=pytest.mark.slow),
    pytest.param(DetectorConfig(tail_eta=0.0, pot_risk=1e-4, pot_q0=0.95, pot_min_exc=5, pot_z_min=2.0,
                                pot_alarm_excess=0.0), marks=pytest.mark.slow),
    pytest.param(DetectorConfig(season_cusum_h=6.0, season_cusum_k=0.5, season_min_obs=3), marks=pytest.mark.slow),
    pytest.param(DetectorConfig(season_select=1.0, range_margin=0.3, range_min_obs=50, max_gap_steps=3),
                 marks=pytest.mark.slow),
    pytest.param(DetectorConfig(shift_season=0.0, suppress_factor=0.8, cusum_h=8), marks=pytest.mark.slow),
])
def test_blocks_give_every_series_its_own_alarms_bit_for_bit(cfg):
    ts, rows = _series()
    assert _assert_same(cfg, ts, rows) > 100  # the comparison covered real alarms


def test_series_are_blocked_only_with_their_own_time_axis():
    ts, rows = _series(4000, extra=40)
    axes = [ts] * len(rows)
    axes[5] = ts + 60  # another axis: scored alone
    axes[6] = ts.copy()  # the same axis in another array: blocked
    axes[8] = ts.copy()
    axes[8][len(ts) // 2] += 1  # same length, first and last point, one point off: blocked, then scored alone
    exclude = np.zeros(len(rows), dtype=bool)
    exclude[7] = True  # every point wanted: scored alone
    blocks, blocked_axes = shared_axis_blocks(axes, exclude)
    assert all(a is ts for a in blocked_axes)
    members = blocks[blocks >= 0]
    assert blocks.shape[1] == LANES and len(set(members)) == len(members) == len(rows) - 2
    assert 5 not in members and 7 not in members and 6 in members and 8 in members
    p = DetectorConfig().params()
    rows[8] = rows[8].copy()
    rows[8][len(ts) // 2 + 50] *= 8  # an alarm on its own axis, which its block's lane must not hide
    got = score_alarms(axes, rows, p)
    want = score_alarms(axes, rows, p, blocked=False)
    assert len(want[8].index) > 0
    for g, w in zip(got, want):
        assert np.array_equal(g.index, w.index) and np.array_equal(g.score, w.score)
        assert np.array_equal(g.expected, w.expected) and np.array_equal(g.kind, w.kind)


def test_late_starts_and_missing_buckets_are_blocked_on_the_union_axis():
    """Series that end together at one step (a team that started later, a p95 series whose quiet
    buckets are left out) score on their union axis, NaN where they have no point, each exactly
    as alone, with alarm positions in its own axis."""
    ts, rows = _series(4000, extra=12)
    rng = np.random.default_rng(11)
    axes, values = [], []
    for k, v in enumerate(rows):
        keep = np.ones(len(ts), dtype=bool)
        keep[: int(rng.integers(0, 1200))] = False  # a late start
        if k % 2:
            keep[rng.integers(0, len(ts), 300)] = False  # missing buckets
        keep[-1] = True
        axes.append(ts[keep])
        values.append(v[keep])
    blocks, blocked_axes = shared_axis_blocks(axes, np.zeros(len(axes), dtype=bool))
    assert len(blocks) >= 1 and all(len(a) > 3000 for a in blocked_axes)
    assert (blocks >= 0).sum() >= len(axes) - MIN_BLOCK + 1
    p = DetectorConfig().params()
    got = score_alarms(axes, values, p)
    want = score_alarms(axes, values, p, blocked=False)
    n = 0
    for g, w in zip(got, want):
        assert np.array_equal(g.index, w.index) and np.array_equal(g.score, w.score)
        assert np.array_equal(g.expected, w.expected) and np.array_equal(g.kind, w.kind)
        n += len(w.index)
    assert n > 30


@pytest.mark.slow
def test_weights_past_the_reciprocal_table_are_the_same_bits():
    """`score_one` looks 1/n up while the table reaches and divides past it; the block divides."""
    cfg = DetectorConfig(alpha_scale=0.5 / INV_TABLE_MAX, warmup_points=0)
    assert len(reciprocals(cfg.params())) < 1.0 / cfg.alpha_scale
    ts, rows = _series(2 * INV_TABLE_MAX, extra=6)
    assert _assert_same(cfg, ts, rows) > 10
