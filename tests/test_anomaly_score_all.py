"""The job's batch scoring returns, for every series, exactly the alarms the previous
gridded path (`score_on_grid`: one NaN-padded matrix per bucket size, full outputs walked in
Python) gave, and `confirmed_alarms` keeps the same (index, score, kind)."""

from __future__ import annotations

import numpy as np
import pytest

from inferledger.analytics.anomaly.detectors import KIND_NAMES, Scored, score, score_on_grid
from inferledger.analytics.anomaly.job import confirmed_alarms, expected_at, score_all
from inferledger.analytics.anomaly.series import Series
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.anomaly.significance import (
    count_significant,
    count_upper_p_all,
    sampling_noise_significant,
)
from inferledger.analytics.kernels.anomaly_batch import score_alarms
from inferledger.analytics.kernels.anomaly_params import alarm_capacity

T0 = 1_709_251_200


def _grid_confirmed(s: Series, r: Scored, cfg: AnomalySettings) -> list[tuple[int, float, str]]:
    """The confirmation as it ran on full per-point outputs (before only alarms were kept)."""
    alarm = r.alarm.copy()
    if s.bucket_seconds < 300:
        for i in np.flatnonzero(alarm):
            d = s.values[i] - r.expected[i]
            edge = abs(d) * (1 - r.score[i]) / r.score[i]
            for j in range(i + 1, i + cfg.persist_buckets):
                dep = (s.values[j] - r.expected[i]) * (1 if d >= 0 else -1) if j < len(s.values) else np.nan
                if not (s.ts[j - 1] + s.bucket_seconds == s.ts[min(j, len(s.ts) - 1)] and dep >= edge and dep > 0):
                    alarm[i] = False
    idx = np.flatnonzero(alarm)
    sc = r.score.astype(np.float64).copy()
    kinds = [KIND_NAMES[int(k)] for k in r.kind]
    if s.events is not None and s.trials is not None:
        up = s.values[idx] >= r.expected[idx]
        idx = idx[count_significant(s.events, s.trials, idx, up, cfg.count_alpha, cfg.count_window_buckets)]
        p_up = count_upper_p_all(s.events, s.trials, cfg.count_window_buckets)
        raised = np.flatnonzero(p_up < cfg.count_alpha)
        sc[raised] = np.maximum(sc[raised], 1.0 - p_up[raised] / (2.0 * cfg.count_alpha))
        for i in raised:
            if kinds[i] == "none":
                kinds[i] = "spike"
        idx = np.union1d(idx, raised)
    for i in [i for i in idx if kinds[i] == "level_shift"]:
        near = [v for t, v in zip(s.ts, s.values) if abs(t - (s.ts[i] - 86400)) <= s.bucket_seconds // 2 and v == v]
        if near and abs(s.values[i] - np.median(near)) <= cfg.shift_day_before_fraction * abs(s.values[i] - r.expected[i]):
            idx = idx[idx != i]
    if s.squares is not None and s.trials is not None and len(idx):
        idx = idx[sampling_noise_significant(s.values, r.expected, s.trials, s.squares, idx, cfg.count_alpha,
                                             cfg.count_window_buckets)]
    return [(int(i), float(sc[i]), kinds[i]) for i in idx]


def _fleet(rng) -> list[Series]:
    out = []
    for k in range(40):
        step = (60, 300, 3600)[k % 3]
        n = int(rng.integers(30, 2500))
        t = ((T0 // step + int(rng.integers(0, 300)) + np.sort(rng.choice(4000, n, replace=False))) * step)
        heavy = k % 4 == 0
        v = (rng.standard_t(2, n) if heavy else rng.normal(0, 1, n)) * 3 + 100
        v += 20 * np.sin(2 * np.pi * (t % 86400) / 86400)
        v[rng.random(n) < 0.02] = np.nan
        for j in rng.integers(0, n, 3):
            v[j:j + int(rng.integers(1, 5))] *= 3            # spikes, some several buckets long
        v[int(rng.integers(n // 2, n)):] += 15                # a level shift
        trials = events = squares = None
        if k % 5 == 1:       # an error-rate series: counts behind the ratio
            trials = rng.poisson(200, n).astype(float)
            events = rng.binomial(trials.astype(int), 0.01).astype(float)
            events[int(rng.integers(0, n))] = 80.0
            v = events / np.maximum(trials, 1)
        elif k % 5 == 2:     # a spend series: request counts and squares
            trials = rng.poisson(50, n).astype(float)
            squares = np.nan_to_num(v) ** 2 / np.maximum(trials, 1)
        out.append(Series("m", "u", {"k": str(k)}, step, t.astype(np.int64), v, trials, events, squares))
    return out


@pytest.mark.slow
def test_score_all_gives_the_gridded_alarms_and_confirmations_bit_for_bit():
    rng = np.random.default_rng(11)
    series = _fleet(rng)
    cfg = AnomalySettings()
    new = score_all(series, cfg)
    old: dict[int, Scored] = {}
    for step in {s.bucket_seconds for s in series}:
        rows = [i for i, s in enumerate(series) if s.bucket_seconds == step]
        for i, r in zip(rows, score_on_grid([series[i].ts for i in rows], [series[i].values for i in rows], step,
                                            cfg.detector)):
            old[i] = r
    n_alarms = n_confirmed = 0
    for i, (s, r) in enumerate(zip(series, new)):
        o = old[i]
        idx = np.flatnonzero(o.alarm)
        n_alarms += len(idx)
        assert np.array_equal(r.index, idx)
        assert np.array_equal(r.score, o.score[idx])
        assert np.array_equal(r.expected, o.expected[idx])
        assert np.array_equal(r.kind, o.kind[idx])
        if s.events is not None:
            assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(r.full, (o.score, o.expected, o.kind)))
        got = confirmed_alarms(s, r, cfg)
        assert got == _grid_confirmed(s, o, cfg)
        assert all(expected_at(r, j) == o.expected[j] for j, _, _ in got)
        n_confirmed += len(got)
    assert n_alarms > 40 and n_confirmed > 10  # the comparison covered real alarms


@pytest.mark.slow
def test_alarms_of_a_series_alone_equal_its_full_scores():
    rng = np.random.default_rng(5)
    t = T0 + 300 * np.arange(5000, dtype=np.int64)
    x = rng.normal(50, 2, (6, 5000))
    x[:, 2500] = 200
    x[1, 3000:] += 20
    res = score_alarms([t] * 6, list(x), AnomalySettings().detector.params())
    for row, r in zip(x, res):
        alone = score(t, row)
        assert np.array_equal(r.index, np.flatnonzero(alone.alarm))
        assert np.array_equal(r.score, alone.score[r.index])
        assert r.full is None
    assert all(2500 in r.index for r in res)


@pytest.mark.slow
def test_alarm_room_bound_holds_when_every_point_would_alarm():
    """Damping by <= 0.5 after an alarm bounds the alarms; without it, room for every point."""
    p = AnomalySettings().detector.params()
    assert alarm_capacity(1000, p) == 1000 // (int(p[10]) + 1) + 1
    p2 = p.copy()
    p2[11] = 1.0
    assert alarm_capacity(1000, p2) == 1000
    t = T0 + 300 * np.arange(3000, dtype=np.int64)
    x = np.exp(np.arange(3000) / 10.0)  # a new record every point: alarms whenever allowed
    counts = []
    for params in (p, p2):
        r = score_alarms([t], [x], params)[0]
        alone = score_alarms([t], [x], params, [True])[0].full
        assert np.array_equal(r.index, np.flatnonzero(alone[2]))
        assert np.array_equal(r.score, alone[0][r.index])
        counts.append(len(r.index))
    assert counts[0] <= alarm_capacity(3000, p) < counts[1]
