"""Settings of the Prometheus exporter and the Grafana push."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GrafanaSettings:
    """Where `inferledger grafana push` goes and what the provisioning files name."""

    # Grafana base URL for `grafana push` (the --url option overrides it).
    url: str = ""
    # Service-account token (Bearer); better set through INFERLEDGER_DASHBOARDS__GRAFANA__TOKEN.
    token: str = ""
    folder_title: str = "InferLedger"
    folder_uid: str = "inferledger"
    # The Prometheus that scrapes InferLedger's /metrics, as Grafana should reach it.
    prometheus_url: str = "http://localhost:9090"
    datasource_name: str = "InferLedger Prometheus"
    datasource_uid: str = "inferledger-prometheus"
    # Create (or update) that Prometheus datasource on push.
    create_datasource: bool = False
    # Dashboards are linked from alerts and annotations with this base (Grafana's public URL).
    public_url: str = ""
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
        for name in ("folder_uid", "datasource_uid"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")


@dataclass
class DashboardSettings:
    # Top-N values kept per label on /metrics; the rest are summed into "other".
    metrics_top_n: int = 50
    # A scrape within this many seconds of the last one is served from cache.
    metrics_cache_seconds: float = 10.0
    # GPU gauges use each GPU's latest sample within this window.
    gpu_window_seconds: int = 300
    # Unit-cost gauges (cost per request / per million tokens) cover this trailing window.
    unit_cost_window_hours: int = 24
    # Anomaly-score gauges show series alarmed within this trailing window.
    anomaly_window_hours: int = 24
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)

    def __post_init__(self) -> None:
        if self.metrics_top_n < 1:
            raise ValueError("metrics_top_n must be >= 1")
        if self.metrics_cache_seconds < 0:
            raise ValueError("metrics_cache_seconds must be >= 0")
        if self.gpu_window_seconds < 1:
            raise ValueError("gpu_window_seconds must be >= 1")
        if self.unit_cost_window_hours < 1:
            raise ValueError("unit_cost_window_hours must be >= 1")
        if self.anomaly_window_hours < 1:
            raise ValueError("anomaly_window_hours must be >= 1")
