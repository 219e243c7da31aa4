"""Which inference spans of a batch can be copies of the same call: the writer's guard before linking.

Duplicate-call linking (collector.dedupe) asks the warehouse for every stored inference span that
shares a trace or a response id with the batch. Nearly every span of a busy service is alone in
its trace and has its own response id, and linking leaves such a span as it is; still the query
re-read the whole recent window for it, so its cost grew with the ingest rate. This index says
which spans need the query at all.

It holds 64-bit hashes (collector.span_keys) of (tenant, trace_id) and (tenant, response_id) of
the stored inference spans, each with the latest start time seen under it, in a fixed-size
open-addressing table (the kernels of collector.recent_ids). Like the recent-id set it keeps a watermark `W`: every stored
inference span that starts at or after `W` has both keys in the index. A batch span needs the
linking query when one of its keys is in the index, when another span of the batch has the same
key, or when it starts less than `dedupe.WINDOW` after `W` (a partner it may be linked to could
start before `W` and be missing from the index). Every other span has no partner within the
window, so the query would have left it unlinked: skipping it changes no answer, only the cost.
A hash collision only sends a span to the query needlessly.

When the table fills up, `W` rises to the median start and the older keys go; on start the
index is loaded from the newest stored inference spans, so a pair split across a restart is
still linked.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from inferledger.collector.dedupe import WINDOW
from inferledger.collector.recent_ids import _NO_WATERMARK, TimedKeySet, _insert, _slot
from inferledger.collector.span_keys import STORED_KEYS_SQL, span_keys

_MAX = np.iinfo(np.int64).max  # watermark that sends every span to the query
_WINDOW_US = int(WINDOW.total_seconds() * 1e6)

@numba.njit(cache=True)
def _needs_query(keys: np.ndarray, th: np.ndarray, rh: np.ndarray, starts: np.ndarray, cut: np.int64) -> np.ndarray:
    """True where a span's trace or response key is indexed, repeats within the batch, or it starts before `cut`."""
    n = th.size
    size = 16
    while size < 4 * n:
        size *= 2
    local = np.zeros(size, dtype=np.uint64)
    seen = np.zeros(size, dtype=np.int64)
    for i in range(n):
        j = _slot(local, th[i])
        local[j] = th[i]
        seen[j] += 1
        if rh[i] != 0:
            j = _slot(local, rh[i])
            local[j] = rh[i]
            seen[j] += 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if starts[i] < cut or keys[_slot(keys, th[i])] == th[i] or seen[_slot(local, th[i])] > 1:
            out[i] = True
        elif rh[i] != 0 and (keys[_slot(keys, rh[i])] == rh[i] or seen[_slot(local, rh[i])] > 1):
            out[i] = True
    return out


class LinkIndex(TimedKeySet):
    """Trace and response keys of stored inference spans (up to two per span); inference spans
    starting at or after the watermark are all indexed."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity, minimum=2)
        self.queried = 0  # spans sent to the linking query (for telemetry/benchmarks)
        self.skipped = 0  # spans that could not be copies and skipped it

    def load(self, con, lookback_hours: float, now_us: int) -> int:
        """Fill the index from the newest stored inference spans (started within the lookback)."""
        since = now_us - int(lookback_hours * 3600e6)
        limit = self.capacity // 2
        rows = span_keys(con.sql(
            STORED_KEYS_SQL + " WHERE is_inference AND start_time >= make_timestamp(?) ORDER BY start_time DESC LIMIT ?",
            params=[since, limit],
        ).to_arrow_table())
        self._keys[:] = 0
        self._starts[:] = 0
        hashes, starts = _flatten(rows)
        self.count = _insert(self._keys, self._starts, hashes, starts)
        span_starts = np.asarray(rows["s"], dtype=np.int64)
        # Cut short by the capacity: only spans after the oldest loaded start are all there.
        self.watermark = int(span_starts.min()) + 1 if span_starts.size >= limit else since
        return self.count

    def candidates(self, con, spans: pa.Table, rows: dict | None = None) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        """The inference rows of `spans` that need the linking query, with the keys to `add` after the commit.

        `rows`: `span_keys(spans)` when already computed (the writer computes them once per commit).
        """
        if spans.num_rows == 0 or "is_inference" not in spans.column_names:
            return spans.slice(0, 0), np.zeros(0, np.uint64), np.zeros(0, np.int64)
        if rows is None:
            rows = span_keys(spans)
        inf = np.flatnonzero(np.asarray(rows["i"], dtype=np.bool_))
        rows = {k: np.asarray(rows[k])[inf] for k in ("t", "r", "s")}
        need = _needs_query(self._keys, rows["t"].astype(np.uint64), rows["r"].astype(np.uint64),
                            rows["s"].astype(np.int64), np.int64(self._cut()))
        n_need = int(need.sum())
        self.queried += n_need
        self.skipped += inf.size - n_need
        hashes, key_starts = _flatten(rows)
        linkable = spans.take(pa.array(inf[need])) if n_need else spans.slice(0, 0)  # a take of none still copies the schema's columns
        return linkable, hashes, key_starts

    def _cut(self) -> int:
        """Spans starting before this may have an unindexed partner within the window."""
        wm = self.watermark
        if wm == _NO_WATERMARK:
            return _NO_WATERMARK
        return min(wm, _MAX - _WINDOW_US) + _WINDOW_US


def _flatten(rows: dict) -> tuple[np.ndarray, np.ndarray]:
    """Trace keys then the present response keys, each with its span's start."""
    th = np.asarray(rows["t"], dtype=np.uint64)
    rh = np.asarray(rows["r"], dtype=np.uint64)
    s = np.asarray(rows["s"], dtype=np.int64)
    has_r = rh != 0
    return np.concatenate([th, rh[has_r]]), np.concatenate([s, s[has_r]])
