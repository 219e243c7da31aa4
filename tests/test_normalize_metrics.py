"""Metric normalization: GPU vocabularies into gpu_samples, GenAI/serving metrics into metric_points."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from opentelemetry.proto.metrics.v1 import metrics_pb2

from inferledger.collector.columns import GPU_COLUMNS, METRIC_COLUMNS
from inferledger.collector.metrics_normalize import normalize_metrics
from tests.otlp_builders import T0, counter, ctx, gauge, kvs, metrics

MIB = 1024 * 1024
T1 = T0 + 15_000_000_000


def gpu_rows(req, **kw) -> list[dict]:
    gpu, _ = normalize_metrics(req, ctx(**kw))
    assert gpu.rejected == 0, gpu.errors
    return sorted((dict(zip(GPU_COLUMNS, r)) for r in gpu.rows), key=lambda r: (r["time"], r["gpu_uuid"] or "",
                                                                                   r["mig_instance"] or ""))


def dcgm_labels(gpu: int, **extra) -> dict:
    return {"gpu": str(gpu), "UUID": f"GPU-{gpu:04d}", "device": f"nvidia{gpu}", "modelName": "NVIDIA H100 80GB HBM3",
            "Hostname": "gpu-node-1", "pci_bus_id": f"00000000:{gpu:02d}:00.0", "DCGM_FI_DRIVER_VERSION": "550.54",
            **extra}


def test_dcgm_units_converted_and_points_merged():
    k8s = {"pod": "vllm-0", "namespace": "inference", "container": "vllm"}
    labels = dcgm_labels(0, **k8s)
    req = metrics([
        gauge("DCGM_FI_DEV_GPU_UTIL", [(labels, 87, T0)]),
        gauge("DCGM_FI_DEV_FB_USED", [(labels, 70000, T0)]),
        gauge("DCGM_FI_DEV_FB_FREE", [(labels, 10000, T0)]),
        gauge("DCGM_FI_DEV_FB_RESERVED", [(labels, 559, T0)]),
        gauge("DCGM_FI_DEV_POWER_USAGE", [(labels, 612.5, T0)]),
        counter("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", [(labels, 123_456_789, T0)]),
        gauge("DCGM_FI_DEV_GPU_TEMP", [(labels, 64, T0)]),
        gauge("DCGM_FI_DEV_SM_CLOCK", [(labels, 1980, T0)]),  # GPU series we do not read
    ])
    (row,) = gpu_rows(req)
    assert row["vocabulary"] == "dcgm"
    assert row["time"] == datetime(2025, 11, 13, 2, 13, 20) and row["tenant"] == "acme"
    assert (row["host"], row["gpu_uuid"], row["gpu_index"], row["gpu_model"]) == (
        "gpu-node-1", "GPU-0000", 0, "NVIDIA H100 80GB HBM3")
    assert (row["k8s_namespace"], row["k8s_pod"], row["k8s_container"]) == ("inference", "vllm-0", "vllm")
    assert row["utilization"] == pytest.approx(0.87)
    assert row["memory_used_bytes"] == 70000 * MIB
    assert row["memory_total_bytes"] == (70000 + 10000 + 559) * MIB
    assert row["power_w"] == pytest.approx(612.5)
    assert row["energy_j"] == pytest.approx(123_456.789)
    assert row["temperature_c"] == 64
    attrs = json.loads(row["attributes"])
    assert attrs == {"device": "nvidia0", "pci_bus_id": "00000000:00:00.0", "DCGM_FI_DRIVER_VERSION": "550.54"}
    gpu, _ = normalize_metrics(req, ctx())
    assert gpu.skipped == 1  # the SM clock


def test_dcgm_profiling_utilization_preferred_over_gpu_util():
    la = dcgm_labels(0)
    for order in (1, -1):
        ms = [gauge("DCGM_FI_DEV_GPU_UTIL", [(la, 100, T0)]),
              gauge("DCGM_FI_PROF_SM_ACTIVE", [(la, 0.55, T0)]),
              gauge("DCGM_FI_PROF_GR_ENGINE_ACTIVE", [(la, 0.61, T0)])][::order]
        (row,) = gpu_rows(metrics(ms))
        assert row["utilization"] == pytest.approx(0.61)
    (row,) = gpu_rows(metrics([gauge("DCGM_FI_DEV_GPU_UTIL", [(la, 100, T0)]),
                               gauge("DCGM_FI_PROF_SM_ACTIVE", [(la, 0.55, T0)])]))
    assert row["utilization"] == pytest.approx(0.55)


def test_dcgm_gpus_and_timestamps_kept_apart_newer_hostname_label():
    l0 = dcgm_labels(0)
    l1 = {**dcgm_labels(1), "hostname": "gpu-node-2"}
    del l1["Hostname"]
    req = metrics([gauge("DCGM_FI_DEV_GPU_UTIL", [(l0, 10, T0), (l1, 20, T0), (l0, 30, T1)]),
                   gauge("DCGM_FI_DEV_FB_USED", [(l0, 1, T0), (l1, 2, T0), (l0, 3, T1)])])
    rows = gpu_rows(req)
    assert [(r["gpu_uuid"], r["host"], r["utilization"], r["memory_used_bytes"]) for r in rows] == [
        ("GPU-0000", "gpu-node-1", pytest.approx(0.10), 1 * MIB),
        ("GPU-0001", "gpu-node-2", pytest.approx(0.20), 2 * MIB),
        ("GPU-0000", "gpu-node-1", pytest.approx(0.30), 3 * MIB),
    ]


def test_dcgm_mig_instances():
    base = dcgm_labels(0)
    m1 = {**base, "GPU_I_PROFILE": "1g.10gb", "GPU_I_ID": "1"}
    m2 = {**base, "GPU_I_PROFILE": "3g.40gb", "GPU_I_ID": "2"}
    req = metrics([gauge("DCGM_FI_PROF_GR_ENGINE_ACTIVE", [(m1, 0.2, T0), (m2, 0.9, T0)]),
                   gauge("DCGM_FI_DEV_FB_USED", [(m1, 5000, T0), (m2, 30000, T0)])])
    rows = gpu_rows(req)
    assert [(r["mig_profile"], r["mig_instance"], r["utilization"], r["memory_used_bytes"]) for r in rows] == [
        ("1g.10gb", "1", pytest.approx(0.2), 5000 * MIB),
        ("3g.40gb", "2", pytest.approx(0.9), 30000 * MIB),
    ]


def test_otel_hw_gpu():
    a = {"hw.id": "GPU-abc", "hw.model": "NVIDIA L4", "hw.type": "gpu"}
    req = metrics([
        gauge("hw.gpu.utilization", [({**a, "hw.gpu.task": "general"}, 0.75, T0),
                                     ({**a, "hw.gpu.task": "encoder"}, 0.05, T0)]),
        gauge("hw.gpu.memory.usage", [(a, 12 * 1024**3, T0)]),
        gauge("hw.gpu.memory.limit", [(a, 24 * 1024**3, T0)]),
        gauge("hw.power", [(a, 70.5, T0), ({"hw.id": "psu-1", "hw.type": "power_supply"}, 400.0, T0)]),
        counter("hw.energy", [(a, 9000.0, T0)]),
    ], resource={"host.name": "edge-3", "k8s.pod.name": "tgi-1", "k8s.namespace.name": "ml"})
    (row,) = gpu_rows(req)
    assert row["vocabulary"] == "otel_hw"
    assert (row["gpu_uuid"], row["gpu_model"], row["host"], row["k8s_pod"], row["k8s_namespace"]) == (
        "GPU-abc", "NVIDIA L4", "edge-3", "tgi-1", "ml")
    assert row["utilization"] == pytest.approx(0.75)  # the encoder's figure is not the device's
    assert (row["memory_used_bytes"], row["memory_total_bytes"]) == (12 * 1024**3, 24 * 1024**3)
    assert (row["power_w"], row["energy_j"]) == (pytest.approx(70.5), pytest.approx(9000.0))


def test_openlit_sdk_gpu_metrics():
    a = {"gpu_index": 1, "gpu_uuid": "GPU-lit", "gpu_name": "NVIDIA A10G", "telemetry.sdk.name": "openlit",
         "gen_ai.application_name": "bot"}
    req = metrics([
        gauge("gpu.utilization", [(a, 42.0, T0)]),
        gauge("gpu.memory.used", [(a, 2048.0, T0)]),
        gauge("gpu.memory.total", [(a, 24576.0, T0)]),
        gauge("gpu.power.draw", [(a, 150.0, T0)]),
        gauge("gpu.temperature", [(a, 55.0, T0)]),
    ], resource={"service.name": "bot", "telemetry.sdk.name": "openlit", "host.name": "h1"})
    (row,) = gpu_rows(req)
    assert row["vocabulary"] == "openlit"
    assert (row["gpu_uuid"], row["gpu_index"], row["gpu_model"], row["host"]) == ("GPU-lit", 1, "NVIDIA A10G", "h1")
    assert row["utilization"] == pytest.approx(0.42)
    assert (row["memory_used_bytes"], row["memory_total_bytes"]) == (2048 * MIB, 24576 * MIB)
    assert (row["power_w"], row["temperature_c"]) == (150.0, 55.0)


def test_openlit_collector_hw_names():
    a = {"hw.id": "GPU-x", "hw.model": "NVIDIA T4"}
    req = metrics([gauge("hw.gpu.utilization", [(a, 0.3, T0)]),
                   gauge("hw.gpu.power.draw", [(a, 33.0, T0)]),
                   counter("hw.gpu.energy.consumed", [(a, 1234.5, T0)])],
                  resource={"service.name": "otel-gpu-collector", "telemetry.sdk.name": "openlit"})
    (row,) = gpu_rows(req)
    assert row["vocabulary"] == "openlit"
    assert (row["utilization"], row["power_w"], row["energy_j"]) == (
        pytest.approx(0.3), pytest.approx(33.0), pytest.approx(1234.5))


def test_gpu_point_without_time_rejected_rest_kept():
    la = dcgm_labels(0)
    gpu, _ = normalize_metrics(metrics([gauge("DCGM_FI_DEV_GPU_UTIL", [(la, 50, 0), (la, 60, T0)])]), ctx())
    assert gpu.rejected == 1 and "DCGM_FI_DEV_GPU_UTIL" in gpu.errors[0] and "time_unix_nano 0" in gpu.errors[0]
    assert len(gpu.rows) == 1


# --- metric_points ----------------------------------------------------------------------------


def test_genai_histogram_into_metric_points():
    dp = metrics_pb2.HistogramDataPoint(
        attributes=kvs({"gen_ai.operation.name": "chat", "gen_ai.token.type": "input",
                        "gen_ai.request.model": "gpt-4o"}),
        start_time_unix_nano=T0 - 60_000_000_000, time_unix_nano=T0, count=3, sum=4200.0, min=100.0, max=3000.0,
        bucket_counts=[0, 1, 1, 1], explicit_bounds=[64.0, 512.0, 2048.0],
    )
    hist = metrics_pb2.Metric(name="gen_ai.client.token.usage", unit="{token}", histogram=metrics_pb2.Histogram(
        data_points=[dp], aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_DELTA))
    req = metrics([hist, gauge("vllm:num_requests_running", [({"model_name": "llama"}, 4, T0)]),
                   counter("tgi_request_count", [({}, 10, T0)]),
                   gauge("process.cpu.utilization", [({}, 0.5, T0)]),
                   gauge("http.server.active_requests", [({}, 2, T0), ({}, 3, T0)])],
                  resource={"service.name": "chat-api"})
    gpu, points = normalize_metrics(req, ctx())
    assert gpu.rows == [] and points.skipped == 3 and points.rejected == 0
    rows = [dict(zip(METRIC_COLUMNS, r)) for r in points.rows]
    h, g, c = rows
    assert (h["metric_name"], h["metric_type"], h["unit"], h["is_monotonic"]) == (
        "gen_ai.client.token.usage", "histogram", "{token}", None)
    assert (h["count"], h["sum"], h["min"], h["max"]) == (3, 4200.0, 100.0, 3000.0)
    assert h["bucket_counts"] == [0, 1, 1, 1] and h["explicit_bounds"] == [64.0, 512.0, 2048.0]
    assert h["time"] == datetime(2025, 11, 13, 2, 13, 20) and h["start_time"] == datetime(2025, 11, 13, 2, 12, 20)
    assert json.loads(h["attributes"])["gen_ai.token.type"] == "input"
    assert h["service_name"] == "chat-api" and json.loads(h["resource_attributes"]) == {"service.name": "chat-api"}
    assert (g["metric_name"], g["metric_type"], g["value"]) == ("vllm:num_requests_running", "gauge", 4.0)
    assert (c["metric_type"], c["is_monotonic"], c["value"]) == ("sum", True, 10.0)


def test_exponential_histogram_and_summary_as_count_sum():
    eh = metrics_pb2.Metric(name="gen_ai.server.request.duration", unit="s",
                            exponential_histogram=metrics_pb2.ExponentialHistogram(data_points=[
                                metrics_pb2.ExponentialHistogramDataPoint(time_unix_nano=T0, count=5, sum=2.5,
                                                                          scale=3, min=0.1, max=1.2)]))
    sm = metrics_pb2.Metric(name="vllm:e2e_request_latency_seconds", summary=metrics_pb2.Summary(data_points=[
        metrics_pb2.SummaryDataPoint(time_unix_nano=T0, count=7, sum=3.5)]))
    _, points = normalize_metrics(metrics([eh, sm]), ctx())
    rows = [dict(zip(METRIC_COLUMNS, r)) for r in points.rows]
    assert [(r["metric_type"], r["count"], r["sum"], r["bucket_counts"]) for r in rows] == [
        ("exponential_histogram", 5, 2.5, None), ("summary", 7, 3.5, None)]
    assert (rows[0]["min"], rows[0]["max"]) == (0.1, 1.2)


def test_genai_histograms_from_the_real_sdk_encoder():
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=Resource.create({"service.name": "chat-api"}), metric_readers=[reader])
    meter = provider.get_meter("genai")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    other = meter.create_counter("app.requests")
    for n in (120, 900, 40):
        usage.record(n, {"gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o"})
    duration.record(1.25, {"gen_ai.request.model": "gpt-4o"})
    other.add(1)
    req = encode_metrics(reader.get_metrics_data())
    provider.shutdown()
    gpu, points = normalize_metrics(req, ctx())
    rows = {r["metric_name"]: r for r in (dict(zip(METRIC_COLUMNS, r)) for r in points.rows)}
    assert set(rows) == {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"}
    assert points.skipped == 1 and gpu.rows == []
    u = rows["gen_ai.client.token.usage"]
    assert (u["metric_type"], u["count"], u["sum"], u["min"], u["max"]) == ("histogram", 3, 1060.0, 40.0, 900.0)
    assert sum(u["bucket_counts"]) == 3 and len(u["bucket_counts"]) == len(u["explicit_bounds"]) + 1
    assert rows["gen_ai.client.operation.duration"]["sum"] == pytest.approx(1.25)


def test_keep_metric_prefixes_configurable():
    req = metrics([gauge("nv_inference_count", [({}, 5, T0)]), gauge("vllm:num_requests_waiting", [({}, 1, T0)])])
    _, points = normalize_metrics(req, ctx(keep_metric_prefixes=["nv_inference_"]))
    assert [r[3] for r in points.rows] == ["nv_inference_count"] and points.skipped == 1
    with pytest.raises(ValueError, match="keep_metric_prefixes"):
        ctx(keep_metric_prefixes=[""])
