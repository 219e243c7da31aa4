"""GPU time does not depend on the scrape interval; gaps are reported; MIG GPUs are billed once; reconciliation."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from inferledger.analytics.cost.gpu import allocate_window
from inferledger.analytics.cost.reconcile import NO_POOL, reconcile_month
from inferledger.analytics.cost.settings import CostSettings, GpuBill, GpuPool, GpuRate
from inferledger.config import ConfigError, load_settings
from tests.factories import insert_gpu_samples

T0 = datetime(2026, 10, 5)
HOURS = 24
H100 = "NVIDIA H100 80GB HBM3"
RATE = 2.99
WHOLE_GPUS = 3  # plus one MIG-partitioned GPU: 4 GPUs of inventory


def fleet(step_s: float, *, seed: int = 1, hours: int = HOURS, start: datetime = T0) -> list[dict]:
    """Three whole GPUs and one GPU cut into two 3g.40gb slices, scraped every step_s with jitter.

    The MIG GPU also reports its parent series (power only, no utilisation), as dcgm-exporter does.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(int(hours * 3600 / step_s)):
        t = start + timedelta(seconds=i * step_s + rng.uniform(0, 0.2 * step_s))
        for g in range(WHOLE_GPUS):
            rows.append(dict(time=t, host="node-1", gpu_uuid=f"GPU-{g}", gpu_index=g, gpu_model=H100,
                             k8s_namespace="llm", k8s_pod=f"vllm-{g}", utilization=rng.uniform(0.2, 0.9)))
        rows.append(dict(time=t, host="node-1", gpu_uuid="GPU-MIG", gpu_index=3, gpu_model=H100, power_w=300.0))
        for inst in ("1", "2"):
            rows.append(dict(time=t, host="node-1", gpu_uuid="GPU-MIG", gpu_index=3, gpu_model=H100,
                             mig_profile="3g.40gb", mig_instance=inst, k8s_namespace="research",
                             k8s_pod=f"notebook-{inst}", utilization=rng.uniform(0.0, 0.6)))
    return rows


def settings(**kw) -> CostSettings:
    return CostSettings(gpu_rates=[GpuRate("H100", RATE)],
                        gpu_pools=[GpuPool("h100", "H100", WHOLE_GPUS + 1, valid_from=T0.isoformat(),
                                           valid_to=(T0 + timedelta(hours=HOURS)).isoformat())], **kw)


@pytest.mark.slow
@pytest.mark.parametrize("step_s", [15, 60, 600])
def test_gpu_cost_is_inventory_times_hours_times_rate_at_any_scrape_interval(warehouse, step_s):
    insert_gpu_samples(warehouse, fleet(step_s))
    s = settings()
    allocate_window(warehouse, s, T0, T0 + timedelta(hours=HOURS))
    cost = float(warehouse.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchone()[0])
    expected = (WHOLE_GPUS + 1) * HOURS * RATE  # what the provider bills for four GPUs
    assert cost == pytest.approx(expected, rel=0.01)
    # the MIG GPU once: two 3/7 slices plus the parent's unsliced 1/7, not a whole idle GPU on top
    mig = float(warehouse.con.execute("SELECT sum(cost) FROM gpu_allocations WHERE gpu_uuid = 'GPU-MIG'").fetchone()[0])
    assert mig == pytest.approx(HOURS * RATE, rel=0.01)
    shares = dict(warehouse.con.execute(
        "SELECT coalesce(mig_instance, 'parent'), max(gpu_share) FROM gpu_allocations WHERE gpu_uuid = 'GPU-MIG' GROUP BY 1"
    ).fetchall())
    assert shares == pytest.approx({"parent": 1 / 7, "1": 3 / 7, "2": 3 / 7})
    rec = reconcile_month(warehouse, s, "2026-10", as_of=T0 + timedelta(hours=HOURS))
    [pool] = rec["pools"]
    assert pool["expected_gpu_hours"] == (WHOLE_GPUS + 1) * HOURS
    assert pool["coverage"] == pytest.approx(1.0, abs=0.01) and pool["warning"] is None and rec["ok"]
    assert float(pool["allocated_cost"]) == pytest.approx(float(pool["billed"]), rel=0.01)
    assert pool["allocated_gpu_hours"] + pool["idle_gpu_hours"] == pytest.approx(pool["observed_gpu_hours"], rel=1e-6)


@pytest.mark.slow
def test_a_gap_is_counted_and_shown_unobserved_never_billed(warehouse):
    rows = [r for r in fleet(60, hours=4) if not (T0 + timedelta(hours=1) <= r["time"] < T0 + timedelta(hours=2)
                                                    and r["gpu_uuid"] == "GPU-0")]
    insert_gpu_samples(warehouse, rows)
    s = settings()
    allocate_window(warehouse, s, T0, T0 + timedelta(hours=4))
    gpu0 = float(warehouse.con.execute("SELECT sum(cost) FROM gpu_allocations WHERE gpu_uuid = 'GPU-0'").fetchone()[0])
    assert gpu0 == pytest.approx(3 * RATE, rel=0.01)  # the silent hour is not billed
    gaps, gap_s, interval = warehouse.con.execute(
        "SELECT sum(gaps), sum(gap_s), max(interval_s) FROM gpu_coverage WHERE gpu_uuid = 'GPU-0'").fetchone()
    assert gaps == 1 and gap_s == pytest.approx(3600, rel=0.02) and interval == pytest.approx(60, rel=0.1)
    [pool] = reconcile_month(warehouse, s, "2026-10", as_of=T0 + timedelta(hours=4))["pools"]
    assert pool["expected_gpu_hours"] == 16 and pool["gaps"] == 1
    assert pool["uncovered_gpu_hours"] == pytest.approx(1.0, abs=0.02)
    assert pool["warning"] and "coverage 93" in pool["warning"]


def test_a_gpu_scraped_every_half_hour_is_not_cut_to_a_fixed_cap(warehouse):
    insert_gpu_samples(warehouse, fleet(1800, hours=4))
    allocate_window(warehouse, settings(), T0, T0 + timedelta(hours=4))
    cost = float(warehouse.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchone()[0])
    assert cost == pytest.approx(4 * 4 * RATE, rel=0.01)


@pytest.mark.slow
def test_allocating_hour_by_hour_equals_allocating_the_day(warehouse):
    insert_gpu_samples(warehouse, fleet(600, hours=6))
    s = settings()
    allocate_window(warehouse, s, T0, T0 + timedelta(hours=6))
    whole = warehouse.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchone()[0]
    for h in range(6):
        allocate_window(warehouse, s, T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1))
    assert warehouse.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchone()[0] == whole


def test_bill_and_unlisted_gpus_in_the_reconciliation(warehouse):
    rows = fleet(600, hours=2)
    rows += [dict(r, gpu_uuid="GPU-L4", gpu_model="NVIDIA L4", host="node-2", mig_profile=None, mig_instance=None)
             for r in rows if r["gpu_uuid"] == "GPU-0"]
    insert_gpu_samples(warehouse, rows)
    s = CostSettings(gpu_rates=[GpuRate("H100", RATE), GpuRate("L4", 1.0)],
                     gpu_pools=[GpuPool("h100", "H100", 4, valid_from=T0.isoformat())],
                     gpu_bills=[GpuBill("h100", "2026-10", 30.0)])
    allocate_window(warehouse, s, T0, T0 + timedelta(hours=2))
    rec = reconcile_month(warehouse, s, "2026-10", as_of=T0 + timedelta(hours=2))
    by_pool = {p["pool"]: p for p in rec["pools"]}
    assert by_pool["h100"]["billed"] == "30.0" and by_pool["h100"]["bill_source"] == "bill"
    assert Decimal(by_pool["h100"]["difference"]) == Decimal("30.0") - Decimal(by_pool["h100"]["allocated_cost"])
    assert by_pool[NO_POOL]["observed_gpu_hours"] == pytest.approx(2, rel=0.01) and not rec["ok"]


def test_pool_and_bill_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="count"):
        load_settings(None, environ={}, overrides={"analytics.cost.gpu_pools": [{"name": "a", "gpu_model": "H100"}]})
    with pytest.raises(ConfigError, match="not one of gpu_pools"):
        load_settings(None, environ={}, overrides={"analytics.cost.gpu_bills": [{"pool": "x", "month": "2026-10"}]})
