"""GPU cost allocation: sums to the bill exactly, idle apart or spread, MIG shares, team attribution."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from inferledger.analytics.cost.gpu import allocate_window, mig_share, rate_for
from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.largest_remainder import largest_remainder, largest_remainder_frame
from inferledger.analytics.cost.settings import CostSettings, GpuRate
from inferledger.analytics.cost.unit_economics import unit_costs
from tests.factories import insert_gpu_samples, insert_spans, span_row

T0 = datetime(2026, 10, 1, 12)
H100 = "NVIDIA H100 80GB HBM3"


def samples(gpu: str, pod: str | None, util: float, *, step_s: int = 15, n: int = 240, start=T0, **kw) -> list[dict]:
    return [dict(time=start + timedelta(seconds=step_s * i), host="node-1", gpu_uuid=gpu, gpu_index=0,
                 gpu_model=H100, k8s_namespace="llm" if pod else None, k8s_pod=pod, utilization=util, **kw)
            for i in range(n)]


def alloc(wh, **kw) -> list[tuple]:
    return wh.con.execute(
        "SELECT gpu_uuid, line_kind, k8s_pod, gpu_seconds, cost FROM gpu_allocations ORDER BY gpu_uuid, line_kind, k8s_pod"
    ).fetchall()


def test_largest_remainder_sums_exactly_and_is_proportional():
    parts = largest_remainder(100, np.array([1.0, 1.0, 1.0]))
    assert parts.sum() == 100 and sorted(parts.tolist()) == [33, 33, 34]
    assert largest_remainder(7, np.array([0.0, 0.0])).tolist() == [4, 3]
    rng = np.random.default_rng(3)
    for _ in range(200):
        w = rng.random(rng.integers(1, 9))
        total = int(rng.integers(0, 10_000_000))
        p = largest_remainder(total, w)
        assert p.sum() == total and (np.abs(p - total * w / w.sum()) < 1).all()


def test_frame_version_equals_reference_group_by_group():
    rng = np.random.default_rng(5)
    rows = []
    for g in range(300):
        total = int(rng.integers(0, 5_000_000))
        for _ in range(int(rng.integers(1, 6))):
            rows.append({"g": g, "total": total, "w": float(rng.random() * (rng.random() > 0.2))})
    df = largest_remainder_frame(pl.DataFrame(rows), ["g"], "total", "w", "part")
    for (g,), grp in df.group_by(["g"], maintain_order=True):
        ref = largest_remainder(int(grp["total"][0]), grp["w"].to_numpy())
        assert grp["part"].to_list() == ref.tolist()


def test_one_gpu_half_busy_splits_bill_into_workload_and_idle(warehouse):
    insert_gpu_samples(warehouse, samples("GPU-1", "vllm-a", 0.5))
    allocate_window(warehouse, CostSettings(), T0, T0 + timedelta(hours=1))
    # one full hour at the default H100 rate 2.99: 1.495 used, 1.495 idle
    assert alloc(warehouse) == [("GPU-1", "idle", None, 1800.0, Decimal("1.495")),
                                ("GPU-1", "workload", "vllm-a", 1800.0, Decimal("1.495"))]


def test_allocations_sum_exactly_to_the_bill_with_awkward_shares(warehouse):
    rows = []
    for i, util in enumerate([0.13, 0.29, 0.07]):
        rows += samples("GPU-1", f"pod-{i}", util)  # three pods time-sharing one GPU
    insert_gpu_samples(warehouse, rows)
    s = CostSettings(gpu_rates=[GpuRate("H100", 3.0)])
    allocate_window(warehouse, s, T0, T0 + timedelta(hours=1))
    lines = alloc(warehouse)
    assert sum(r[4] for r in lines) == Decimal("3.000000")
    used = {r[2]: r[3] for r in lines if r[1] == "workload"}
    # each timestamp's time is shared by the three pods reporting it
    assert used["pod-1"] == pytest.approx(3600 * 0.29 / 3)
    team_total = warehouse.con.execute("SELECT sum(cost) FROM gpu_team_costs").fetchone()[0]
    assert team_total == Decimal("3.000000")


def test_spread_idle_leaves_no_idle_line_and_keeps_the_total(warehouse):
    insert_gpu_samples(warehouse, samples("GPU-1", "a", 0.6) + samples("GPU-2", "b", 0.2))
    allocate_window(warehouse, CostSettings(spread_idle=True), T0, T0 + timedelta(hours=1))
    lines = alloc(warehouse)
    assert {r[1] for r in lines} == {"workload"}
    assert [r[4] for r in lines] == [Decimal("2.99"), Decimal("2.99")]


def test_mig_slices_count_as_their_share(warehouse):
    insert_gpu_samples(warehouse, samples("GPU-1", "small", 1.0, mig_profile="1g.10gb", mig_instance="7")
                       + samples("GPU-1", "big", 1.0, mig_profile="3g.40gb", mig_instance="1"))
    allocate_window(warehouse, CostSettings(gpu_rates=[GpuRate("H100", 7.0)]), T0, T0 + timedelta(hours=1))
    got = {r[2]: r[4] for r in alloc(warehouse) if r[1] == "workload"}
    assert got == {"small": Decimal("1"), "big": Decimal("3")}
    assert mig_share("3g.40gb") == pytest.approx(3 / 7) and mig_share(None) == 1.0
    with pytest.raises(ValueError, match="MIG profile"):
        mig_share("weird")


def test_rates_are_effective_dated_and_match_the_model_name():
    rates = [("H100", Decimal("2"), datetime(1970, 1, 1), datetime(2026, 10, 15), "config"),
             ("H100", Decimal("3"), datetime(2026, 10, 15), datetime(9999, 1, 1), "config"),
             ("H100 NVL", Decimal("4"), datetime(1970, 1, 1), datetime(9999, 1, 1), "config")]
    assert rate_for(H100, datetime(2026, 10, 1), rates) == 2
    assert rate_for(H100, datetime(2026, 10, 20), rates) == 3
    assert rate_for("NVIDIA H100 NVL", datetime(2026, 10, 20), rates) == 4
    assert rate_for("NVIDIA H1000", datetime(2026, 10, 20), rates) is None


def test_sample_gaps_longer_than_the_learned_interval_are_not_billed(warehouse):
    # every 60 s for 20 minutes, silent for 30, then 10 more minutes: the silence is a coverage gap
    rows = samples("GPU-1", "a", 1.0, step_s=60, n=20) + samples("GPU-1", "a", 1.0, step_s=60, n=10,
                                                                   start=T0 + timedelta(minutes=50))
    insert_gpu_samples(warehouse, rows)
    allocate_window(warehouse, CostSettings(gpu_rates=[GpuRate("H100", 3.6)]), T0, T0 + timedelta(hours=1))
    assert sum(r[4] for r in alloc(warehouse)) == Decimal("1.8")  # 30 sampled minutes * 3.6 / 60


@pytest.mark.slow
def test_self_hosted_unit_cost_follows_spans_on_the_pod(warehouse):
    insert_gpu_samples(warehouse, samples("GPU-1", "vllm-a", 1.0))
    spans = [span_row(T0 + timedelta(minutes=i), provider="vllm", request_model="llama-3-8b", response_model=None,
                      k8s_pod="vllm-a", team="search" if i % 4 else "ads", input_tokens=900, output_tokens=100)
             for i in range(40)]
    insert_spans(warehouse, spans)
    update_costs(warehouse, CostSettings(gpu_rates=[GpuRate("H100", 4.0)]), T0 + timedelta(hours=2))
    by_team = {r["key"]: r for r in unit_costs(warehouse, "team", T0, T0 + timedelta(hours=1))}
    assert by_team["search"]["cost"] == Decimal("3") and by_team["ads"]["cost"] == Decimal("1")
    assert by_team["search"]["cost_per_1k_requests"] == Decimal("100")  # $3 over 30 requests
    assert by_team["search"]["cost_per_1m_tokens"] == Decimal("100")  # $3 over 30,000 tokens
    [m] = unit_costs(warehouse, "model", T0, T0 + timedelta(hours=1))
    assert m["key"] == "llama-3-8b" and m["cost"] == Decimal("4")
    model = warehouse.con.execute("SELECT DISTINCT model FROM gpu_allocations WHERE line_kind = 'workload'").fetchall()
    assert model == [("llama-3-8b",)]


def test_gpu_without_pod_spans_goes_to_its_namespace(warehouse):
    insert_gpu_samples(warehouse, samples("GPU-1", "batch-job", 0.25))
    allocate_window(warehouse, CostSettings(gpu_rates=[GpuRate("H100", 4.0)]), T0, T0 + timedelta(hours=1))
    rows = warehouse.con.execute("SELECT team, line_kind, cost FROM gpu_team_costs ORDER BY line_kind").fetchall()
    assert rows == [("llm", "idle", Decimal("3")), ("llm", "workload", Decimal("1"))]


def test_gpu_pod_matched_to_client_spans_by_service_name(warehouse):
    # the serving pod emits no spans; clients call its Service (named after the Deployment)
    insert_gpu_samples(warehouse, samples("GPU-1", "vllm-llama-3-1-70b-0", 1.0))
    spans = [span_row(T0 + timedelta(minutes=i), provider="vllm", request_model="meta-llama/Llama-3.1-70B-Instruct",
                      response_model=None, k8s_pod=f"chat-api-{i % 3}", team="search" if i % 2 else "ads",
                      server_address="vllm-llama-3-1-70b.inference.svc.cluster.local", input_tokens=100, output_tokens=0)
             for i in range(10)]
    insert_spans(warehouse, spans)
    allocate_window(warehouse, CostSettings(gpu_rates=[GpuRate("H100", 2.0)]), T0, T0 + timedelta(hours=1))
    rows = dict(warehouse.con.execute("SELECT team, sum(cost) FROM gpu_team_costs GROUP BY team").fetchall())
    assert rows == {"search": Decimal("1"), "ads": Decimal("1")}
    [(model,)] = warehouse.con.execute("SELECT DISTINCT model FROM gpu_allocations WHERE line_kind = 'workload'").fetchall()
    assert model == "meta-llama/Llama-3.1-70B-Instruct"
