"""GPU reconciliation: the inventory a provider bills for against what the samples saw and what was allocated.

Per pool (`gpu_pools` in the cost settings) and month: GPU-hours expected (count x
the pool's hours in the month so far), observed (the time the samples stand for),
allocated to workloads, idle, and uncovered (expected minus observed: GPUs that
never reported, or gaps in their series); and the bill (`gpu_bills`, else expected
x rate) next to the cost allocated. Coverage under 95 % is a warning: cost the
samples did not see is cost no team is shown. GPUs that match no pool are listed
under "(no inventory)" so nothing observed disappears from the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from inferledger.analytics.cost.gpu import rate_for
from inferledger.analytics.cost.pricing import MAX_TIME, MIN_TIME
from inferledger.analytics.cost.settings import CostSettings, GpuPool, parse_when
from inferledger.analytics.warehouse import Warehouse, utcnow

COVERAGE_WARNING = 0.95
NO_POOL = "(no inventory)"


@dataclass
class PoolRow:
    pool: str
    gpu_model: str
    count: int
    rate: Decimal | None
    expected_h: float
    observed_h: float
    allocated_h: float
    idle_h: float
    uncovered_h: float
    gaps: int
    billed: Decimal | None
    bill_source: str          # bill | inventory | none
    allocated_cost: Decimal
    idle_cost: Decimal

    @property
    def coverage(self) -> float | None:
        return self.observed_h / self.expected_h if self.expected_h > 0 else None

    @property
    def warning(self) -> str | None:
        if self.pool == NO_POOL:
            return "GPUs observed that no gpu_pools entry lists" if self.observed_h > 0 else None
        cov = self.coverage
        if cov is None:
            return None
        if cov < COVERAGE_WARNING:
            return f"coverage {cov:.1%} is under {COVERAGE_WARNING:.0%}: {self.uncovered_h:,.1f} GPU-hours unobserved"
        return None

    def as_dict(self) -> dict:
        money = (lambda v: None if v is None else format(v, "f"))
        return {
            "pool": self.pool, "gpu_model": self.gpu_model, "count": self.count, "rate_per_hour": money(self.rate),
            "expected_gpu_hours": round(self.expected_h, 3), "observed_gpu_hours": round(self.observed_h, 3),
            "allocated_gpu_hours": round(self.allocated_h, 3), "idle_gpu_hours": round(self.idle_h, 3),
            "uncovered_gpu_hours": round(self.uncovered_h, 3), "gaps": self.gaps,
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "billed": money(self.billed), "bill_source": self.bill_source,
            "allocated_cost": money(self.allocated_cost), "idle_cost": money(self.idle_cost),
            "difference": money(None if self.billed is None else self.billed - self.allocated_cost),
            "warning": self.warning,
        }


def pool_of(gpu_model: str | None, host: str | None, pools: list[GpuPool]) -> str:
    """The first pool whose gpu_model is a word of the device's model and whose host_regex matches."""
    for p in pools:
        if not gpu_model or not re.search(rf"(?<![A-Za-z0-9]){re.escape(p.gpu_model)}(?![A-Za-z0-9])", gpu_model, re.I):
            continue
        if p.host_regex and not re.fullmatch(p.host_regex, host or ""):
            continue
        return p.name
    return NO_POOL


def pool_hours(pool: GpuPool, start: datetime, end: datetime) -> float:
    """Hours of [start, end) inside the pool's [valid_from, valid_to)."""
    lo = max(start, parse_when(pool.valid_from, "valid_from") or MIN_TIME)
    hi = min(end, parse_when(pool.valid_to, "valid_to") or MAX_TIME)
    return max(0.0, (hi - lo).total_seconds() / 3600.0)


_DEVICES = """
SELECT host, gpu_model, sum(observed_s * gpu_share) / 3600, sum(gap_s * gpu_share) / 3600, sum(gaps)
FROM gpu_coverage WHERE hour >= ? AND hour < ? GROUP BY ALL
"""
_LINES = """
SELECT host, gpu_model, line_kind, sum(gpu_seconds * gpu_share) / 3600, sum(cost)
FROM gpu_allocations WHERE hour >= ? AND hour < ? GROUP BY ALL
"""


def reconcile(wh: Warehouse, settings: CostSettings, start: datetime, end: datetime,
              as_of: datetime | None = None) -> list[PoolRow]:
    """One row per configured pool (plus unlisted GPUs) for [start, end), counted up to `as_of`."""
    as_of = min(end, as_of or utcnow())
    pools = settings.gpu_pools
    acc: dict[str, dict] = {p.name: {"observed": 0.0, "gap": 0.0, "gaps": 0, "workload": 0.0, "idle": 0.0,
                                     "cost": Decimal(0), "idle_cost": Decimal(0), "models": set()} for p in pools}
    acc[NO_POOL] = {"observed": 0.0, "gap": 0.0, "gaps": 0, "workload": 0.0, "idle": 0.0,
                    "cost": Decimal(0), "idle_cost": Decimal(0), "models": set()}
    for host, model, observed, gap, gaps in wh.con.execute(_DEVICES, [start, end]).fetchall():
        a = acc[pool_of(model, host, pools)]
        a["observed"] += observed or 0.0
        a["gap"] += gap or 0.0
        a["gaps"] += int(gaps or 0)
        if model:
            a["models"].add(model)
    for host, model, kind, hours, cost in wh.con.execute(_LINES, [start, end]).fetchall():
        a = acc[pool_of(model, host, pools)]
        a["workload" if kind == "workload" else "idle"] += hours or 0.0
        a["cost"] += Decimal(cost or 0)
        if kind == "idle":
            a["idle_cost"] += Decimal(cost or 0)
    month = f"{start:%Y-%m}"
    bills = {b.pool: Decimal(repr(b.amount)) for b in settings.gpu_bills if b.month == month}
    config_rates = [(r.gpu_model, Decimal(repr(r.usd_per_hour)), parse_when(r.valid_from, "valid_from") or MIN_TIME,
                     parse_when(r.valid_to, "valid_to") or MAX_TIME, "config") for r in settings.gpu_rates]
    out = []
    for p in pools:
        a = acc[p.name]
        expected = p.count * pool_hours(p, start, as_of)
        rate = Decimal(repr(p.usd_per_hour)) if p.usd_per_hour else rate_for(p.gpu_model, start, config_rates)
        if p.name in bills:
            billed, source = bills[p.name], "bill"
        elif rate is not None:
            billed, source = (rate * Decimal(repr(expected))).quantize(Decimal("0.01")), "inventory"
        else:
            billed, source = None, "none"
        out.append(PoolRow(p.name, p.gpu_model, p.count, rate, expected, a["observed"], a["workload"], a["idle"],
                           max(0.0, expected - a["observed"]), a["gaps"], billed, source, a["cost"], a["idle_cost"]))
    a = acc[NO_POOL]
    if a["observed"] > 0 or a["cost"] > 0:
        out.append(PoolRow(NO_POOL, ", ".join(sorted(a["models"])), 0, None, 0.0, a["observed"], a["workload"],
                           a["idle"], a["gap"], a["gaps"], None, "none", a["cost"], a["idle_cost"]))
    return out


def reconcile_month(wh: Warehouse, settings: CostSettings, month: str, as_of: datetime | None = None) -> dict:
    """The JSON-ready reconciliation of one month (YYYY-MM)."""
    from inferledger.analytics.cost.showback.build import parse_month

    start, end = parse_month(month)
    as_of = min(end, as_of or utcnow())
    rows = reconcile(wh, settings, start, end, as_of)
    warnings = [f"{r.pool}: {r.warning}" for r in rows if r.warning]
    if not settings.gpu_pools:
        warnings.insert(0, "no gpu_pools configured: nothing to reconcile against (set analytics.cost.gpu_pools)")
    return {"month": month, "as_of": as_of.isoformat(), "currency": settings.currency,
            "pools": [r.as_dict() for r in rows], "warnings": warnings, "ok": not warnings}
