"""The `ingest_unmapped_keys` table: attribute keys of inference-looking spans no vocabulary maps.

It tells an operator which instrumentation InferLedger does not read yet, so
nothing inference-related disappears silently.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

UPSERT = """
INSERT INTO ingest_unmapped_keys VALUES (?, ?, ?, ?)
ON CONFLICT (tenant, key) DO UPDATE SET spans = spans + excluded.spans, last_seen = excluded.last_seen
"""


def upsert_unmapped(con, counts: Counter, now: datetime) -> None:
    """`counts` is keyed by (tenant, key)."""
    if counts:
        con.executemany(UPSERT, [[tenant, key, n, now] for (tenant, key), n in counts.items()])


def top_unmapped_keys(con, limit: int = 20, tenant: str | None = None) -> list[dict]:
    rows = con.execute(
        "SELECT tenant, key, spans, last_seen FROM ingest_unmapped_keys"
        " WHERE ? IS NULL OR tenant = ? ORDER BY spans DESC, key LIMIT ?",
        [tenant, tenant, limit],
    ).fetchall()
    return [{"tenant": t, "key": k, "spans": n, "last_seen": ls.isoformat()} for t, k, n, ls in rows]


def spans_by_scope(con, tenant: str | None = None) -> list[dict]:
    """Stored spans per instrumentation scope (library), its version and the vocabulary read:
    how many became inference rows, workflow/agent structure, or duplicates of a call already counted."""
    rows = con.execute(
        "SELECT coalesce(scope_name, ''), coalesce(scope_version, ''), vocabulary, count(*),"
        " count(*) FILTER (WHERE is_inference IS NOT FALSE AND duplicate_of IS NULL),"
        " count(*) FILTER (WHERE is_inference IS FALSE), count(*) FILTER (WHERE duplicate_of IS NOT NULL),"
        " max(ingested_at)"
        " FROM spans WHERE ? IS NULL OR tenant = ? GROUP BY ALL ORDER BY 4 DESC, 1, 2, 3",
        [tenant, tenant],
    ).fetchall()
    return [{"scope": s, "scope_version": v, "vocabulary": voc, "spans": n, "inference": i, "structure": st,
             "duplicates": d, "last_seen": ls.isoformat()} for s, v, voc, n, i, st, d, ls in rows]
