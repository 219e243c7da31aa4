"""Synthetic seasonal series with anomalies injected at known times (ground truth by construction).

Each series is a daily (and weekly) pattern at a 1- or 5-minute step, with a smooth
ramp between night and day (the shape that makes naive level-shift detectors cry wolf),
multiplicative or additive noise, and a few events of these kinds:

* spike / dip: one to three points far above / below the pattern,
* level_shift: the pattern moves by a constant from then on (lasting),
* ramp: a linear drift away from the pattern over a few hours, then held,
* variance: the noise grows several-fold for a few hours.

Events are spread so that two never share a window; the first two weeks carry none
(detectors need to learn the pattern, as the NAB probation does). `split` seeds
keep the tuning and held-out sets disjoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("spike", "dip", "level_shift", "ramp", "variance")
T0 = 1_709_251_200  # 2024-03-01 00:00 UTC


@dataclass
class Event:
    kind: str
    start: int   # row index
    end: int     # inclusive row index where the event is judged (detection allowed until end)


@dataclass
class SyntheticSeries:
    name: str
    ts: np.ndarray        # int64 epoch seconds
    values: np.ndarray
    events: list[Event]


def make_series(seed: int, days: int = 28) -> SyntheticSeries:
    rng = np.random.default_rng(seed)
    step = int(rng.choice([60, 300]))
    n = days * 86400 // step
    ts = T0 + step * np.arange(n, dtype=np.int64)
    hours = (ts % 86400) / 3600.0
    dow = (ts // 86400 + 3) % 7
    base = float(rng.uniform(5, 5000))
    amp = float(rng.uniform(0.2, 0.8))
    peak = float(rng.uniform(10, 18))
    # smooth day shape: a raised cosine centred on `peak`, weekends lower
    day = np.cos((hours - peak) / 24 * 2 * np.pi)
    pattern = base * (1 + amp * day) * np.where(dow >= 5, float(rng.uniform(0.6, 1.0)), 1.0)
    noise_rel = float(rng.uniform(0.01, 0.08))
    noise = rng.normal(0, 1, n) * noise_rel * pattern
    if rng.random() < 0.3:  # integer counts (request rates), Poisson-ish
        x = rng.poisson(np.maximum(pattern / max(base / 200, 1), 0.1)).astype(np.float64) * max(base / 200, 1)
    else:
        x = pattern + noise
    per_hour = 3600 // step
    events: list[Event] = []
    start_row = 14 * 86400 // step
    n_events = int(rng.integers(1, 4))
    slots = np.linspace(start_row, n - 6 * per_hour, n_events + 1).astype(int)
    for k in range(n_events):
        kind = str(rng.choice(KINDS))
        at = int(rng.integers(slots[k], max(slots[k] + 1, slots[k + 1] - 12 * per_hour)))
        sigma = noise_rel * base
        if kind in ("spike", "dip"):
            width = int(rng.integers(1, 4))
            mag = float(rng.uniform(6, 15)) * sigma + 0.3 * base * rng.random()
            x[at:at + width] += mag if kind == "spike" else -min(mag, 0.9 * float(x[at:at + width].min()))
            end = at + width + per_hour // 4
        elif kind == "level_shift":
            mag = float(rng.choice([-1, 1])) * float(rng.uniform(0.25, 0.6)) * base
            x[at:] += mag
            end = at + 2 * per_hour
        elif kind == "ramp":
            dur = int(rng.integers(2, 6)) * per_hour
            mag = float(rng.choice([-1, 1])) * float(rng.uniform(0.3, 0.7)) * base
            x[at:at + dur] += np.linspace(0, mag, dur)
            x[at + dur:] += mag
            end = at + dur + per_hour
        else:
            dur = int(rng.integers(2, 6)) * per_hour
            x[at:at + dur] += rng.normal(0, 1, dur) * float(rng.uniform(5, 10)) * sigma
            end = at + dur
        events.append(Event(kind, at, min(end, n - 1)))
    x = np.maximum(x, 0.0)
    return SyntheticSeries(f"synthetic-{seed}", ts, x, events)


def make_set(split: str, count: int = 40) -> list[SyntheticSeries]:
    """`tune` and `holdout` draw from disjoint seeds."""
    offset = {"tune": 10_000, "holdout": 20_000}[split]
    return [make_series(offset + i) for i in range(count)]
