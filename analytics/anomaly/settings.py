"""The `[analytics.anomaly]` section: which series are watched and how alarms become alerts.

Detector parameters sit in `[analytics.anomaly.detector]` (see `DetectorConfig`);
the defaults are the single configuration evaluated on NAB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.anomaly.config import DetectorConfig

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
    # per-series alarms older than this (relative to now) do not raise alerts, only rows in `anomalies`
    alert_max_age_minutes: int = 120
    # alarms in a series' first hours (the detector still learning its day) are stored, not alerted
    alert_min_history_hours: int = 24
    severity: str = "ticket"
    # series per run at most (cardinality guard: the busiest series are kept)
    max_series: int = 5000
    # buckets before the anomaly that form the explanation's baseline
    explain_baseline_buckets: int = 12
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    def __post_init__(self) -> None:
        unknown = [s for s in self.series if s not in SERIES_KINDS]
        if unknown:
            raise ValueError(f"series: unknown series kind {unknown[0]!r} (known: {', '.join(SERIES_KINDS)})")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")
        if self.alert_min_history_hours < 0:
            raise ValueError(f"alert_min_history_hours must be >= 0, got {self.alert_min_history_hours}")
        for name in ("lookback_hours", "min_points", "min_requests", "resolve_after_minutes", "alert_max_age_minutes",
                     "max_series", "explain_baseline_buckets"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
