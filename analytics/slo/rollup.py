"""Per-minute good/total rollups of span SLIs, maintained incrementally.

Why re-aggregate whole minutes instead of adding deltas: a minute touched by newly
ingested spans is recounted from `spans`, so replays, late spans and overlapping
reads can never count a span twice (spans are unique by (tenant, trace_id, span_id)).
The watermark is on `ingested_at`, re-read with an overlap so a batch committed late
with an older ingested_at is still seen. A changed spec rebuilds its rollups.

Every SQL fragment here comes from constants (filter key -> column, op -> operator);
user values are bound parameters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime, timedelta

from inferledger.analytics.slo.spec import FILTER_COLUMNS, SLOSpec, SpanSLI
from inferledger.analytics.warehouse import Warehouse

OPERATORS = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
VALUE_COLUMN = {"latency": "duration_s", "ttft": "time_to_first_token_s"}


def spec_hash(spec: SLOSpec) -> str:
    """What the rollups depend on: the SLI (kind, threshold, op, filters)."""
    assert spec.sli is not None
    return hashlib.sha256(json.dumps(asdict(spec.sli), sort_keys=True).encode()).hexdigest()[:16]


# A request in an SLI: a model call, not workflow/agent/tool structure and not a second
# span reporting the same call (collector.dedupe links those through duplicate_of).
REQUEST_ROW = "is_inference IS NOT FALSE AND duplicate_of IS NULL"


def sli_sql(sli: SpanSLI) -> tuple[str, list, str, list]:
    """(where, where params, good condition, good params) for an SLI over `spans`."""
    where: list[str] = []
    params: list = []
    for key, values in sli.filters:
        marks = ", ".join("?" for _ in values)
        cols = FILTER_COLUMNS[key]
        where.append("(" + " OR ".join(f"{c} IN ({marks})" for c in cols) + ")")
        for _ in cols:
            params.extend(values)
    if sli.kind == "availability":
        return " AND ".join(where) or "TRUE", params, "NOT is_error", []
    col = VALUE_COLUMN[sli.kind]
    where.append(f"{col} IS NOT NULL")
    return " AND ".join(where), params, f"{col} {OPERATORS[sli.op]} ?", [sli.threshold_s]


def update_rollups(wh: Warehouse, spec: SLOSpec, now: datetime, *, overlap_seconds: int = 120,
                   retention_days: int = 35) -> int:
    """Fold spans ingested since the watermark into `slo_minute_rollups`; returns minutes rewritten."""
    con = wh.con
    h = spec_hash(spec)
    # fetchall, not fetchone: a half-read result blocks the next statement on this cursor
    rows = con.execute("SELECT spec_hash, ingested_through FROM slo_rollup_watermarks WHERE slo_id = ?",
                       [spec.id]).fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] != h:
        con.execute("DELETE FROM slo_minute_rollups WHERE slo_id = ?", [spec.id])
        watermark = None
    else:
        watermark = row[1]
    where, wparams, good, gparams = sli_sql(spec.sli)
    horizon = now - timedelta(days=retention_days)
    con.execute("BEGIN TRANSACTION")
    try:
        if watermark is None:
            new_mark = con.execute(
                f"SELECT max(ingested_at) FROM spans WHERE {where}", wparams).fetchall()[0][0]
            n = con.execute(
                f"""INSERT OR REPLACE INTO slo_minute_rollups
                    SELECT ?, date_trunc('minute', start_time) AS minute,
                           count(*) FILTER (WHERE {good}), count(*)
                    FROM spans WHERE {where} AND {REQUEST_ROW} AND start_time >= ?
                    GROUP BY 2""",
                [spec.id, *gparams, *wparams, horizon]).fetchall()[0]
        else:
            since = watermark - timedelta(seconds=overlap_seconds)
            touched = con.execute(
                f"""SELECT list(DISTINCT date_trunc('minute', start_time)), max(ingested_at),
                           min(start_time), max(start_time)
                    FROM spans WHERE {where} AND (ingested_at > ? OR deduped_at > ?) AND start_time >= ?""",
                [*wparams, since, since, horizon]).fetchall()[0]
            minutes, new_mark, lo, hi = touched
            n = None
            if minutes:
                n = con.execute(
                    f"""INSERT OR REPLACE INTO slo_minute_rollups
                        SELECT ?, date_trunc('minute', start_time) AS minute,
                               count(*) FILTER (WHERE {good}), count(*)
                        FROM spans
                        WHERE {where} AND {REQUEST_ROW} AND start_time >= ? AND start_time < ?
                          AND list_contains(?::TIMESTAMP[], date_trunc('minute', start_time))
                        GROUP BY 2""",
                    [spec.id, *gparams, *wparams, lo.replace(second=0, microsecond=0),
                     hi + timedelta(minutes=1), minutes]).fetchall()[0]
            new_mark = max(new_mark, watermark) if new_mark is not None else watermark
        con.execute("INSERT OR REPLACE INTO slo_rollup_watermarks VALUES (?, ?, ?)", [spec.id, h, new_mark])
        con.execute("DELETE FROM slo_minute_rollups WHERE slo_id = ? AND minute < ?", [spec.id, horizon])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return int(n[0]) if n else 0
