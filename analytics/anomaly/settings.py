"""The `[analytics.anomaly]` section: which series are watched and how alarms become alerts.

Detector parameters sit in `[analytics.anomaly.detector]` (see `DetectorConfig`);
the defaults are the single configuration evaluated on NAB.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the streaming detector; names and order match the kernel's PARAM_NAMES.

    The defaults are one configuration for every series, chosen on the NAB tuning categories
    and the synthetic tuning seeds only (benchmarks/anomaly_tune.py: a grid over the seasonal
    CUSUM keys, then a coordinate search over z_alarm, the CUSUM, EWMA, suppression, range
    and POT keys (pot_risk, pot_alarm_excess); the held-out half is never loaded). benchmarks/anomaly_eval.py reports
    both halves with the previous defaults beside them. Keys outside that search
    (alpha_scale, alpha_season, huber_k, floors, tail_*) keep values from earlier rounds.

    Peaks-over-threshold (SPOT/DSPOT, Siffer et al. 2017): the spike z of each series is
    compared with its own streaming `pot_q0` quantile t; the excesses over t of ordinary
    points feed an exponentially weighted method-of-moments GPD fit, and the spike alarm
    threshold becomes the GPD quantile at `pot_risk` per point (never below `pot_z_min`).
    A heavy-tailed series thus needs a bigger jump; a quiet one alarms at a lower z.
    `pot_alarm_excess`: an exceedance that alarmed also feeds the fit, its excess censored at
    this multiple of the current threshold's excess (0: alarms are left out, as in SPOT). A
    series whose "spikes" recur (a load balancer's, sparse spend) has a heavier tail than the
    ordinary points show; left out, each recurrence alarms again at the same threshold.

    Seasonal CUSUM (`season_cusum_k`, `season_cusum_h`): a CUSUM of the residual against the
    nearer warm season bucket, in that bucket's scale, less its slowly tracked offset; it
    finds a day that leaves the series' own pattern smoothly (a missing daily peak, a
    holiday), which neither the spike rule nor the slow level sees. It starts after a week
    of history. `shift_season = 1`: a level-shift alarm also moves every season bucket by
    the shift, so the hours visited after it do not report the same shift again.
    """

    alpha_fast: float = 0.033
    alpha_scale: float = 0.002
    alpha_slow: float = 0.01
    alpha_season: float = 0.03
    season_min_obs: float = 12.0
    huber_k: float = 3.0
    z_alarm: float = 4.0
    cusum_k: float = 0.75
    cusum_h: float = 30.0
    cusum_clip: float = 3.0
    suppress_points: int = 110
    suppress_factor: float = 0.5
    warmup_points: int = 10
    abs_floor: float = 1e-9
    rel_floor: float = 0.001
    res_floor: float = 0.5
    max_gap_steps: float = 50.0
    tail_p: float = 0.998
    tail_eta: float = 0.0
    tail_ref: float = 3.0
    range_margin: float = 0.05
    range_min_obs: float = 350.0
    season_select: float = 0.0
    shift_confirm_z: float = 3.0
    confirm_alpha: float = 1.0
    pot_q0: float = 0.9
    pot_eta: float = 0.05
    pot_risk: float = 1e-6
    pot_alpha: float = 0.01
    pot_min_exc: float = 30.0
    pot_z_min: float = 4.0
    season_cusum_k: float = 1.0
    season_cusum_h: float = 20.0
    shift_season: float = 1.0
    pot_alarm_excess: float = 1.5

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
        if self.shift_season not in (0.0, 1.0):
            raise ValueError(f"shift_season must be 0 or 1, got {self.shift_season}")
        if self.season_select not in (0.0, 1.0):
            raise ValueError(f"season_select must be 0 or 1, got {self.season_select}")
        if not 0.0 < self.confirm_alpha <= 1.0:
            raise ValueError(f"confirm_alpha must be in (0, 1], got {self.confirm_alpha}")
        if not 0.0 < self.pot_q0 < 1.0:
            raise ValueError(f"pot_q0 must be in (0, 1), got {self.pot_q0}")
        if not 0.0 <= self.pot_risk < 1.0 - self.pot_q0:
            raise ValueError(f"pot_risk must be in [0, 1 - pot_q0), got {self.pot_risk}")
        if not 0.0 < self.pot_alpha <= 1.0:
            raise ValueError(f"pot_alpha must be in (0, 1], got {self.pot_alpha}")
        if self.pot_eta < 0 or self.pot_min_exc < 1:
            raise ValueError("pot_eta must be >= 0 and pot_min_exc >= 1")
        if self.pot_alarm_excess < 0:
            raise ValueError(f"pot_alarm_excess must be >= 0, got {self.pot_alarm_excess}")
        if self.pot_z_min <= 0:
            raise ValueError(f"pot_z_min must be > 0, got {self.pot_z_min}")
        if self.season_cusum_k < 0 or self.season_cusum_h < 0:
            raise ValueError("season_cusum_k and season_cusum_h must be >= 0")
        if self.shift_confirm_z < 0:
            raise ValueError(f"shift_confirm_z must be >= 0, got {self.shift_confirm_z}")
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


SERIES_KINDS = ("spend_5m", "spend_1h", "tokens_1m", "latency_p95_5m", "error_rate_5m", "gpu_util_5m", "gpu_idle_cost_1h")
SEVERITIES = ("page", "ticket", "info")


@dataclass
class AnomalySettings:
    enabled: bool = True
    # history re-scored on every run (each point is scored from the points before it)
    lookback_hours: int = 14 * 24
    series: list[str] = field(default_factory=lambda: list(SERIES_KINDS))
    # series with fewer points than this are not scored (the detector is still warming up)
    min_points: int = 24
    # p95 latency and error-rate buckets with fewer requests than this are left out (gaps)
    min_requests: int = 10
    # an alert stays firing while its series had an alarm within this many minutes of its last point
    resolve_after_minutes: int = 60
    # alarms of related series no further apart than this are one incident (one alert); an incident
    # also takes related alarms while its alert is still firing (`grouping_minutes`)
    incident_gap_minutes: int = 30
    # per-series alarms older than this (relative to now) do not raise alerts, only rows in `anomalies`
    alert_max_age_minutes: int = 120
    # alarms in a series' first hours (the detector still learning its day) are stored, not alerted
    alert_min_history_hours: int = 24
    severity: str = "ticket"
    # series per run at most (cardinality guard: the busiest series are kept)
    max_series: int = 5000
    # buckets before the anomaly that form the explanation's baseline
    explain_baseline_buckets: int = 12
    # an error-rate alarm stands only if its failures among its requests have a one-sided binomial
    # p-value below this against the series' own trailing rate (1e-4: 1 / 2016 five-minute buckets a
    # week, the one-false-alert-per-series-per-week budget, with a 5x margin for the estimated rate)
    count_alpha: float = 1e-4
    # buckets before a point that form its trailing failure rate (2016 = one week of 5 min buckets)
    count_window_buckets: int = 2016
    # alarms on series with buckets shorter than 5 minutes stand only if they and the buckets after
    # them, this many in all, lie beyond the alarm's boundary (significance.persisting)
    persist_buckets: int = 2
    # a level-shift alarm stands unless the same time a day earlier is closer to the observation than
    # this fraction of its departure from the expected level (significance.day_before_explains; 0: off)
    shift_day_before_fraction: float = 0.5
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    @property
    def grouping_minutes(self) -> int:
        """How far apart related alarms may be and still be one incident.

        An incident's alert keeps firing until its series have been quiet for
        `resolve_after_minutes`; a related alarm while it fires is the same page, not a
        second one (a latency regression's p95 alarm and its error-rate alarms 45 minutes
        later). `incident_gap_minutes` alone still bounds the p95 follow-up window.
        """
        return max(self.incident_gap_minutes, self.resolve_after_minutes)

    def __post_init__(self) -> None:
        unknown = [s for s in self.series if s not in SERIES_KINDS]
        if unknown:
            raise ValueError(f"series: unknown series kind {unknown[0]!r} (known: {', '.join(SERIES_KINDS)})")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")
        if self.alert_min_history_hours < 0:
            raise ValueError(f"alert_min_history_hours must be >= 0, got {self.alert_min_history_hours}")
        if not 0.0 <= self.shift_day_before_fraction < 1.0:
            raise ValueError(f"shift_day_before_fraction must be in [0, 1), got {self.shift_day_before_fraction}")
        if not 0.0 < self.count_alpha <= 1.0:
            raise ValueError(f"count_alpha must be in (0, 1], got {self.count_alpha}")
        for name in ("lookback_hours", "min_points", "min_requests", "resolve_after_minutes", "alert_max_age_minutes",
                     "max_series", "explain_baseline_buckets", "incident_gap_minutes", "count_window_buckets",
                     "persist_buckets"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
