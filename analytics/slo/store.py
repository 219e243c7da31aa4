"""SQL of the SLO tables (definitions, state, history): the one place that writes them."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from inferledger.analytics.slo.engine import SLOState
from inferledger.analytics.slo.rollup import spec_hash
from inferledger.analytics.slo.spec import SLOSpec
from inferledger.analytics.warehouse import Warehouse

STATE_COLUMNS = (
    "slo_id", "service", "name", "sli_kind", "objective", "period", "evaluated_at", "error_ratios",
    "burn_rates", "window_events", "period_start", "period_bad", "period_total", "budget_remaining",
    "exhaustion_hours", "tiers", "page", "ticket",
)


def sync_definitions(wh: Warehouse, specs: list[SLOSpec], now: datetime) -> None:
    """Make `slo_definitions` the configured span SLOs; drop state and rollups of removed ones."""
    con = wh.con
    ids = [s.id for s in specs]
    for table in ("slo_definitions", "slo_state", "slo_rollup_watermarks", "slo_minute_rollups"):
        con.execute(f"DELETE FROM {table} WHERE NOT list_contains(?::VARCHAR[], slo_id)", [ids])
    for s in specs:
        con.execute(
            "INSERT OR REPLACE INTO slo_definitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [s.id, s.service, s.name, s.sli.kind, s.objective, s.period, spec_hash(s),
             json.dumps(asdict(s), default=str), now],
        )


def write_states(wh: Warehouse, states: list[SLOState], history_days: int = 7) -> None:
    con = wh.con
    marks = ", ".join("?" for _ in STATE_COLUMNS)
    for st in states:
        s = st.spec
        con.execute(
            f"INSERT OR REPLACE INTO slo_state ({', '.join(STATE_COLUMNS)}) VALUES ({marks})",
            [s.id, s.service, s.name, s.sli.kind, s.objective, s.period, st.evaluated_at, st.error_ratios,
             st.burn_rates, st.window_events, st.period_start, st.period_bad, st.period_total,
             st.budget_remaining, st.exhaustion_hours, st.tiers, st.page, st.ticket],
        )
        con.execute(
            "INSERT INTO slo_state_history VALUES (?, ?, ?, ?, ?, ?, ?)",
            [s.id, st.evaluated_at, st.burn("1h"), st.burn("6h"), st.budget_remaining, st.page, st.ticket],
        )
    if states:
        cutoff = states[0].evaluated_at - timedelta(days=history_days)
        con.execute("DELETE FROM slo_state_history WHERE evaluated_at < ?", [cutoff])


def read_states(wh: Warehouse) -> list[dict[str, Any]]:
    """Every SLO's latest state, as plain dicts (for the CLI and the admin API)."""
    cur = wh.con.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM slo_state ORDER BY service, name")
    return [dict(zip(STATE_COLUMNS, row)) for row in cur.fetchall()]


def read_history(wh: Warehouse, slo_id: str, since: datetime) -> list[tuple[datetime, float, float]]:
    """(evaluated_at, 1h burn rate, budget remaining) since `since`, oldest first."""
    return wh.con.execute(
        "SELECT evaluated_at, burn_rate_1h, budget_remaining FROM slo_state_history"
        " WHERE slo_id = ? AND evaluated_at >= ? ORDER BY evaluated_at",
        [slo_id, since],
    ).fetchall()
