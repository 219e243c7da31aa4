"""The demo fleet's FinOps settings: the GPU inventory its provider bills for, and a team budget.

The inventory is what `report reconcile` checks the GPU samples against, so a
newcomer sees the check pass on a fleet that reports all its GPUs. The spike
team's monthly budget is sized from what the warehouse holds after the backfill:
halfway between its month-to-date spend before the injected cost spike and after
it, so it is the spike that breaches the budget whatever day of the month the
demo runs on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from inferledger.demo.spec import FleetSpec


def fleet_pools(spec: FleetSpec, since: datetime) -> list[dict[str, Any]]:
    """One pool per GPU model of the fleet's nodes, counting every physical GPU (MIG-partitioned ones once)."""
    counts: dict[str, int] = {}
    for node in spec.gpu_nodes:
        counts[node.model_name] = counts.get(node.model_name, 0) + node.gpus
    return [{"name": f"demo-{_short(model)}".lower(), "gpu_model": _short(model), "count": n,
             "valid_from": since.isoformat()} for model, n in sorted(counts.items())]


def _short(model_name: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'H100': the word gpu_rates and pools match on."""
    words = [w for w in model_name.split() if w.upper() != "NVIDIA"]
    return words[0] if words else model_name


def demo_cost_config(spec: FleetSpec, since: datetime) -> dict[str, Any]:
    """Settings overrides for the demo's cost engine (load_settings / with_overrides).

    The cost spike sits hours before the end of the backfill, older than a live
    service would still alert on; the demo lets anomaly alerts reach back to it.
    """
    reach = int((spec.incidents.spike_hours_before_end + spec.incidents.spike_hours + 1) * 60)
    return {"analytics.cost.gpu_pools": fleet_pools(spec, since),
            "analytics.anomaly.alert_max_age_minutes": reach, "analytics.anomaly.resolve_after_minutes": reach}


def spike_budget(con, team: str, spike_start: datetime, spike_end: datetime, now: datetime) -> float | None:
    """A monthly budget for `team` that its month-to-date spend passes only because of the spike.

    Halfway between the month to date as it is and as it would be had the spike
    hours cost what the same hours cost the day before. None when the month holds
    no spend of the team (nothing to size it from).
    """
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    lo = spike_start.replace(minute=0, second=0, microsecond=0)
    hi = spike_end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    total, spike, day_before = con.execute(
        "SELECT coalesce(sum(cost) FILTER (WHERE hour >= ?), 0),"
        " coalesce(sum(cost) FILTER (WHERE hour >= ? AND hour < ?), 0),"
        " coalesce(sum(cost) FILTER (WHERE hour >= ? AND hour < ?), 0)"
        " FROM cost_rollup_hourly WHERE team = ? AND hour >= ? AND hour < ?",
        [month_start, lo, hi, lo - timedelta(days=1), hi - timedelta(days=1), team,
         min(month_start, lo - timedelta(days=1)), now],
    ).fetchone()
    total, excess = Decimal(total), Decimal(spike) - Decimal(day_before)
    if total <= 0:
        return None
    budget = total - excess / 2 if excess > 0 else total * Decimal("0.9")
    return float(budget.quantize(Decimal("0.01")))
