"""The demo fleet's FinOps settings: the GPU inventory its provider bills for, and a team budget.

The inventory is what `report reconcile` checks the GPU samples against, so a
newcomer sees the check pass on a fleet that reports all its GPUs. The growth
team's budget is sized so that its injected cost spike pushes it over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inferledger.demo.spec import FleetSpec

# The growth team spends roughly $480 a day in the demo fleet at scale 1; a week of
# it, spike included, passes the top threshold of this monthly budget.
GROWTH_BUDGET_PER_DAY = 350.0


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


def demo_cost_config(spec: FleetSpec, since: datetime, days: float) -> dict[str, Any]:
    """Settings overrides for the demo's cost engine (load_settings / with_overrides)."""
    team = spec.incidents.spike_team
    return {
        "analytics.cost.gpu_pools": fleet_pools(spec, since),
        "analytics.cost.budgets": [{"team": team, "monthly": round(GROWTH_BUDGET_PER_DAY * max(days, 1.0), 2)}],
    }
