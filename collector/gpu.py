"""GPU metric vocabularies -> `gpu_samples` rows (CONVENTIONS.md section 4).

Three dialects carry the same few numbers in different units: dcgm-exporter
(forwarded unchanged in name by an OTel Collector's prometheus receiver:
percent utilization, MiB, mJ), OTel hardware conventions (fractions, bytes, J)
and OpenLIT (percent, MiB). Every point of one GPU at one timestamp within a
request merges into one row, so a dashboard reads utilization, memory and
power from the same row instead of joining series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inferledger.collector.attributes import first_str, json_or_none, to_int
from inferledger.collector.ingest_batch import ns_to_datetime

MIB = 1024 * 1024

# canonical fields of a merged sample
UTIL, MEM_USED, MEM_FREE, MEM_RESERVED, MEM_TOTAL, POWER, ENERGY, TEMP = (
    "utilization",
    "memory_used_bytes",
    "_memory_free_bytes",
    "_memory_reserved_bytes",
    "memory_total_bytes",
    "power_w",
    "energy_j",
    "temperature_c",
)


@dataclass(frozen=True)
class GpuMetric:
    field: str
    scale: float  # canonical = value * scale
    vocabulary: str  # dcgm | otel_hw | openlit
    rank: int = 0  # utilization only: lower wins (PROF_GR_ENGINE_ACTIVE over GPU_UTIL)
    require_hw_type_gpu: bool = False  # hw.power / hw.energy are GPU data only with hw.type=gpu


GPU_METRICS: dict[str, GpuMetric] = {
    # dcgm-exporter
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": GpuMetric(UTIL, 1.0, "dcgm", rank=0),
    "DCGM_FI_PROF_SM_ACTIVE": GpuMetric(UTIL, 1.0, "dcgm", rank=1),
    "DCGM_FI_DEV_GPU_UTIL": GpuMetric(UTIL, 0.01, "dcgm", rank=2),
    "DCGM_FI_DEV_FB_USED": GpuMetric(MEM_USED, MIB, "dcgm"),
    "DCGM_FI_DEV_FB_FREE": GpuMetric(MEM_FREE, MIB, "dcgm"),
    "DCGM_FI_DEV_FB_RESERVED": GpuMetric(MEM_RESERVED, MIB, "dcgm"),
    "DCGM_FI_DEV_POWER_USAGE": GpuMetric(POWER, 1.0, "dcgm"),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": GpuMetric(ENERGY, 0.001, "dcgm"),
    "DCGM_FI_DEV_GPU_TEMP": GpuMetric(TEMP, 1.0, "dcgm"),
    # OpenTelemetry hardware conventions
    "hw.gpu.utilization": GpuMetric(UTIL, 1.0, "otel_hw"),
    "hw.gpu.memory.usage": GpuMetric(MEM_USED, 1.0, "otel_hw"),
    "hw.gpu.memory.limit": GpuMetric(MEM_TOTAL, 1.0, "otel_hw"),
    "hw.power": GpuMetric(POWER, 1.0, "otel_hw", require_hw_type_gpu=True),
    "hw.energy": GpuMetric(ENERGY, 1.0, "otel_hw", require_hw_type_gpu=True),
    "hw.temperature": GpuMetric(TEMP, 1.0, "otel_hw", require_hw_type_gpu=True),
    # OpenLIT's GPU collector: hw.gpu.* above plus these
    "hw.gpu.power.draw": GpuMetric(POWER, 1.0, "openlit"),
    "hw.gpu.energy.consumed": GpuMetric(ENERGY, 1.0, "openlit"),
    "hw.gpu.temperature": GpuMetric(TEMP, 1.0, "openlit"),
    # OpenLIT SDK (collect_gpu_stats=True)
    "gpu.utilization": GpuMetric(UTIL, 0.01, "openlit"),
    "gpu.memory.used": GpuMetric(MEM_USED, MIB, "openlit"),
    "gpu.memory.free": GpuMetric(MEM_FREE, MIB, "openlit"),
    "gpu.memory.total": GpuMetric(MEM_TOTAL, MIB, "openlit"),
    "gpu.power.draw": GpuMetric(POWER, 1.0, "openlit"),
    "gpu.temperature": GpuMetric(TEMP, 1.0, "openlit"),
}

# Metric-name prefixes that are GPU telemetry even when we read no field from them (skipped, not kept).
GPU_PREFIXES = ("DCGM_FI_", "hw.gpu.", "gpu.")

# identity labels, first present wins
_UUID_KEYS = ("UUID", "uuid", "hw.id", "gpu_uuid", "gpu.uuid")
_INDEX_KEYS = ("gpu", "gpu_index", "gpu.index", "hw.gpu.index")
_MODEL_KEYS = ("modelName", "hw.model", "gpu_name", "gpu.name", "hw.name")
_HOST_KEYS = ("Hostname", "hostname", "host.name")
_NAMESPACE_KEYS = ("namespace", "k8s.namespace.name")
_POD_KEYS = ("pod", "k8s.pod.name")
_CONTAINER_KEYS = ("container", "k8s.container.name")
_MIG_PROFILE_KEYS = ("GPU_I_PROFILE",)
_MIG_INSTANCE_KEYS = ("GPU_I_ID",)
_CONSUMED = frozenset(
    _UUID_KEYS + _INDEX_KEYS + _MODEL_KEYS + _HOST_KEYS + _NAMESPACE_KEYS + _POD_KEYS + _CONTAINER_KEYS
    + _MIG_PROFILE_KEYS + _MIG_INSTANCE_KEYS + ("hw.type", "hw.gpu.task")
)


def _first(attrs: dict[str, Any], resource: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The point's own value, else the resource's."""
    return first_str(attrs, keys) or first_str(resource, keys)


def applies(metric: GpuMetric, attrs: dict[str, Any], resource: dict[str, Any]) -> bool:
    """Whether this point is device-level GPU data the mapping is meant for."""
    if metric.require_hw_type_gpu and attrs.get("hw.type", resource.get("hw.type")) != "gpu":
        return False
    if metric.field == UTIL:
        task = attrs.get("hw.gpu.task")
        if task is not None and task != "general":
            return False  # encoder / decoder utilization is not the device's busy fraction
    return True


@dataclass
class GpuSample:
    time_ns: int
    host: str | None
    uuid: str | None
    index: int | None
    model: str | None
    mig_profile: str | None
    mig_instance: str | None
    namespace: str | None
    pod: str | None
    container: str | None
    vocabulary: str
    values: dict[str, float] = field(default_factory=dict)
    util_rank: int = 1 << 30
    attributes: dict[str, Any] = field(default_factory=dict)


class GpuMerger:
    """Merges the points of one request into one sample per GPU and timestamp."""

    def __init__(self) -> None:
        self.samples: dict[tuple, GpuSample] = {}

    def add(self, metric: GpuMetric, value: float, time_ns: int, attrs: dict[str, Any],
            resource: dict[str, Any], openlit_resource: bool) -> None:
        uuid = _first(attrs, resource, _UUID_KEYS)
        index = to_int(_first(attrs, resource, _INDEX_KEYS))
        host = _first(attrs, resource, _HOST_KEYS)
        mig_instance = _first(attrs, resource, _MIG_INSTANCE_KEYS)
        pod = _first(attrs, resource, _POD_KEYS)
        container = _first(attrs, resource, _CONTAINER_KEYS)
        vocabulary = "openlit" if openlit_resource and metric.vocabulary == "otel_hw" else metric.vocabulary
        key = (vocabulary, uuid, index if uuid is None else None, host, mig_instance, pod, container, time_ns)
        s = self.samples.get(key)
        if s is None:
            s = self.samples[key] = GpuSample(
                time_ns=time_ns,
                host=host,
                uuid=uuid,
                index=index,
                model=_first(attrs, resource, _MODEL_KEYS),
                mig_profile=_first(attrs, resource, _MIG_PROFILE_KEYS),
                mig_instance=mig_instance,
                namespace=_first(attrs, resource, _NAMESPACE_KEYS),
                pod=pod,
                container=container,
                vocabulary=vocabulary,
            )
        elif s.model is None:
            s.model = _first(attrs, resource, _MODEL_KEYS)
        v = value * metric.scale
        if metric.field == UTIL:
            if metric.rank < s.util_rank:
                s.util_rank = metric.rank
                s.values[UTIL] = v
        else:
            s.values[metric.field] = v
        for k, av in attrs.items():
            if k not in _CONSUMED:
                s.attributes[k] = av

    def rows(self, tenant: str, received: datetime) -> list[tuple]:
        """`gpu_samples` rows in GPU_COLUMNS order."""
        out = []
        for s in self.samples.values():
            vals = s.values
            total = vals.get(MEM_TOTAL)
            used = vals.get(MEM_USED)
            free = vals.get(MEM_FREE)
            if total is None and used is not None and free is not None:
                # dcgm reports no total: the framebuffer is used + free + reserved
                total = used + free + vals.get(MEM_RESERVED, 0.0)
            out.append(
                (
                    ns_to_datetime(s.time_ns),
                    tenant,
                    s.host,
                    s.uuid,
                    s.index,
                    s.model,
                    s.mig_profile,
                    s.mig_instance,
                    s.namespace,
                    s.pod,
                    s.container,
                    vals.get(UTIL),
                    used,
                    total,
                    vals.get(POWER),
                    vals.get(ENERGY),
                    vals.get(TEMP),
                    s.vocabulary,
                    json_or_none(s.attributes),
                    received,
                )
            )
        return out
