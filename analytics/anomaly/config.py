"""The detector's parameters as a plain dataclass (no numba import), so settings can embed it.

One `DetectorConfig` is used for every series and for the whole NAB corpus: the
defaults are the configuration `benchmarks/bench_anomaly.py` reports, never tuned
per file. Field names and order are the kernel's `PARAM_NAMES`.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the streaming detector; names and order match the kernel's PARAM_NAMES.

    The defaults are one configuration for every series, chosen on the NAB corpus by a
    random search then coordinate descent, rounded to plain values (see
    benchmarks/bench_anomaly.py for the score it reaches and the caveat that goes with it).
    """

    alpha_fast: float = 0.033
    alpha_scale: float = 0.002
    alpha_slow: float = 0.01
    alpha_season: float = 0.03
    season_min_obs: float = 12.0
    huber_k: float = 3.0
    z_alarm: float = 5.0
    cusum_k: float = 0.75
    cusum_h: float = 40.0
    cusum_clip: float = 4.0
    suppress_points: int = 110
    suppress_factor: float = 0.5
    warmup_points: int = 10
    abs_floor: float = 1e-9
    rel_floor: float = 0.001
    res_floor: float = 0.5
    max_gap_steps: float = 50.0
    tail_p: float = 0.998
    tail_eta: float = 0.14
    tail_ref: float = 3.0
    range_margin: float = 0.05
    range_min_obs: float = 350.0
    season_select: float = 0.0

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
        if not 0.0 < self.tail_p < 1.0:
            raise ValueError(f"tail_p must be in (0, 1), got {self.tail_p}")
        if self.season_select not in (0.0, 1.0):
            raise ValueError(f"season_select must be 0 or 1, got {self.season_select}")
        if self.range_min_obs < 0:
            raise ValueError(f"range_min_obs must be >= 0, got {self.range_min_obs}")
        if self.range_margin < 0:
            raise ValueError(f"range_margin must be >= 0, got {self.range_margin}")
        if self.tail_eta < 0 or self.tail_ref <= 0:
            raise ValueError("tail_eta must be >= 0 and tail_ref > 0")
        if not 0.0 <= self.suppress_factor <= 1.0:
            raise ValueError(f"suppress_factor must be in [0, 1], got {self.suppress_factor}")

    def params(self) -> np.ndarray:
        """The kernel's parameter vector (order = field order = PARAM_NAMES)."""
        return np.array(astuple(self), dtype=np.float64)

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(f.name for f in fields(DetectorConfig))


