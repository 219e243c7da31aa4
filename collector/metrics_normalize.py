"""Decoded OTLP metric requests -> `gpu_samples` rows and `metric_points` rows.

GPU series are merged into one sample per GPU and timestamp (collector.gpu).
Of the other metrics only GenAI (`gen_ai.*`) and serving-engine metrics (vLLM,
TGI; `ingest.keep_metric_prefixes`) are kept: spans are the source of truth for cost, these are kept for
latency and throughput views, never added to span counts.
"""

from __future__ import annotations

from typing import Any

from inferledger.collector.attributes import json_or_none, kv_dict, to_str
from inferledger.collector.gpu import GPU_METRICS, GPU_PREFIXES, GpuMerger, applies
from inferledger.collector.ingest_batch import MAX_UNIX_NS, IngestContext, NormalizedBatch, ns_to_datetime

_NO_RECORDED_VALUE = 1  # DataPointFlags.FLAG_NO_RECORDED_VALUE


def _number(dp: Any) -> float:
    return dp.as_double if dp.WhichOneof("value") == "as_double" else float(dp.as_int)


def _bad_time(dp: Any, name: str, batch: NormalizedBatch) -> bool:
    t = dp.time_unix_nano
    if not t:
        batch.reject(f"metric {name!r}: data point with time_unix_nano 0")
        return True
    if t > MAX_UNIX_NS:
        batch.reject(f"metric {name!r}: data point time_unix_nano {t} is beyond year 9999")
        return True
    return False


def normalize_metrics(req: Any, ctx: IngestContext) -> tuple[NormalizedBatch, NormalizedBatch]:
    """ExportMetricsServiceRequest -> (gpu_samples batch, metric_points batch).

    Counts are per data point: `rejected` (no timestamp) goes to whichever
    batch the metric belonged to; metrics neither GPU nor GenAI/serving are
    `skipped` in the metric_points batch.
    """
    gpu = NormalizedBatch()
    points = NormalizedBatch()
    merger = GpuMerger()
    tenant = ctx.tenant
    received = ctx.received_at
    keep = tuple(ctx.ingest.keep_metric_prefixes)

    for rm in req.resource_metrics:
        resource = kv_dict(rm.resource.attributes)
        res_json: str | None = None
        res_json_done = False
        service = to_str(resource.get("service.name"))
        openlit_resource = resource.get("telemetry.sdk.name") == "openlit"
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                name = m.name
                kind = m.WhichOneof("data")
                gm = GPU_METRICS.get(name)
                if gm is not None or name.startswith(GPU_PREFIXES):
                    if gm is None or kind not in ("gauge", "sum"):
                        gpu.skipped += _count_points(m, kind)
                        continue
                    for dp in getattr(m, kind).data_points:
                        if _bad_time(dp, name, gpu):
                            continue
                        if dp.flags & _NO_RECORDED_VALUE:
                            gpu.skipped += 1
                            continue
                        attrs = kv_dict(dp.attributes)
                        if not applies(gm, attrs, resource):
                            gpu.skipped += 1
                            continue
                        merger.add(gm, _number(dp), dp.time_unix_nano, attrs, resource, openlit_resource)
                    continue

                if not name.startswith(keep) or kind is None:
                    points.skipped += _count_points(m, kind)
                    continue
                if not res_json_done:
                    res_json = json_or_none(resource)
                    res_json_done = True
                _metric_rows(m, kind, points, tenant, service, res_json, received)

    gpu.rows = merger.rows(tenant, received)
    return gpu, points


def _count_points(m: Any, kind: str | None) -> int:
    if kind is None:
        return 0
    return len(getattr(m, kind).data_points)


def _metric_rows(m: Any, kind: str, batch: NormalizedBatch, tenant: str, service: str | None,
                 res_json: str | None, received) -> None:
    name = m.name
    unit = m.unit or None
    data = getattr(m, kind)
    monotonic = data.is_monotonic if kind == "sum" else None
    for dp in data.data_points:
        if _bad_time(dp, name, batch):
            continue
        if dp.flags & _NO_RECORDED_VALUE:
            batch.skipped += 1
            continue
        value = count = total = lo = hi = buckets = bounds = None
        if kind in ("gauge", "sum"):
            value = _number(dp)
        elif kind == "histogram":
            count = dp.count
            total = dp.sum if dp.HasField("sum") else None
            lo = dp.min if dp.HasField("min") else None
            hi = dp.max if dp.HasField("max") else None
            buckets = list(dp.bucket_counts)
            bounds = list(dp.explicit_bounds)
        elif kind == "exponential_histogram":
            count = dp.count
            total = dp.sum if dp.HasField("sum") else None
            lo = dp.min if dp.HasField("min") else None
            hi = dp.max if dp.HasField("max") else None
        else:  # summary
            count = dp.count
            total = dp.sum
        start = dp.start_time_unix_nano
        batch.rows.append(
            (
                ns_to_datetime(dp.time_unix_nano),
                ns_to_datetime(start) if 0 < start <= MAX_UNIX_NS else None,
                tenant,
                name,
                kind,
                unit,
                monotonic,
                value,
                count,
                total,
                lo,
                hi,
                buckets,
                bounds,
                service,
                json_or_none(kv_dict(dp.attributes)),
                res_json,
                received,
            )
        )
