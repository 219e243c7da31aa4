"""Event-time spend gauges: month to date on /metrics equals the showback of the month in progress."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings, GpuRate
from inferledger.analytics.cost.showback.build import build_showback
from inferledger.analytics.warehouse import utcnow
from inferledger.dashboards.exporter import register_warehouse_collector
from inferledger.dashboards.families.spend import windows
from inferledger.dashboards.settings import DashboardSettings
from tests.factories import insert_gpu_samples, insert_spans, span_row


def _samples(wh, name: str) -> list:
    registry = CollectorRegistry()
    register_warehouse_collector(wh, DashboardSettings(metrics_cache_seconds=0), registry)
    text = generate_latest(registry).decode()
    return [s for fam in text_string_to_metric_families(text) for s in fam.samples if s.name == name]


@pytest.mark.slow
def test_month_to_date_gauge_equals_the_showback_total(warehouse):
    now = utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = now - month_start
    times = [month_start + span * (i + 1) / 42 for i in range(40)]
    insert_spans(warehouse, [span_row(t, team=("search", "ads")[i % 2], tenant=("acme", "globex")[i % 2],
                                      request_model="gpt-4o", response_model="gpt-4o-2024-08-06",
                                      input_tokens=1000 + i, output_tokens=200) for i, t in enumerate(times)])
    # and last month, which must not count
    insert_spans(warehouse, [span_row(month_start - timedelta(hours=3), team="search", input_tokens=5000)])
    insert_gpu_samples(warehouse, [dict(time=t, host="n", gpu_uuid="G", gpu_index=0, gpu_model="NVIDIA H100",
                                        k8s_namespace="llm", k8s_pod="vllm-0", utilization=0.5)
                                   for t in times[-10:]])
    s = CostSettings(gpu_rates=[GpuRate("H100", 2.99)])
    update_costs(warehouse, s, now)
    sb = build_showback(warehouse, s, f"{now:%Y-%m}", None, now=now)
    assert sb.total > 0 and sb.as_of is not None
    mtd = [x for x in _samples(warehouse, "inferledger_spend_window_usd") if x.labels["window"] == "month_to_date"]
    assert sum(x.value for x in mtd) == pytest.approx(float(sb.total), rel=1e-9)
    assert {x.labels["cost_kind"] for x in mtd} == {"tokens", "gpu"}
    # one model label, the base model, and the dated version beside it; a tenant on every line
    tokens = [x for x in mtd if x.labels["cost_kind"] == "tokens"]
    assert {x.labels["model"] for x in tokens} == {"gpt-4o"}
    assert {x.labels["model_version"] for x in tokens} == {"gpt-4o-2024-08-06"}
    assert {x.labels["tenant"] for x in tokens} == {"acme", "globex"}
    # token spend carries its spans' environment, so the $environment variable filters cost too
    assert {x.labels["environment"] for x in tokens} == {"prod"}
    requests = _samples(warehouse, "inferledger_requests_total")
    assert {x.labels["model"] for x in requests} == {"gpt-4o"}


def test_windows_are_fixed_in_event_time():
    w = windows(datetime(2026, 12, 9, 14, 25))
    assert w["month_to_date"] == (datetime(2026, 12, 1), datetime(2026, 12, 9, 15))
    assert w["today"] == (datetime(2026, 12, 9), datetime(2026, 12, 9, 15))
    assert w["last_hour"] == (datetime(2026, 12, 9, 13), datetime(2026, 12, 9, 14))
