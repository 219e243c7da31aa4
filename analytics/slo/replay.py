"""Replay: when did each SLO page or ticket over a past window, minute by minute?

The job only sees "now"; after a backfill (the demo) or an incident review, people ask
what the alerts would have done. Replay runs the full-series kernel over the minute
rollups and turns its per-minute tier flags into alert episodes (first minute, last
minute), with the same semantics as the job, so the answer matches what would have fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from inferledger.analytics.kernels.burn_rate import (
    PAGE_BITS,
    TICKET_BITS,
    TIER_LONG,
    TIER_SHORT,
    WINDOWS_MINUTES,
    evaluate_series,
    tier_factors,
)
from inferledger.analytics.slo.engine import dense_tail, timeslice_events
from inferledger.analytics.slo.spec import SLOSpec
from inferledger.analytics.warehouse import Warehouse


@dataclass
class Episode:
    severity: str  # page | ticket
    start: datetime  # first minute the condition held
    end: datetime  # first minute it no longer held (or the end of the replay)
    ongoing: bool = False  # still holding at the last minute replayed


@dataclass
class Replay:
    spec: SLOSpec
    minutes: list[datetime]
    budget_remaining: np.ndarray  # per minute of the replay window
    episodes: list[Episode] = field(default_factory=list)


def _episodes(mask: np.ndarray, start: datetime, severity: str) -> list[Episode]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [Episode(severity, start + timedelta(minutes=int(a)), start + timedelta(minutes=int(b)),
                    ongoing=int(b) == len(mask))
            for a, b in zip(starts, ends)]


def replay(wh: Warehouse, specs: list[SLOSpec], start: datetime, end: datetime) -> list[Replay]:
    """Alert episodes and budget remaining of every span SLO over [start, end).

    Calendar-month SLOs are replayed with a rolling period of the month's length (the
    kernel takes one period per SLO), which differs only in what "period" means for
    budget remaining, never in the alert tiers.
    """
    specs = [s for s in specs if s.sli is not None]
    first = start.replace(second=0, microsecond=0)
    last = end.replace(second=0, microsecond=0) - timedelta(minutes=1)
    span = int((last - first).total_seconds() // 60) + 1
    if span <= 0 or not specs:
        return []
    periods = np.array([s.period_days(start) * 1440 for s in specs], dtype=np.int64)
    lookback = int(max(periods.max(), WINDOWS_MINUTES.max()))
    bad, total = dense_tail(wh, [s.id for s in specs], last, span + lookback)
    timeslice_events(specs, bad, total)
    budget = np.array([s.error_budget for s in specs], dtype=np.float64)
    thresholds = np.stack([tier_factors(s.period_days(start) * 24) for s in specs]) * budget[:, None]
    flags, remaining = evaluate_series(bad, total, WINDOWS_MINUTES, TIER_SHORT, TIER_LONG,
                                       np.ascontiguousarray(thresholds), budget, periods)
    minutes = [first + timedelta(minutes=k) for k in range(span)]
    out = []
    for i, spec in enumerate(specs):
        f = flags[i, lookback:]
        eps = _episodes((f & PAGE_BITS) > 0, first, "page") + _episodes((f & TICKET_BITS) > 0, first, "ticket")
        out.append(Replay(spec, minutes, remaining[i, lookback:], sorted(eps, key=lambda e: e.start)))
    return out

