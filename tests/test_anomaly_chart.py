"""The anomaly chart: readable ticks, a time axis, the expected band and the alarms on it."""

from __future__ import annotations

import re

import numpy as np

from inferledger.analytics.anomaly.chart import nice_ticks, plain_number, series_svg

T0 = 1_709_251_200  # 2024-03-01 00:00 UTC


def test_ticks_are_round_and_written_out():
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80]
    assert nice_ticks(12_000, 13_050) == [12_000, 12_500, 13_000]
    assert plain_number(12_500, 100) == "12,500" and plain_number(0.25, 0.05) == "0.25"
    assert "e" not in plain_number(0.00012) and "e" not in plain_number(3.5e9, 1e9)


def test_svg_has_time_axis_band_and_alarms():
    n = 3 * 288
    ts = T0 + 300 * np.arange(n)
    rng = np.random.default_rng(0)
    values = 12_000 + rng.normal(0, 50, n)
    values[500] = 14_000
    alarm = np.zeros(n, bool)
    alarm[500] = True
    svg = series_svg(values, np.full(n, 12_000.0), alarm, title="spend", timestamps=ts)
    labels = re.findall(r">([^<]+)</text>", svg)
    assert "03-01 12:00" in labels and "03-02 00:00" in labels and "time (UTC)" in labels
    assert "12,000" in labels and not [x for x in labels if re.fullmatch(r"[\d.,]+e[+-]\d+", x)]
    assert svg.count("<polygon") == 1       # the expected band
    assert svg.count("<circle") == 1        # one alarm marked
    # the alarm's circle sits at row 500's x position, left of the middle of three days
    cx = float(re.search(r'<circle cx="([\d.]+)"', svg).group(1))
    assert 76 + (900 - 88) * 0.55 < cx < 76 + (900 - 88) * 0.6


def test_rows_are_numbered_without_timestamps():
    svg = series_svg(np.arange(100.0), np.arange(100.0), np.zeros(100, bool))
    assert ">row<" in svg
