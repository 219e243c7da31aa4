"""The metric families /metrics reads from the warehouse: the core ones (spans, GPU, jobs,
alerts, warehouse) in `base`, those reading the analytics areas' tables in `areas`."""

from __future__ import annotations

from inferledger.dashboards.families.areas import AREA_FAMILIES
from inferledger.dashboards.families.base import CORE_FAMILIES, Family
from inferledger.dashboards.families.spend import SPEND_FAMILIES


def all_families() -> list[Family]:
    """Core families plus the ones reading other areas' tables (cost, SLO, drift, ...)."""
    return [*CORE_FAMILIES, *AREA_FAMILIES, *SPEND_FAMILIES]


__all__ = ["AREA_FAMILIES", "CORE_FAMILIES", "SPEND_FAMILIES", "Family", "all_families"]
