"""Which spans are already stored: an exact duplicate filter that replaces the spans primary key.

A primary key made DuckDB probe and grow an index for every appended row, which cost
more than the append itself. The writer instead asks this set, before appending, which
(tenant, trace_id, span_id) of a batch are stored already, and drops those rows.

The set holds 64-bit hashes of (tenant, trace_id, span_id) (collector.span_keys) with each span's
start time, in an open-addressing table of fixed size, so memory is bounded. It keeps a
watermark `W`: every stored span that starts at or after `W` is in the set. A span that
starts before `W` and is not in the set may still be stored, so those few (late or old
spans) are looked up in the warehouse. The answer is exact either way; only the cost
differs. When the table fills up, `W` rises to the median start time and the older half
is dropped. On start, the set is loaded from the newest stored spans, so a batch resent
after a restart is still dropped.

A hash collision (two different ids with the same 64-bit hash) would drop the second span;
at two million ids held the chance per span is about 1e-13.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from inferledger.collector.span_keys import STORED_KEYS_SQL, span_keys

EMPTY = np.uint64(0)
_NO_WATERMARK = np.iinfo(np.int64).min


@numba.njit(cache=True, _nrt=False)
def _slot(keys: np.ndarray, h: np.uint64) -> np.int64:
    mask = np.uint64(keys.size - 1)
    i = h & mask
    one = np.uint64(1)
    while keys[i] != 0 and keys[i] != h:
        i = (i + one) & mask
    return np.int64(i)


@numba.njit(cache=True)
def _seen_mask(keys: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """True where a hash is in `keys` or repeats an earlier hash of the same batch."""
    n = hashes.size
    out = np.zeros(n, dtype=np.bool_)
    size = 16
    while size < 2 * n:
        size *= 2
    local = np.zeros(size, dtype=np.uint64)
    for i in range(n):
        h = hashes[i]
        if keys[_slot(keys, h)] == h:
            out[i] = True
            continue
        j = _slot(local, h)
        if local[j] == h:
            out[i] = True
        else:
            local[j] = h
    return out


@numba.njit(cache=True, _nrt=False)
def _insert(keys: np.ndarray, starts: np.ndarray, hashes: np.ndarray, start_us: np.ndarray) -> int:
    added = 0
    for i in range(hashes.size):
        j = _slot(keys, hashes[i])
        if keys[j] == 0:
            keys[j] = hashes[i]
            starts[j] = start_us[i]
            added += 1
        elif start_us[i] > starts[j]:
            starts[j] = start_us[i]
    return added


@numba.njit(cache=True, _nrt=False)
def _keep_from(keys: np.ndarray, starts: np.ndarray, watermark: np.int64, new_keys: np.ndarray, new_starts: np.ndarray) -> int:
    kept = 0
    for i in range(keys.size):
        if keys[i] != 0 and starts[i] >= watermark:
            j = _slot(new_keys, keys[i])
            new_keys[j] = keys[i]
            new_starts[j] = starts[i]
            kept += 1
    return kept


class TimedKeySet:
    """A fixed-size hash set of 64-bit keys, each with its latest span start, that evicts the
    oldest half when full and keeps a watermark: every key recorded for a span starting at or
    after it is still held. For the writer thread only (not thread-safe)."""

    def __init__(self, capacity: int, minimum: int = 1) -> None:
        if capacity < minimum:
            raise ValueError(f"capacity must be >= {minimum}")
        self.capacity = capacity
        size = 16
        while size < 2 * capacity:
            size *= 2
        self._keys, self._starts = _table(size)
        self.count = 0
        self.watermark = _NO_WATERMARK

    @property
    def nbytes(self) -> int:
        return self._keys.nbytes + self._starts.nbytes

    def add(self, hashes: np.ndarray, starts: np.ndarray) -> None:
        """Record committed keys (call only after the commit: a rolled-back span is not stored)."""
        step = max(1, self.capacity // 2)
        for lo in range(0, hashes.size, step):  # a batch larger than the set goes in by halves
            h, s = hashes[lo:lo + step], starts[lo:lo + step]
            if self.count + h.size > self.capacity:
                self._evict(h.size)
            self.count += _insert(self._keys, self._starts, h, s)

    def _evict(self, incoming: int) -> None:
        occupied = self._starts[self._keys != 0]
        target = max(0, min(self.capacity // 2, self.capacity - incoming))
        if occupied.size <= target:
            return
        k = occupied.size - target  # drop the k oldest (and any that start at the same microsecond)
        cut = max(int(np.partition(occupied, k - 1)[k - 1]) + 1, self.watermark)
        new_keys, new_starts = _table(self._keys.size)
        self.count = _keep_from(self._keys, self._starts, np.int64(cut), new_keys, new_starts)
        self._keys, self._starts = new_keys, new_starts
        self.watermark = cut


class RecentIds(TimedKeySet):
    """Stored span ids; spans starting at or after the watermark are all in the set."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.warehouse_lookups = 0  # spans that had to be looked up in the warehouse (for telemetry/benchmarks)

    def load(self, con, lookback_hours: float, now_us: int) -> int:
        """Fill the set from the newest stored spans (at most `capacity`, started within the lookback)."""
        since = now_us - int(lookback_hours * 3600e6)
        stored = con.sql(
            STORED_KEYS_SQL + " WHERE start_time >= make_timestamp(?) ORDER BY start_time DESC LIMIT ?",
            params=[since, self.capacity],
        ).to_arrow_table()
        keys = span_keys(stored)
        hashes, starts = keys["h"], keys["s"]
        self._keys[:] = 0
        self.count = _insert(self._keys, self._starts, hashes, starts)
        # Cut short by the capacity: only spans after the oldest loaded start are all there.
        self.watermark = int(starts.min()) + 1 if hashes.size >= self.capacity else since
        return self.count

    def hashes(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """(hash, start µs) of each row of a spans Arrow table."""
        keys = span_keys(table)
        return keys["h"], keys["s"]

    def new_rows(
        self, con, table: pa.Table, hashes: np.ndarray | None = None, starts: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mask of the rows of `table` not stored yet (first of repeats in the table), with their hashes
        and starts (pass them when already computed: `span_keys(table)["h"]` and `["s"]`, never 0)."""
        if hashes is None or starts is None:
            hashes, starts = self.hashes(table)
        else:
            hashes, starts = np.asarray(hashes, dtype=np.uint64), np.asarray(starts, dtype=np.int64)
        fresh = ~_seen_mask(self._keys, hashes)
        old = fresh & (starts < self.watermark)
        if old.any():  # started before the watermark: the set cannot vouch for them, the warehouse can
            idx = np.flatnonzero(old)
            self.warehouse_lookups += idx.size
            stored = _stored_in_warehouse(con, table.take(pa.array(idx)))
            fresh[idx[stored]] = False
        return fresh, hashes, starts


def _table(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty key and start arrays, written through once: a probe into pages never touched
    would page-fault (measured: 10x the cost of the probe itself), so fault them in order now."""
    keys, starts = np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.int64)
    keys.fill(0)
    starts.fill(0)
    return keys, starts


def _stored_in_warehouse(con, rows: pa.Table) -> np.ndarray:
    """For each row, whether a span with its (tenant, trace_id, span_id) is stored."""
    probe = pa.table({"i": pa.array(np.arange(rows.num_rows)), "tenant": rows["tenant"],
                      "trace_id": rows["trace_id"], "span_id": rows["span_id"]})
    _recent_ids_probe = probe  # read by name by DuckDB's replacement scan
    found = con.execute(
        "SELECT p.i FROM _recent_ids_probe p SEMI JOIN spans s"
        " ON s.tenant = p.tenant AND s.trace_id = p.trace_id AND s.span_id = p.span_id"
    ).fetchnumpy()["i"]
    out = np.zeros(rows.num_rows, dtype=np.bool_)
    out[np.asarray(found, dtype=np.int64)] = True
    return out
