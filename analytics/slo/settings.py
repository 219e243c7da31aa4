"""Settings of the SLO job (`[analytics.slo]`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SLOSettings:
    # YAML spec files (our format, OpenSLO v1, or Sloth prometheus/v1 with a span SLI).
    spec_files: list[str] = field(default_factory=list)
    # Inline SLOs in our format: the entries of a spec file's `slos:` list.
    specs: list[dict] = field(default_factory=list)
    # Load the bundled SLOs of the demo fleet (analytics/slo/demo_slos.yaml).
    include_demo_specs: bool = False
    # Re-read spans ingested this long before the watermark: a batch committed late
    # with an older ingested_at is still counted (re-aggregation is idempotent).
    rollup_overlap_seconds: int = 120
    # Minute rollups older than this are deleted (must cover the longest period, 31 days).
    rollup_retention_days: int = 35
    # Rows of slo_state_history kept per SLO (one per evaluation).
    history_days: int = 7

    def __post_init__(self) -> None:
        if self.rollup_overlap_seconds < 0:
            raise ValueError("rollup_overlap_seconds must be >= 0")
        if self.rollup_retention_days < 31:
            raise ValueError("rollup_retention_days must be >= 31 (a calendar month)")
        if self.history_days < 1:
            raise ValueError("history_days must be >= 1")
