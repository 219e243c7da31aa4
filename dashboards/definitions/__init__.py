"""InferLedger's Grafana dashboards as code (grafana-foundation-sdk builders).

`build_all()` is the single source: `inferledger grafana export`, the push and the
checked-in JSON under dashboards/json/ all come from it.
"""

from __future__ import annotations

from typing import Any, Callable

from dashboards.definitions.board import Board
from dashboards.definitions.cost import cost_overview, team_showback, unit_economics
from dashboards.definitions.fleet import gpu_fleet, pipeline_health
from dashboards.definitions.quality import anomalies, drift, slo_budgets

BOARDS: tuple[Callable[[], Board], ...] = (
    cost_overview, team_showback, unit_economics, slo_budgets, drift, anomalies, gpu_fleet, pipeline_health,
)


def build_boards() -> list[Board]:
    return [make() for make in BOARDS]


def build_all() -> dict[str, dict[str, Any]]:
    """uid -> dashboard JSON model, in a fixed order."""
    return {b.uid: b.build() for b in build_boards()}
