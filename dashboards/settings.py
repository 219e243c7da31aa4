"""Settings of the Prometheus exporter and the Grafana push."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DashboardSettings:
    # Top-N values kept per label on /metrics; the rest are summed into "other".
    metrics_top_n: int = 50
