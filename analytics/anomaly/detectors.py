"""The scoring API over the numba kernel: timestamps and values in, scores out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferledger.analytics.anomaly.settings import DetectorConfig
from inferledger.analytics.kernels.anomaly_batch import score_matrix, score_series
from inferledger.analytics.kernels.anomaly_params import KIND_NONE, KIND_SHIFT, KIND_SPIKE, PARAM_NAMES

if DetectorConfig.names() != PARAM_NAMES:  # pragma: no cover - a developer error, caught at import
    raise ImportError("DetectorConfig fields and the kernel's PARAM_NAMES disagree")

# cells (series x time) per kernel call in score_on_grid: about 0.5 GB of inputs and outputs
MAX_CELLS = 20_000_000

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


def score_on_grid(series_ts: list[np.ndarray], series_values: list[np.ndarray], step: int,
                  config: DetectorConfig | None = None) -> list[Scored]:
    """Score many series of one bucket size in one parallel kernel call.

    Each series is placed on the union grid of its step with NaN where it has no point.
    The kernel skips NaN without touching its state and measures gaps from the last
    finite point, so every series gets exactly the scores `score` gives it alone.
    """
    if not series_ts:
        return []
    starts = [int(t[0]) for t in series_ts if len(t)]
    lo = min(starts, default=0)
    hi = max((int(t[-1]) for t in series_ts if len(t)), default=0)
    grid = np.arange(lo, hi + step, step, dtype=np.int64)
    out: list[Scored] = []
    # rows per kernel call so one call's matrices stay near MAX_CELLS cells
    per_call = max(1, MAX_CELLS // max(len(grid), 1))
    for a in range(0, len(series_ts), per_call):
        cols = []
        mat = np.full((min(per_call, len(series_ts) - a), len(grid)), np.nan)
        for row, (t, v) in enumerate(zip(series_ts[a:a + per_call], series_values[a:a + per_call])):
            t = np.asarray(t, dtype=np.int64)
            c = (t - lo) // step
            if len(t) and (np.any((t - lo) % step) or np.any(np.diff(c) <= 0)):
                raise ValueError("series must be ascending on bucket starts of their step")
            mat[row, c] = v
            cols.append(c)
        r = score_many(grid, mat, config)
        out += [Scored(r.score[row, c], r.expected[row, c], r.kind[row, c]) for row, c in enumerate(cols)]
    return out
