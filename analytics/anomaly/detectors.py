"""The scoring API over the numba kernel: timestamps and values in, scores out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferledger.analytics.anomaly.settings import DetectorConfig
from inferledger.analytics.kernels.anomaly_detectors import (
    KIND_NONE,
    KIND_SHIFT,
    KIND_SPIKE,
    PARAM_NAMES,
    score_matrix,
    score_series,
)

if DetectorConfig.names() != PARAM_NAMES:  # pragma: no cover - a developer error, caught at import
    raise ImportError("DetectorConfig fields and the kernel's PARAM_NAMES disagree")

KIND_NAMES = {KIND_NONE: "none", KIND_SPIKE: "spike", KIND_SHIFT: "level_shift"}


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
