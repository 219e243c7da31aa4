"""The `ingest_unmapped_keys` table: attribute keys of inference-looking spans no vocabulary maps.

It tells an operator which instrumentation InferLedger does not read yet, so
nothing inference-related disappears silently. The counting is off the hot path:
requests add to an in-memory `UnmappedCounter` (capped per request and in total),
and the writer flushes it in one bulk statement outside the transaction of the
data, so a span with 100k odd keys cannot hold up anyone's commit.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pyarrow as pa

UPSERT = """
INSERT INTO ingest_unmapped_keys VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, scope_name, scope_version, key)
DO UPDATE SET spans = spans + excluded.spans, last_seen = excluded.last_seen
"""
_BULK_UPSERT = """
INSERT INTO ingest_unmapped_keys SELECT tenant, scope_name, scope_version, key, spans, last_seen FROM _unmapped
ON CONFLICT (tenant, scope_name, scope_version, key)
DO UPDATE SET spans = spans + excluded.spans, last_seen = excluded.last_seen
"""
_SCHEMA = pa.schema([("tenant", pa.string()), ("scope_name", pa.string()), ("scope_version", pa.string()),
                     ("key", pa.string()), ("spans", pa.int64()), ("last_seen", pa.timestamp("us"))])


def scoped(key: str | tuple) -> tuple[str, str, str]:
    """A counted key as (scope name, scope version, key pattern); a bare key has scope ''."""
    if isinstance(key, str):
        return ("", "", key)
    return key


def _entry(k: tuple) -> tuple[str, str, str, str]:
    """(tenant, key) or (tenant, scope, version, key) -> (tenant, scope, version, key)."""
    return (k[0], "", "", k[1]) if len(k) == 2 else k


def upsert_unmapped(con, counts: Counter, now: datetime) -> None:
    """`counts` is keyed by (tenant, scope name, scope version, key), or (tenant, key) for an
    unknown scope; one bulk statement however many keys."""
    if not counts:
        return
    items = [(_entry(k), n) for k, n in counts.items()]
    table = pa.table({
        "tenant": [e[0] for e, _n in items], "scope_name": [e[1] for e, _n in items],
        "scope_version": [e[2] for e, _n in items], "key": [e[3] for e, _n in items],
        "spans": [n for _, n in items], "last_seen": [now] * len(items),
    }, schema=_SCHEMA)
    con.register("_unmapped", table)
    try:
        con.execute(_BULK_UPSERT)
    finally:
        con.unregister("_unmapped")


class UnmappedCounter:
    """Pending unmapped-key counts, keyed by (tenant, scope, scope version, key), bounded by
    `max_keys` distinct entries.

    Thread-safe: receivers add, the writer thread drains. Keys of a request beyond
    `per_request` (its most frequent ones are kept) and new keys beyond `max_keys`
    (pending plus already stored) are dropped and counted in `dropped`.
    """

    def __init__(self, per_request: int = 256, max_keys: int = 10_000) -> None:
        self.per_request = per_request
        self.max_keys = max_keys
        self.stored: int | None = None  # rows of ingest_unmapped_keys, as last seen by the writer
        self.dropped = 0
        self._pending: Counter = Counter()
        self._lock = threading.Lock()
        # Held from draining the pending counts until their transaction ends, and by `settled`
        # readers: a drained count is in neither place while its upsert is uncommitted.
        self._flush_lock = threading.Lock()

    def add(self, tenant: str, counts: Counter) -> None:
        if not counts:
            return
        keep = counts.most_common(self.per_request) if len(counts) > self.per_request else counts.items()
        with self._lock:
            self.dropped += max(0, len(counts) - self.per_request)
            room = self.max_keys - (self.stored or 0) - len(self._pending)
            for key, n in keep:
                k = (tenant, *scoped(key))
                if k in self._pending:
                    self._pending[k] += n
                elif room > 0:
                    self._pending[k] = n
                    room -= 1
                else:
                    self.dropped += 1

    def drain(self) -> Counter:
        with self._lock:
            out, self._pending = self._pending, Counter()
        return out

    def snapshot(self) -> Counter:
        with self._lock:
            return Counter(self._pending)

    @contextmanager
    def settled(self) -> Iterator[Counter]:
        """The pending counts, with no flush in progress until the block ends: the table read
        inside the block and these counts hold every count exactly once."""
        with self._flush_lock:
            yield self.snapshot()

    def flush(self, con, now: datetime) -> int:
        """Write the pending counts in one transaction of their own; returns the keys written."""
        with self._flush_lock:
            return self._flush(con, now)

    def _flush(self, con, now: datetime) -> int:
        pending = self.drain()
        if not pending and self.stored is not None:
            return 0
        if pending:
            con.execute("BEGIN TRANSACTION")
            try:
                upsert_unmapped(con, pending, now)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        self.stored = con.execute("SELECT count(*) FROM ingest_unmapped_keys").fetchone()[0]
        return len(pending)


def top_unmapped_keys(con, limit: int = 20, tenant: str | None = None, pending: Counter | None = None,
                      scope: str | None = None) -> list[dict]:
    """The most frequent unmapped keys per tenant and instrumentation scope (name, version);
    `pending` (not yet flushed counts) is added in. `scope` keeps the scopes whose name starts with it."""
    rows = con.execute(
        "SELECT tenant, scope_name, scope_version, key, spans, last_seen FROM ingest_unmapped_keys"
        " WHERE (? IS NULL OR tenant = ?) AND (? IS NULL OR starts_with(scope_name, ?))",
        [tenant, tenant, scope, scope],
    ).fetchall()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    merged: dict[tuple[str, str, str, str], list] = {(t, s, v, k): [n, ls.isoformat()] for t, s, v, k, n, ls in rows}
    for key, n in (pending or {}).items():
        e = _entry(key)
        if (tenant is None or e[0] == tenant) and (scope is None or e[1].startswith(scope)):
            merged.setdefault(e, [0, now])[0] += n
    ordered = sorted(merged.items(), key=lambda item: (-item[1][0], item[0][3], item[0][1], item[0][2]))[:limit]
    return [{"tenant": t, "scope": s, "scope_version": v, "key": k, "spans": n, "last_seen": ls}
            for (t, s, v, k), (n, ls) in ordered]


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
