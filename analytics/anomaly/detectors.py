"""Detector configuration and the scoring API over the numba kernel.

One `DetectorConfig` is used for every series (and for the whole NAB corpus): the
defaults are the configuration the NAB evaluation in `benchmarks/bench_anomaly.py`
reports, not tuned per file.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np

from analytics.kernels.anomaly_detectors import KIND_NONE, KIND_SHIFT, KIND_SPIKE, PARAM_NAMES, score_matrix, score_series

KIND_NAMES = {KIND_NONE: "none", KIND_SPIKE: "spike", KIND_SHIFT: "level_shift"}


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the streaming detector; names and order match the kernel's PARAM_NAMES."""

    alpha_fast: float = 0.1
    alpha_scale: float = 0.02
    alpha_slow: float = 0.01
    alpha_season: float = 0.2
    season_min_obs: float = 3.0
    huber_k: float = 3.0
    z_alarm: float = 4.0
    cusum_k: float = 0.5
    cusum_h: float = 8.0
    cusum_clip: float = 4.0
    suppress_points: int = 12
    suppress_factor: float = 0.4
    warmup_points: int = 10
    abs_floor: float = 1e-9
    rel_floor: float = 0.001
    res_floor: float = 0.5
    max_gap_steps: float = 50.0

    def __post_init__(self) -> None:
        for name in ("alpha_fast", "alpha_scale", "alpha_slow", "alpha_season"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {v}")
        for name in ("z_alarm", "cusum_h", "huber_k", "cusum_clip", "abs_floor", "max_gap_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("season_min_obs", "cusum_k", "suppress_points", "warmup_points", "rel_floor", "res_floor"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.suppress_factor <= 1.0:
            raise ValueError(f"suppress_factor must be in [0, 1], got {self.suppress_factor}")

    def params(self) -> np.ndarray:
        assert tuple(f.name for f in fields(self)) == PARAM_NAMES
        return np.array(astuple(self), dtype=np.float64)


@dataclass(frozen=True)
class Scored:
    """Per-point output. `score` in [0, 1); `alarm` where score >= 0.5 (the alarm boundary)."""

    score: np.ndarray
    expected: np.ndarray
    kind: np.ndarray

    @property
    def alarm(self) -> np.ndarray:
        return self.kind != KIND_NONE


def to_epoch_seconds(timestamps) -> np.ndarray:
    """datetime64 / pandas / polars timestamps (naive = UTC) to int64 epoch seconds."""
    arr = np.asarray(timestamps)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    return arr.astype("datetime64[s]").astype(np.int64)


def score(timestamps, values, config: DetectorConfig | None = None) -> Scored:
    """Score one series, each point from the past only."""
    cfg = config or DetectorConfig()
    s, e, k = score_series(to_epoch_seconds(timestamps), np.asarray(values, dtype=np.float64), cfg.params())
    return Scored(s, e, k)


def score_many(timestamps, values: np.ndarray, config: DetectorConfig | None = None) -> Scored:
    """Score a (series, time) matrix sharing one time axis, series in parallel."""
    cfg = config or DetectorConfig()
    s, e, k = score_matrix(to_epoch_seconds(timestamps), values, cfg.params())
    return Scored(s, e, k)
