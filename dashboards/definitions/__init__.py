"""InferLedger's Grafana dashboards as code (grafana-foundation-sdk builders).

`build_all()` is the single source: `inferledger grafana export`, the push and the
checked-in JSON under dashboards/json/ all come from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inferledger.dashboards.definitions.board import Board
from inferledger.dashboards.definitions.cost import cost_overview, team_showback, unit_economics
from inferledger.dashboards.definitions.fleet import gpu_fleet, pipeline_health
from inferledger.dashboards.definitions.quality import anomalies, drift, slo_budgets

BOARDS: tuple[Callable[[], Board], ...] = (
    cost_overview, team_showback, unit_economics, slo_budgets, drift, anomalies, gpu_fleet, pipeline_health,
)


def build_boards() -> list[Board]:
    return [make() for make in BOARDS]


def build_all() -> dict[str, dict[str, Any]]:
    """uid -> dashboard JSON model, in a fixed order."""
    return {b.uid: b.build() for b in build_boards()}
