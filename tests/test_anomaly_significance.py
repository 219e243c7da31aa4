"""Count test and persistence rule that confirm the detector's alarms (analytics/anomaly/significance.py)."""

import numpy as np
import pytest
from scipy.stats import binom

from inferledger.analytics.anomaly.job import confirmed_alarms, score_all
from inferledger.analytics.anomaly.series import Series
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.anomaly.significance import (
    count_significant,
    day_before_explains,
    persisting,
    sampling_noise_significant,
    trailing_rate,
)

WEEK = 2016  # five-minute buckets


def _traffic(rng, buckets, rate):
    n = rng.integers(3, 29, size=buckets).astype(float)
    return rng.binomial(n.astype(int), rate).astype(float), n


def test_low_traffic_errors_at_their_usual_rate_stay_under_one_alarm_per_week():
    rng = np.random.default_rng(3)
    weeks = 8
    k, n = _traffic(rng, weeks * WEEK, 0.005)
    idx = np.arange(WEEK, len(k))          # every bucket after the first week, as if each had alarmed
    hits = count_significant(k, n, idx, np.ones(len(idx), bool), 1e-4, WEEK)
    assert hits.sum() / (weeks - 1) <= 1.0
    # one failure among 20 requests on a 0.5 % rate is never significant
    single = (k[idx] == 1)
    assert not hits[single].any()


def test_an_outage_in_low_traffic_is_significant():
    rng = np.random.default_rng(4)
    k, n = _traffic(rng, 2 * WEEK, 0.005)
    out = np.arange(WEEK + 100, WEEK + 112)   # an hour at a 40 % failure rate, 20 requests a bucket
    n[out] = 20
    k[out] = rng.binomial(20, 0.4, size=len(out))
    hits = count_significant(k, n, out, np.ones(len(out), bool), 1e-4, WEEK)
    assert hits.mean() >= 0.9


def test_trailing_rate_uses_only_the_past_window():
    k = np.array([0, 0, 10, 0, 0], float)
    n = np.array([10, 10, 10, 10, 10], float)
    r = trailing_rate(k, n, window=2)
    assert r[2] == 0.5 / 21                    # points 0 and 1, not point 2 itself
    assert r[3] == 10.5 / 21
    assert r[5 - 1] == 10.5 / 21               # points 2 and 3
    assert abs(binom.sf(0, 10, r[0]) - (1 - (1 - r[0]) ** 10)) < 1e-12


def test_persisting_needs_the_next_buckets_beyond_the_alarm_boundary_on_its_side():
    ts = np.array([0, 60, 120, 180, 300, 360, 420, 480], dtype=np.int64)
    v = np.array([10, 40, 25, 18, 40, 40, 5, np.nan])
    idx = np.array([1, 3, 4, 6])
    # alarm at 1: d = 30, s = 0.75 -> boundary 10 above 10; 25 is beyond it, 18 would not be
    score = np.array([0.75, 0.75, 0.75, 0.75])
    exp = np.array([10.0, 10.0, 10.0, 10.0])
    assert persisting(ts, v, idx, score, exp, 60, 2).tolist() == [True, False, True, False]
    # 3 -> 4 is a gap of two buckets; 6 is followed by NaN; a low alarm needs a low follower
    assert persisting(ts, v, idx, score, exp, 60, 3).tolist() == [False, False, False, False]
    assert persisting(ts, v, np.array([5]), np.array([0.6]), np.array([60.0]), 60, 2).tolist() == [True]
    assert persisting(ts, v, idx, score, exp, 60, 1).all()


def _minutes(rng, n):
    t = (1_709_251_200 + 60 * np.arange(n)).astype(np.int64)
    v = rng.poisson(400, n) * 25.0 + 2000 * np.sin(2 * np.pi * (t % 86400) / 86400) + 20000
    return t, v


def test_per_minute_incident_that_lasts_alarms_once_and_a_one_minute_blip_does_not():
    """The detector damps the buckets after an alarm, so they never alarm themselves: the
    persistence rule must read them against the alarm's band, or no per-minute alarm stands."""
    cfg = AnomalySettings()
    assert cfg.persist_buckets == 2
    for seed in range(3):
        t, v = _minutes(np.random.default_rng(seed), 3 * 1440)
        v[3000:3008] *= 3          # eight minutes of triple traffic
        v[3600] *= 3               # one minute of it
        v[3900:3906] *= 0.2        # six minutes of a fifth
        s = Series("tokens_1m", "tokens", {"model": "m"}, 60, t, v)
        r = score_all([s], cfg)[0]
        assert {3000, 3600, 3900} <= set(r.index.tolist())   # the kernel alarmed at all three
        stood = [i for i, _, _ in confirmed_alarms(s, r, cfg)]
        assert stood == [3000, 3900]


def _requests(rng, buckets, lam, size=2000.0):
    n = rng.poisson(lam, buckets).astype(float)
    vals, sq = np.zeros(buckets), np.zeros(buckets)
    for i in np.flatnonzero(n):
        x = rng.lognormal(np.log(size), 0.7, int(n[i]))
        vals[i], sq[i] = x.sum(), (x * x).sum()
    return vals, n, sq


def test_sampling_noise_rejects_a_few_ordinary_requests_and_keeps_a_traffic_spike():
    rng = np.random.default_rng(5)
    lam, mean = 0.3, 2000.0 * np.exp(0.245)
    vals, n, sq = _requests(rng, 2 * WEEK, lam)
    exp = np.full(len(vals), lam * mean)
    idx = np.arange(WEEK, 2 * WEEK)
    null = sampling_noise_significant(vals, exp, n, sq, idx, 1e-4, WEEK)
    assert null.mean() < 0.001                 # ordinary buckets of a quiet series almost never pass
    # a one-request bucket passes only with a request larger than any of the past week
    one = idx[n[idx] == 1]
    assert sampling_noise_significant(vals, exp, n, sq, one, 1e-4, WEEK).mean() < 0.01
    # five hours at 8x the traffic with 3x longer requests: 2.4 requests a bucket, too few for a
    # 5-minute bucket to tell; the hourly sums of the same requests find every hour and no other
    spike = np.arange(WEEK + 204, WEEK + 264)
    v2, n2, sq2 = _requests(rng, len(spike), 8 * lam, 6000.0)
    vals[spike], n[spike], sq[spike] = v2, n2, sq2
    hv, hn, hs = (x.reshape(-1, 12).sum(1) for x in (vals, n, sq))
    hours = WEEK // 12
    hit = sampling_noise_significant(hv, np.full(len(hv), 12 * lam * mean), hn, hs, np.arange(hours, 2 * hours),
                                     1e-4, hours)
    assert np.flatnonzero(hit).tolist() == [17, 18, 19, 20, 21]


def test_sampling_noise_keeps_a_busier_series_spike_bucket_by_bucket():
    rng = np.random.default_rng(6)
    mean = 2000.0 * np.exp(0.245)
    vals, n, sq = _requests(rng, 2 * WEEK, 5.0)
    exp = np.full(len(vals), 5.0 * mean)
    assert not sampling_noise_significant(vals, exp, n, sq, np.arange(WEEK, 2 * WEEK), 1e-4, WEEK).any()
    spike = np.arange(WEEK + 200, WEEK + 212)
    vals[spike], n[spike], sq[spike] = _requests(rng, len(spike), 40.0)
    assert sampling_noise_significant(vals, exp, n, sq, spike, 1e-4, WEEK).sum() >= 10


def test_one_large_request_pages_only_if_larger_than_any_the_series_saw():
    """A quiet series' bucket holding one request: beyond the normal floor either way, it stands
    only when that request is larger than the largest of the trailing window."""
    rng = np.random.default_rng(5)
    vals, n, sq = _requests(rng, 2 * WEEK, 0.3)
    exp = np.full(len(vals), 0.3 * 2000.0 * np.exp(0.245))
    i = WEEK + 100
    largest = np.sqrt(sq[i - WEEK:i]).max()
    stood = []
    for x in (0.9 * largest, 1.5 * largest):
        vals[i], n[i], sq[i] = x, 1.0, x * x
        stood.append(bool(sampling_noise_significant(vals, exp, n, sq, np.array([i]), 1e-4, WEEK)[0]))
    assert stood == [False, True]
    # the normal floor alone would have passed the ordinary one
    mean_sq = sq[i - WEEK:i].sum() / n[i - WEEK:i].sum()
    assert 0.9 * largest - exp[i] > 3.72 * np.sqrt(mean_sq)


@pytest.mark.slow
def test_job_stores_a_low_traffic_outage_but_not_single_failures(warehouse):
    """A model with about 15 requests per 5 minutes and a 0.5 % failure rate for two days: its
    isolated failures are not anomalies; half an hour at 40 % is. The series carries the counts."""
    from datetime import datetime, timedelta

    from inferledger.analytics.anomaly.job import run_detection
    from inferledger.analytics.anomaly.series import load_series
    from inferledger.analytics.anomaly.settings import AnomalySettings
    from tests.factories import span_row
    from tests.test_anomaly_job import insert_spans

    rng = np.random.default_rng(11)
    t0 = datetime(2026, 3, 2)
    outage = (t0 + timedelta(days=1, hours=20), t0 + timedelta(days=1, hours=20, minutes=30))
    rows, failures = [], 0
    t = t0
    while t < t0 + timedelta(days=2):
        rate = 0.4 if outage[0] <= t < outage[1] else 0.005
        for k in range(int(rng.integers(10, 21))):
            bad = bool(rng.random() < rate)
            failures += bad
            rows.append(span_row(t + timedelta(seconds=5 + 10 * k), 1.0, request_model="m", is_error=bad,
                                 status_code="ERROR" if bad else "UNSET"))
        t += timedelta(minutes=5)
    insert_spans(warehouse, rows)
    now = t0 + timedelta(days=2)
    cfg = AnomalySettings(series=["error_rate_5m"])
    (s,) = load_series(warehouse, cfg.series, now, cfg.lookback_hours, cfg.min_requests)
    assert s.trials.sum() == len(rows) and s.events.sum() == failures
    run_detection(warehouse, cfg, now)
    starts = [r[0] for r in warehouse.con.execute("SELECT bucket_start FROM anomalies").fetchall()]
    assert any(outage[0] <= b < outage[1] for b in starts)
    late = [b for b in starts if b >= t0 + timedelta(days=1)]
    assert all(outage[0] <= b < outage[1] for b in late), late


@pytest.mark.slow
def test_p95_alarm_whose_first_bucket_is_not_significant_stands_on_the_next(warehouse):
    """A latency regression that starts late in a bucket: that bucket holds 3 slow requests of 18
    (Binomial(18, 0.05) makes 3 or more likely enough, p ~ 0.06), the next ones are all slow.
    The alarm moves to the first significant bucket after it; a blip back to normal has none."""
    from datetime import datetime, timedelta

    from inferledger.analytics.anomaly.job import Found, p95_onset_follower, p95_significant
    from inferledger.analytics.anomaly.series import Series
    from inferledger.analytics.anomaly.settings import AnomalySettings
    from tests.factories import span_row
    from tests.test_anomaly_job import insert_spans

    rng = np.random.default_rng(21)
    t0 = datetime(2026, 3, 2)
    buckets = 2 * 288
    onset = buckets - 24
    rows = []
    for b in range(buckets):
        for k in range(18):
            slow = b > onset or (b == onset and k >= 15)
            d = float(rng.lognormal(0.0, 0.2)) * (4.0 if slow else 1.0)
            rows.append(span_row(t0 + timedelta(minutes=5 * b, seconds=5 + 10 * k), d, request_model="m"))
    insert_spans(warehouse, rows)
    ts = (np.datetime64(t0, "s").astype(np.int64) + 300 * np.arange(buckets)).astype(np.int64)
    values = np.where(np.arange(buckets) >= onset, 4.0, 1.4)
    s = Series("latency_p95_5m", "s", {"model": "m"}, 300, ts, values)
    cfg = AnomalySettings()
    first = Found(s, onset, 0.7, 1.4, "spike")
    assert not p95_significant(warehouse, first, cfg)
    g = p95_onset_follower(s, first, cfg, set(), warehouse)
    assert g is not None and g.index == onset + 1 and g.expected == 1.4
    # the same alarm with the p95 back at its expected level right after: the buckets after it are
    # not tested (their spans would pass; the series says the episode is over)
    blip = Series("latency_p95_5m", "s", {"model": "m"}, 300, ts, np.where(np.arange(buckets) == onset, 4.0, 1.4))
    assert p95_onset_follower(blip, Found(blip, onset, 0.7, 1.4, "spike"), cfg, set(), warehouse) is None


def _gpu_day(days: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A GPU pool's utilisation sampled every 10 minutes: low at night, a peak at 14:00 UTC."""
    rng = np.random.default_rng(seed)
    t0 = 1_700_000_000 // 86400 * 86400
    ts = np.arange(t0, t0 + days * 86400, 600, dtype=np.int64)
    hour = (ts % 86400) / 3600
    return ts, 0.25 + 0.42 * np.exp(-((hour - 14) / 4.0) ** 2) + rng.normal(0, 0.02, len(ts))


def _gpu_alarms(ts, values, fraction):
    cfg = AnomalySettings(shift_day_before_fraction=fraction)
    s = Series("gpu_util_5m", "ratio", {"pool": "H100"}, 300, ts, values)
    r = score_all([s], cfg)[0]
    return [(i, kind) for i, _score, kind in confirmed_alarms(s, r, cfg)]


def test_a_second_days_midday_rise_is_not_a_level_shift_but_a_new_level_is():
    ts, v = _gpu_day(4)
    # 10-minute points: the hour-of-day buckets are still learning on day two, and its midday
    # rise reads as a shift from the level; the same time a day earlier explains it
    rise = [(i, k) for i, k in _gpu_alarms(ts, v, 0.0) if k == "level_shift"]
    assert rise and all(86400 <= ts[i] - ts[0] < 2 * 86400 for i, _ in rise)
    assert [k for _, k in _gpu_alarms(ts, v, 0.5)] == ["spike"]  # the first afternoon, a spike, stays
    shifted = v.copy()
    shifted[ts >= ts[0] + 3 * 86400 + 2 * 3600] += 0.15           # a lasting shift on day four
    late = [(i, k) for i, k in _gpu_alarms(ts, shifted, 0.5) if ts[i] - ts[0] >= 3 * 86400]
    assert late and late[0][1] == "level_shift"


def test_day_before_explains_compares_with_the_same_time_a_day_earlier():
    ts = np.arange(0, 3 * 86400, 3600, dtype=np.int64)
    values = np.full(len(ts), 1.0)
    values[24 + 12] = 5.0                      # day two, noon
    values[48 + 12] = 5.2                      # day three, noon: yesterday was 5.0
    values[48 + 13] = 5.0                      # day three, 13:00: yesterday was 1.0
    expected = np.full(len(ts), 1.0)
    idx = np.array([24 + 12, 48 + 12, 48 + 13, 5])
    got = day_before_explains(ts, values, idx, expected, 3600, 0.5)
    assert got.tolist() == [False, True, False, False]  # index 5 has no day before
    assert not day_before_explains(ts, values, idx, expected, 3600, 0.0).any()
    gap = values.copy()
    gap[24 + 12] = np.nan                      # a gap a day before is no evidence
    assert not day_before_explains(ts, gap, np.array([48 + 12]), expected, 1800, 0.5).any()
