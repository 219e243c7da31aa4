"""Reads of the `anomalies` table (the job writes it; the CLI and admin API read it)."""

from __future__ import annotations

from datetime import datetime

from inferledger.analytics.warehouse import Warehouse

COLUMNS = ("series_key", "metric", "unit", "labels", "bucket_start", "bucket_seconds", "observed", "expected",
           "score", "kind", "moved_dimension", "moved_value", "moved_observed", "moved_expected", "moved_share",
           "detected_at")


def recent_anomalies(wh: Warehouse, since: datetime, limit: int = 500) -> list[dict]:
    rows = wh.con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM anomalies WHERE bucket_start >= ? ORDER BY bucket_start DESC, series_key"
        " LIMIT ?", [since, limit]).fetchall()
    return [dict(zip(COLUMNS, r)) for r in rows]
