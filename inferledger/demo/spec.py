"""The knobs of the demo fleet and its load curve.

The load of every feature follows one daily curve (peak in the afternoon UTC,
where European and American office hours overlap, trough twelve hours later)
and a weekly one (weekends quieter), each feature with its own floor, so
that batch-like features (indexing, synthetic data) stay busy at night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime

from inferledger.demo.catalog import FEATURES, GPU_NODES, MODELS, SERVICES, Feature, GpuNode, ModelProfile, Service
from inferledger.demo.incidents import IncidentTargets


@dataclass(frozen=True)
class FleetSpec:
    """Everything the simulation reads; the defaults are the demo fleet.

    `scale` multiplies every request rate: 1.0 gives roughly 25k requests a
    weekday and about 160k for a 7-day backfill.
    """

    features: tuple[Feature, ...] = FEATURES
    services: dict[str, Service] = field(default_factory=lambda: dict(SERVICES))
    models: dict[str, ModelProfile] = field(default_factory=lambda: dict(MODELS))
    gpu_nodes: tuple[GpuNode, ...] = GPU_NODES
    scale: float = 1.0
    peak_hour_utc: float = 15.0
    rate_limit_rate: float = 0.008      # share of hosted calls answered 429 at full load
    timeout_rate: float = 0.002         # share of calls that time out regardless of load
    server_error_rate: float = 0.001    # self-hosted 500s
    timeout_s: float = 120.0            # client timeout: slower calls end as errors
    tenant_hosts: int = 6               # CPU nodes the client services run on
    incidents: IncidentTargets = field(default_factory=IncidentTargets)

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"FleetSpec.scale must be > 0, got {self.scale}")
        for f in self.features:
            if f.service not in self.services:
                raise ValueError(f"feature {f.team}/{f.name}: unknown service {f.service!r}")
            if f.model not in self.models:
                raise ValueError(f"feature {f.team}/{f.name}: unknown model {f.model!r}")

    def scaled(self, scale: float) -> "FleetSpec":
        return replace(self, scale=scale)


def diurnal(hour_of_day: float, floor: float, peak_hour: float) -> float:
    """Load relative to the daily peak: `floor` at the trough, 1 at `peak_hour`."""
    bump = (1.0 + math.cos(2.0 * math.pi * (hour_of_day - peak_hour) / 24.0)) / 2.0
    return floor + (1.0 - floor) * bump * bump


def load_factor(feature: Feature, t: datetime, peak_hour: float = 15.0) -> float:
    """Expected load of a feature at time t relative to its weekday peak (no incidents)."""
    hour = t.hour + t.minute / 60.0 + t.second / 3600.0
    weekly = feature.weekend_factor if t.weekday() >= 5 else 1.0
    return diurnal(hour, feature.night_floor, peak_hour) * weekly
