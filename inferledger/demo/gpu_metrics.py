"""GpuSamples -> SDK MetricsData, as an OpenTelemetry Collector forwards dcgm-exporter.

The Collector's prometheus receiver keeps dcgm-exporter's metric names and
labels (`gpu`, `UUID`, `modelName`, `Hostname`, `pci_bus_id`, `device`, and in
Kubernetes `namespace`, `pod`, `container`; `GPU_I_PROFILE` / `GPU_I_ID` on MIG
instances), turns gauges into OTLP gauges and the energy counter into a
cumulative monotonic sum, and puts the scrape target in the resource.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from inferledger.demo.fleet import GpuSample, to_ns

# (metric name, GpuSample field, help text, is counter)
DCGM_SERIES = (
    ("DCGM_FI_DEV_GPU_UTIL", "gpu_util_pct", "GPU utilization (in %).", False),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gr_engine_active", "Ratio of time the graphics engine is active.", False),
    ("DCGM_FI_DEV_FB_USED", "fb_used_mib", "Framebuffer memory used (in MiB).", False),
    ("DCGM_FI_DEV_FB_FREE", "fb_free_mib", "Framebuffer memory free (in MiB).", False),
    ("DCGM_FI_DEV_POWER_USAGE", "power_w", "Power draw (in W).", False),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "energy_mj",
     "Total energy consumption since boot (in mJ).", True),
    ("DCGM_FI_DEV_GPU_TEMP", "temp_c", "GPU temperature (in C).", False),
)
_SCOPE = InstrumentationScope("github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver",
                              "0.115.0")


def sample_labels(s: GpuSample) -> dict[str, str]:
    labels = {"gpu": str(s.gpu), "UUID": s.uuid, "modelName": s.model_name, "Hostname": s.hostname,
              "pci_bus_id": s.pci_bus_id, "device": s.device}
    if s.mig_profile is not None:
        labels["GPU_I_PROFILE"] = s.mig_profile
        labels["GPU_I_ID"] = s.mig_instance or ""
    if s.pod is not None:
        labels["namespace"] = s.namespace or ""
        labels["pod"] = s.pod
        labels["container"] = s.container or ""
    return labels


def _resource(hostname: str) -> Resource:
    return Resource({
        "service.name": "dcgm-exporter",
        "service.instance.id": f"{hostname}:9400",
        "server.address": hostname,
        "server.port": "9400",
        "url.scheme": "http",
        "host.name": hostname,
        "k8s.node.name": hostname,
    })


def gpu_metrics_data(samples: Sequence[GpuSample], start_ns: int) -> MetricsData:
    """One ResourceMetrics per scraped node, one Metric per dcgm series; None fields are skipped."""
    by_host: dict[str, dict[str, list[NumberDataPoint]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        t = to_ns(s.time)
        labels = sample_labels(s)
        points = by_host[s.hostname]
        for name, attr, _help, _counter in DCGM_SERIES:
            value = getattr(s, attr)
            if value is None:
                continue
            points[name].append(NumberDataPoint(attributes=labels, start_time_unix_nano=start_ns,
                                                time_unix_nano=t, value=value))
    resource_metrics = []
    for host, points in by_host.items():
        metrics = []
        for name, _attr, help_text, counter in DCGM_SERIES:
            if name not in points:
                continue
            data = (Sum(data_points=points[name], aggregation_temporality=AggregationTemporality.CUMULATIVE,
                        is_monotonic=True) if counter else Gauge(data_points=points[name]))
            metrics.append(Metric(name=name, description=help_text, unit="", data=data))
        resource_metrics.append(ResourceMetrics(resource=_resource(host),
                                                scope_metrics=[ScopeMetrics(scope=_SCOPE, metrics=metrics,
                                                                            schema_url="")],
                                                schema_url=""))
    return MetricsData(resource_metrics=resource_metrics)


def points_in(data: MetricsData) -> int:
    return sum(len(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
