"""Settings of the warehouse and of the analytics jobs.

Each area adds its own dataclass here (or in its module) and a field on
`AnalyticsSettings`; `inferledger.config` loads and validates every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.drift.settings import DriftSettings
from inferledger.analytics.slo.settings import SLOSettings


@dataclass
class WarehouseSettings:
    path: str = "inferledger.duckdb"
    retention_days: int = 90
    # DuckDB memory cap for the service process, e.g. "4GB"; empty means DuckDB's default.
    memory_limit: str = ""
    # DuckDB threads; 0: DuckDB's default (all cores), except in `serve`, where it is the cores
    # left over by ingest.workers (at least 1), so the writer's appends do not contend with decoding.
    threads: int = 0
    # Write-ahead-log size that triggers a checkpoint. A checkpoint blocks commits, so a
    # small value means frequent ingest stalls (DuckDB's 16MB default gave a p99 of
    # ~750 ms under load); a large one means a longer log replay after a crash.
    checkpoint_threshold: str = "1GB"

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError("retention_days must be >= 1")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")


@dataclass
class AnalyticsSettings:
    """`[analytics]`: one typed section per job area; there is no free-form section."""

    jobs_enabled: bool = True
    cost: CostSettings = field(default_factory=CostSettings)
    drift: DriftSettings = field(default_factory=DriftSettings)
    slo: SLOSettings = field(default_factory=SLOSettings)
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)
