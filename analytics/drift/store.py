"""All SQL on `drift_results` (migration 0300): writing a run, reading the latest one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inferledger.analytics.warehouse import Warehouse

if TYPE_CHECKING:
    from inferledger.analytics.drift.job import SegmentResult, Windows


def write_results(wh: Warehouse, run_at: datetime, win: "Windows", segments: "list[SegmentResult]") -> int:
    """One row per (segment, column) of this run."""
    rows = []
    for seg in segments:
        for r in seg.results:
            d = r.as_dict()
            rows.append([
                run_at, seg.tenant, json.dumps(seg.segment, sort_keys=True), seg.label, r.column, r.kind,
                d["method"], d["score"], d["threshold"], r.drifted, win.reference_start, win.reference_end,
                win.current_start, win.current_end, r.reference_rows, r.current_rows, r.detail or None,
            ])
    # a re-run for the same instant (`drift run --at T` twice) replaces that run
    wh.con.execute("DELETE FROM drift_results WHERE run_at = ?", [run_at])
    if rows:
        wh.con.executemany(
            "INSERT INTO drift_results (run_at, tenant, segment, segment_label, column_name, kind, method, score,"
            " threshold, drifted, reference_start, reference_end, current_start, current_end, reference_rows,"
            " current_rows, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)



def latest_results(wh: Warehouse, *, drifted_only: bool = False, trend: int = 0) -> list[dict[str, Any]]:
    """The rows of the most recent run (all tenants and segments).

    With `trend` > 0 each row also carries `trend`: its column's last `trend` scores, oldest first.
    """
    rows = wh.con.execute(
        "SELECT run_at, tenant, CAST(segment AS VARCHAR), segment_label, column_name, kind, method, score, threshold,"
        " drifted, current_start, current_end, reference_rows, current_rows, detail FROM drift_results"
        " WHERE run_at = (SELECT max(run_at) FROM drift_results) AND (drifted OR NOT ?)"
        " ORDER BY tenant, segment_label, column_name",
        [drifted_only],
    ).fetchall()
    names = ["run_at", "tenant", "segment", "segment_label", "column", "kind", "method", "score", "threshold",
             "drifted", "current_start", "current_end", "reference_rows", "current_rows", "detail"]
    history = score_history(wh, trend) if trend > 0 and rows else {}
    out = []
    for row in rows:
        d = dict(zip(names, row))
        if trend > 0:
            d["trend"] = history.get((d["tenant"], d["segment"], d["column"]), [])
        d["segment"] = json.loads(d["segment"])
        out.append(d)
    return out


def score_history(wh: Warehouse, limit: int = 24) -> dict[tuple[str, str, str], list[float | None]]:
    """The last `limit` scores of every (tenant, segment JSON, column), oldest first: trend lines."""
    rows = wh.con.execute(
        "SELECT tenant, segment, column_name, score FROM ("
        " SELECT tenant, CAST(segment AS VARCHAR) AS segment, column_name, score, run_at,"
        " row_number() OVER (PARTITION BY tenant, CAST(segment AS VARCHAR), column_name ORDER BY run_at DESC) AS rn"
        " FROM drift_results) WHERE rn <= ? ORDER BY run_at",
        [limit],
    ).fetchall()
    out: dict[tuple[str, str, str], list[float | None]] = {}
    for tenant, segment, column, score in rows:
        out.setdefault((tenant, segment, column), []).append(score)
    return out
