"""The NAB scorer in benchmarks/nab_score.py against hand-computed NAB rules (SCORING.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.nab_score import (
    NabFile,
    corpus_points,
    default_nab_dir,
    evaluate,
    load_corpus,
    normalise,
    probationary_length,
    score_at,
    sweep,
)


def _sig(x: float) -> float:
    return -1.0 if x > 3 else 2 / (1 + math.exp(5 * x)) - 1


def _file(n=100, windows=((40, 49),), name="cat/a.csv") -> NabFile:
    ts = pd.date_range("2024-01-01", periods=n, freq="5min").to_numpy()
    return NabFile(name, ts, np.zeros(n), list(windows))


def test_probation_is_15_percent_capped_at_750():
    assert probationary_length(100) == 15 and probationary_length(4032) == 604 and probationary_length(22695) == 750


def test_hand_computed_example():
    f = _file()
    s = np.zeros(100)
    s[[20, 42, 45, 60]] = 0.9   # before the window, two in it (the first counts), one after it
    s[10] = 1.0                  # probationary: never scored
    res = {r.profile: r for r in evaluate([f], [s])}
    tp = _sig(-(49 - 42 + 1) / 10) / _sig(-1.0)
    fp_after = 0.11 * _sig(abs(49 - 60) / (10 - 1))
    raw = tp + fp_after - 0.11
    assert res["standard"].threshold == pytest.approx(0.9)
    assert res["standard"].score == pytest.approx(100 * (raw + 1) / 2, abs=1e-9)
    # low-FN: a miss costs 2, so null = -2, perfect = 1
    raw_fn = tp + fp_after - 0.11
    assert res["reward_low_FN_rate"].score == pytest.approx(100 * (raw_fn + 2) / 3, abs=1e-9)


def test_threshold_sweep_equals_direct_scoring():
    rng = np.random.default_rng(0)
    files = [_file(300, ((100, 129), (200, 219)), "c/a.csv"), _file(200, ((150, 170),), "d/b.csv")]
    scores = [rng.random(300), rng.random(200)]
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        pts = corpus_points(files, scores, profile)
        thresholds, totals = sweep(pts, profile)
        for k in (0, 1, 17, len(thresholds) // 2, len(thresholds) - 1):
            assert totals[k] == pytest.approx(score_at(pts, thresholds[k], profile)[0], abs=1e-9)
        assert pts.n_windows == 3


@pytest.mark.slow
def test_null_and_perfect_detectors_on_nab():
    if not (default_nab_dir() / "labels" / "combined_windows.json").exists():
        pytest.skip("NAB data (../shared/data/nab) not present")
    files = load_corpus()
    assert len(files) == 58 and sum(len(f.windows) for f in files) == 116
    null = [np.zeros(len(f.values)) for f in files]
    perfect = []
    for f in files:
        s = np.zeros(len(f.values))
        for lo, _hi in f.windows:
            s[max(lo, probationary_length(len(s)))] = 1.0
        perfect.append(s)
    assert [round(r.score, 6) for r in evaluate(files, null)] == [0.0, 0.0, 0.0]
    assert [round(r.score, 6) for r in evaluate(files, perfect)] == [100.0, 100.0, 100.0]
    assert normalise(-116.0, 116, "standard") == 0.0
