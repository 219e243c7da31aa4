"""Reads of the `anomalies` table (the job writes it; the CLI and admin API read it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from inferledger.analytics.warehouse import Warehouse

COLUMNS = ("series_key", "metric", "unit", "labels", "bucket_start", "bucket_seconds", "observed", "expected",
           "score", "kind", "moved_dimension", "moved_value", "moved_observed", "moved_expected", "moved_share",
           "detected_at")
KINDS = ("spike", "level_shift")


@dataclass(frozen=True)
class AnomalyFilter:
    """Which stored anomalies to list. A team or model matches the series' own label or the
    dimension that moved most (the total spend series explained by team=search is about search)."""

    since: datetime
    until: datetime | None = None
    series: str | None = None      # substring of the series key, e.g. 'spend_5m' or 'team="search"'
    team: str | None = None
    model: str | None = None
    kind: str | None = None        # spike | level_shift
    min_score: float | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.min_score is not None and not 0.0 <= self.min_score < 1.0:
            raise ValueError(f"min_score must be in [0, 1), got {self.min_score}")

    def sql(self) -> tuple[str, list]:
        where, params = ["bucket_start >= ?"], [self.since]
        if self.until is not None:
            where.append("bucket_start < ?")
            params.append(self.until)
        if self.series:
            where.append("strpos(series_key, ?) > 0")
            params.append(self.series)
        for dim in ("team", "model"):
            value = getattr(self, dim)
            if value:
                where.append(f"(json_extract_string(labels, '$.{dim}') = ? OR (moved_dimension = '{dim}' AND moved_value = ?))")
                params += [value, value]
        if self.kind:
            where.append("kind = ?")
            params.append(self.kind)
        if self.min_score is not None:
            where.append("score >= ?")
            params.append(self.min_score)
        return " AND ".join(where), params


FILTER_NAMES = tuple(f.name for f in fields(AnomalyFilter))


def recent_anomalies(wh: Warehouse, since: datetime | AnomalyFilter, limit: int = 500) -> list[dict]:
    flt = since if isinstance(since, AnomalyFilter) else AnomalyFilter(since)
    where, params = flt.sql()
    rows = wh.con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM anomalies WHERE {where} ORDER BY bucket_start DESC, series_key"
        " LIMIT ?", [*params, limit]).fetchall()
    return [dict(zip(COLUMNS, r)) for r in rows]


@dataclass
class StoredAlarm:
    """A stored anomaly row in the shape incident grouping reads."""

    row: dict

    @property
    def metric(self) -> str:
        return self.row["metric"]

    @property
    def labels(self) -> dict[str, str]:
        return json.loads(self.row["labels"]) if isinstance(self.row["labels"], str) else dict(self.row["labels"])

    @property
    def bucket_start(self) -> datetime:
        b = self.row["bucket_start"]
        return b if isinstance(b, datetime) else datetime.fromisoformat(str(b))

    @property
    def bucket_seconds(self) -> int:
        return int(self.row["bucket_seconds"])

    @property
    def score(self) -> float:
        return float(self.row["score"])

    @property
    def moved(self) -> tuple[str, str] | None:
        dim = self.row.get("moved_dimension")
        return None if dim is None else (dim, self.row.get("moved_value"))


def stored_movements(wh: Warehouse, since: datetime) -> dict[tuple[str, datetime], tuple]:
    """(series key, bucket start) -> (dimension, value, observed, expected, share) of the stored
    alarms since `since` that an explanation named a moved part for."""
    rows = wh.con.execute(
        "SELECT series_key, bucket_start, moved_dimension, moved_value, moved_observed, moved_expected, moved_share"
        " FROM anomalies WHERE bucket_start >= ? AND moved_dimension IS NOT NULL", [since]).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def incident_rows(rows: list[dict], gap_minutes: int) -> list[dict]:
    """Stored anomalies grouped as the job pages them: one row per incident, most unusual first."""
    from inferledger.analytics.anomaly.incidents import group_incidents

    out = []
    for inc in group_incidents([StoredAlarm(r) for r in rows], timedelta(minutes=gap_minutes)):
        top = inc.top.row
        moved = next((m.row for m in inc.members if m.row.get("moved_dimension")), None)
        out.append({"incident": inc.family, "scope": inc.scope, "start": inc.start, "end": inc.end,
                    "score": inc.score, "top_series": top["series_key"], "kind": top["kind"],
                    "observed": top["observed"], "expected": top["expected"],
                    "moved_dimension": moved["moved_dimension"] if moved else None,
                    "moved_value": moved["moved_value"] if moved else None,
                    "series": list(dict.fromkeys(m.row["series_key"] for m in inc.members)),
                    "alarms": len(inc.members)})
    return out


_INSERT = (
    "INSERT INTO anomalies (series_key, metric, unit, labels, bucket_start, bucket_seconds, observed,"
    " expected, score, kind, moved_dimension, moved_value, moved_observed, moved_expected, moved_share,"
    " detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def insert_anomalies(wh: Warehouse, found: list, detected_at: datetime) -> int:
    """Store new alarms (`analytics.anomaly.job.Found`) once each; a stored (series, bucket) is kept as it was."""
    if found:
        wh.con.executemany(_INSERT, [
            [f.series.key, f.series.metric, f.series.unit, f.series.labels_json, f.bucket_start,
             f.series.bucket_seconds, f.observed, f.expected, f.score, f.kind,
             *((f.movement.dimension, f.movement.value, f.movement.observed, f.movement.expected,
                f.movement.share) if f.movement else (None, None, None, None, None)),
             detected_at] for f in found])
    return len(found)
