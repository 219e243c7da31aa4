"""Evaluate SLOs at an instant: window burn rates, tier flags, budget remaining, exhaustion.

Reads the minute rollups, lays the last three days out as dense (SLO x minute) arrays
for the numba kernels, and sums the budget period in SQL (a ratio of sums, not an
average of ratios). The minute containing `now` counts as the last bucket of every
window, like a Prometheus range ending now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from inferledger.analytics.kernels.burn_rate import (
    PAGE_BITS,
    TICKET_BITS,
    TIERS,
    WINDOW_NAMES,
    WINDOWS_MINUTES,
    error_ratios,
    tier_factors,
    tier_flags,
    window_sums_at_end,
)
from inferledger.analytics.slo.spec import SLOSpec
from inferledger.analytics.warehouse import Warehouse

TAIL_MINUTES = int(WINDOWS_MINUTES.max())


@dataclass
class SLOState:
    spec: SLOSpec
    evaluated_at: datetime
    error_ratios: list[float]
    burn_rates: list[float]
    window_events: list[int]
    period_start: datetime
    period_bad: int
    period_total: int
    budget_remaining: float
    exhaustion_hours: float | None
    tiers: list[str] = field(default_factory=list)
    page: bool = False
    ticket: bool = False

    def burn(self, window: str) -> float:
        return self.burn_rates[WINDOW_NAMES.index(window)]


def budget_remaining(period_bad: int, period_total: int, budget: float) -> float:
    """1 - consumed share of the error budget; 1 when nothing happened in the period."""
    if period_total <= 0 or period_bad <= 0:
        return 1.0
    if budget <= 0:  # objective 100: any error exhausts the (empty) budget
        return 0.0
    return 1.0 - period_bad / (period_total * budget)  # the kernels' operation order


def burn_rates(ratios: np.ndarray, budget: float) -> np.ndarray:
    """error ratio / budget; with no budget (objective 100) any error burns infinitely fast."""
    if budget > 0:
        return ratios / budget
    return np.where(ratios > 0, np.inf, 0.0)


def exhaustion_hours(remaining: float, burn_rate: float, period_hours: float) -> float | None:
    """Hours until the budget is gone at `burn_rate` (1 spends the whole budget in one period).

    None when not burning; 0 when already exhausted.
    """
    if remaining <= 0:
        return 0.0
    if burn_rate <= 0:
        return None
    return remaining * period_hours / burn_rate


def dense_tail(wh: Warehouse, slo_ids: list[str], end_minute: datetime, minutes: int = TAIL_MINUTES):
    """(bad, total) int64 arrays of shape (len(slo_ids), minutes), last column = end_minute."""
    bad = np.zeros((len(slo_ids), minutes), dtype=np.int64)
    total = np.zeros((len(slo_ids), minutes), dtype=np.int64)
    if not slo_ids:
        return bad, total
    start = end_minute - timedelta(minutes=minutes - 1)
    res = wh.con.execute(
        """SELECT slo_id, CAST(datediff('minute', ?, minute) AS BIGINT) AS idx, good, total
           FROM slo_minute_rollups
           WHERE list_contains(?, slo_id) AND minute >= ? AND minute <= ?""",
        [start, slo_ids, start, end_minute],
    ).fetchnumpy()
    if len(res["idx"]):
        row_of = {s: i for i, s in enumerate(slo_ids)}
        rows = np.array([row_of[s] for s in res["slo_id"]], dtype=np.int64)
        idx = np.asarray(res["idx"], dtype=np.int64)
        good = np.asarray(res["good"], dtype=np.int64)
        tot = np.asarray(res["total"], dtype=np.int64)
        total[rows, idx] = tot
        bad[rows, idx] = tot - good
    return bad, total


def timeslice_events(specs: list[SLOSpec], bad: np.ndarray, total: np.ndarray) -> None:
    """Turn the rows of Timeslices SLOs into one event per minute with traffic, in place.

    A minute is a bad slice when good < target * total; minutes without traffic are no
    slice at all (no data is neither good nor bad). The same comparison as the SQL of
    `_period_sums`, so windows and period agree.
    """
    for i, spec in enumerate(specs):
        if spec.timeslice_target is None:
            continue
        tot = total[i].copy()
        has = tot > 0
        bad[i] = (has & ((tot - bad[i]) < spec.timeslice_target * tot)).astype(np.int64)
        total[i] = has.astype(np.int64)


def _period_sums(wh: Warehouse, starts: dict[str, datetime], end_minute: datetime,
                 targets: dict[str, float | None] | None = None) -> dict[str, tuple[int, int]]:
    """(bad, total) events of each SLO over its period, in one query for all SLOs (minutes for Timeslices)."""
    if not starts:
        return {}
    targets = targets or {}
    rows = wh.con.execute(
        """SELECT r.slo_id,
                  coalesce(sum(CASE WHEN p.target IS NULL THEN r.total - r.good
                                    WHEN r.total > 0 AND r.good < p.target * r.total THEN 1 ELSE 0 END), 0),
                  coalesce(sum(CASE WHEN p.target IS NULL THEN r.total WHEN r.total > 0 THEN 1 ELSE 0 END), 0)
           FROM slo_minute_rollups r
           JOIN (SELECT unnest(?::VARCHAR[]) AS slo_id, unnest(?::TIMESTAMP[]) AS period_start,
                        unnest(?::DOUBLE[]) AS target) p USING (slo_id)
           WHERE r.minute >= p.period_start AND r.minute <= ?
           GROUP BY r.slo_id""",
        [list(starts), list(starts.values()), [targets.get(k) for k in starts], end_minute],
    ).fetchall()  # fetchall: never leave a half-read result on the shared cursor
    return {slo_id: (bad, total) for slo_id, bad, total in rows}


def evaluate(wh: Warehouse, specs: list[SLOSpec], now: datetime) -> list[SLOState]:
    """The state of every span SLO at `now`."""
    specs = [s for s in specs if s.sli is not None]
    end_minute = now.replace(second=0, microsecond=0)
    ids = [s.id for s in specs]
    bad, total = dense_tail(wh, ids, end_minute)
    timeslice_events(specs, bad, total)
    bsum, tsum = window_sums_at_end(bad, total, WINDOWS_MINUTES)
    ratios = error_ratios(bsum, tsum)
    budgets = np.array([s.error_budget for s in specs], dtype=np.float64)
    thresholds = np.array([tier_factors(s.period_days(now) * 24) for s in specs]).reshape(len(specs), len(TIERS))
    thresholds = thresholds * budgets[:, None]
    flags = tier_flags(ratios, thresholds) if specs else np.zeros(0, dtype=np.uint8)
    period = _period_sums(wh, {s.id: s.period_start(now) for s in specs}, end_minute,
                          {s.id: s.timeslice_target for s in specs})
    states = []
    for i, spec in enumerate(specs):
        start = spec.period_start(now)
        pb, pt = period.get(spec.id, (0, 0))
        remaining = budget_remaining(int(pb), int(pt), spec.error_budget)
        burns = burn_rates(ratios[i], spec.error_budget).tolist()
        f = int(flags[i])
        states.append(SLOState(
            spec=spec, evaluated_at=now, error_ratios=ratios[i].tolist(), burn_rates=burns,
            window_events=tsum[i].tolist(), period_start=start, period_bad=int(pb), period_total=int(pt),
            budget_remaining=remaining,
            exhaustion_hours=exhaustion_hours(remaining, burns[WINDOW_NAMES.index("1h")],
                                              spec.period_days(now) * 24),
            tiers=[TIERS[q][0] for q in range(len(TIERS)) if f & (1 << q)],
            page=bool(f & PAGE_BITS), ticket=bool(f & TICKET_BITS),
        ))
    return states
