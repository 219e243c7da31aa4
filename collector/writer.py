"""The group-commit ingest writer: one thread owns the writes, a 200 means committed.

Receivers submit a `WriteBatch` and wait on its future. The writer thread takes
everything queued (up to `max_commit_rows`), writes it in one transaction, commits,
and only then resolves the futures, so an acknowledged row has been committed to
the DuckDB write-ahead log and survives `kill -9`. The queue is bounded: when it is
full, `submit` raises `QueueFull` and the receiver answers 429 / RESOURCE_EXHAUSTED.

A batch that makes its group's transaction fail is retried alone, so one bad batch
fails by itself and the good batches committed with it are kept.

Spans whose (tenant, trace_id, span_id) is already stored (an exporter resending a
batch whose response was lost) are dropped before the append by `RecentIds`, which
the writer loads from the warehouse when it starts; the spans table has no key.
Duplicate-call links are re-decided only for the spans `LinkIndex` says may have a
partner (loaded on start the same way).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from inferledger.analytics.warehouse import Warehouse, utcnow
from inferledger.collector import telemetry
from inferledger.collector.dedupe import dedupe_batch
from inferledger.collector.link_index import LinkIndex
from inferledger.collector.recent_ids import RecentIds
from inferledger.collector.span_keys import span_keys
from inferledger.collector.unmapped import UnmappedCounter

log = logging.getLogger("inferledger.collector.writer")

# target table -> insert statement (spans already stored are filtered out before, by RecentIds).
INSERTS: dict[str, str] = {
    "spans": "INSERT INTO spans SELECT * FROM _batch",
    "gpu_samples": "INSERT INTO gpu_samples SELECT * FROM _batch",
    "metric_points": "INSERT INTO metric_points SELECT * FROM _batch",
    "log_records": "INSERT INTO log_records SELECT * FROM _batch",
}


class QueueFull(Exception):
    """The write queue is at its bound; the client should retry later."""


class WriterStopped(Exception):
    """The writer is shutting down and takes no new batches."""


@dataclass
class WriteBatch:
    """Rows of one export request: an Arrow table per target table."""

    tenant: str
    tables: dict[str, pa.Table]
    unmapped_keys: Counter = field(default_factory=Counter)
    future: Future = field(default_factory=Future)

    @property
    def row_count(self) -> int:
        return sum(t.num_rows for t in self.tables.values())


class IngestWriter:
    def __init__(
        self,
        warehouse: Warehouse,
        *,
        max_batches: int = 256,
        max_commit_rows: int = 200_000,
        unmapped: UnmappedCounter | None = None,
        recent_ids: int = 2_000_000,
        recent_ids_lookback_hours: float = 24.0,
        idle_checkpoint_bytes: int = 0,
        commit_target_rows: int = 0,
        commit_linger_s: float = 0.0,
    ) -> None:
        self._wh = warehouse
        self.recent = RecentIds(recent_ids)
        self.links = LinkIndex(max(2, recent_ids))
        self._lookback_hours = recent_ids_lookback_hours
        self.dropped_resent = 0  # spans dropped because already stored
        # Checkpoint when nothing waits and the WAL is past this (0: only DuckDB's own threshold).
        self._idle_checkpoint_bytes = idle_checkpoint_bytes
        self._wal = None if warehouse.path == ":memory:" else Path(warehouse.path + ".wal")
        self.idle_checkpoints = 0
        self.commits = 0  # transactions committed (group commits)
        # Unmapped-key counts wait here and are flushed after the data commits, never inside them.
        self.unmapped = unmapped or UnmappedCounter()
        self._last_flush = 0.0
        self._queue: queue.Queue[WriteBatch] = queue.Queue(maxsize=max_batches)
        self._max_commit_rows = max_commit_rows
        # A commit has a large fixed cost (measured ~7 ms of CPU for the spans table, about 900 rows'
        # worth of append; benchmarks/bench_commit_latency.py), so while requests are still being
        # decoded (`expect`) the writer waits up to `commit_linger_s` for them, until the group
        # holds `commit_target_rows`.
        self._target_rows = min(commit_target_rows, max_commit_rows)
        self._linger_s = commit_linger_s
        self.expected = 0  # requests being decoded that will reach `submit` (event-loop thread only writes it)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch: WriteBatch) -> Future:
        if self._stopping.is_set():
            raise WriterStopped("the service is shutting down")
        if batch.unmapped_keys:
            self.unmapped.add(batch.tenant, batch.unmapped_keys)
            batch.unmapped_keys = Counter()
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            raise QueueFull(f"ingest queue is full ({self._queue.maxsize} requests waiting)") from None
        telemetry.QUEUE_DEPTH.set(self._queue.qsize())
        return batch.future

    def expect(self, n: int) -> None:
        """`n` more (or, negative, fewer) requests are on their way to `submit`: worth lingering for."""
        self.expected += n

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking batches, commit everything queued, then return."""
        self._stopping.set()
        self._thread.join(timeout)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def _load_recent(self, con) -> None:
        try:
            n = self.recent.load(con, self._lookback_hours, _now_us())
            log.info("loaded %d recent span ids (spans from %s on are checked in memory)", n, self.recent.watermark)
        except Exception as exc:  # still exact: every span is then looked up in the warehouse
            log.warning("could not load recent span ids, checking every span in the warehouse: %s", exc)
            self.recent.watermark = 2**63 - 1
        try:
            n = self.links.load(con, self._lookback_hours, _now_us())
            log.info("loaded %d trace/response keys for duplicate-call linking", n)
        except Exception as exc:  # still exact: every inference span then goes to the linking query
            log.warning("could not load the link index, linking every span in the warehouse: %s", exc)
            self.links.watermark = 2**63 - 1

    def _run(self) -> None:
        _name_thread("il-writer")
        con = self._wh.cursor()
        self._load_recent(con)
        while True:
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:  # nothing for 0.1 s
                self._flush_unmapped(con, force=True)
                self._checkpoint_if_idle(con)
                if self._stopping.is_set():
                    break
                continue
            group = self._gather(first)
            telemetry.QUEUE_DEPTH.set(self._queue.qsize())
            self._commit_group(con, group)
            self._flush_unmapped(con, force=False)
        self._flush_unmapped(con, force=True)
        con.close()

    def _gather(self, first: WriteBatch) -> list[WriteBatch]:
        """`first` and what is queued (up to max_commit_rows); while below the target and requests are
        still being decoded, wait for them up to the linger time."""
        group = [first]
        rows = first.row_count
        deadline = None
        while rows < self._max_commit_rows:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                if rows >= self._target_rows or self.expected <= 0 or self._stopping.is_set():
                    break
                now = time.monotonic()
                deadline = deadline or now + self._linger_s
                if now >= deadline:
                    break
                try:
                    nxt = self._queue.get(timeout=min(deadline - now, 0.002))
                except queue.Empty:
                    continue
            group.append(nxt)
            rows += nxt.row_count
        return group

    def _checkpoint_if_idle(self, con) -> None:
        """Fold the WAL into the file after 0.1 s with no request, so that for bursty traffic the
        commit that passes DuckDB's own (larger) threshold, and stalls, rarely comes."""
        if not self._idle_checkpoint_bytes or self._wal is None or not self._queue.empty():
            return
        try:
            if self._wal.stat().st_size < self._idle_checkpoint_bytes:
                return
            con.execute("CHECKPOINT")
            self.idle_checkpoints += 1
        except FileNotFoundError:
            return
        except Exception as exc:  # e.g. a reader holds a transaction open: try after the next commit
            log.debug("idle checkpoint skipped: %s", exc)

    def _flush_unmapped(self, con, force: bool) -> None:
        """Bulk-write pending unmapped-key counts: when idle, else at most once a second."""
        now = time.monotonic()
        if not force and now - self._last_flush < 1.0:
            return
        self._last_flush = now
        try:
            self.unmapped.flush(con, utcnow())
        except Exception as exc:  # bookkeeping only: never fails the ingest
            log.warning("could not store unmapped-key counts: %s", exc)

    def _commit_group(self, con, group: list[WriteBatch]) -> None:
        started = time.perf_counter()
        try:
            committed = _write(con, group, self.recent, self.links)
        except Exception as exc:  # one bad batch must not sink the others: retry them one by one
            if len(group) == 1:
                log.error("ingest commit failed: %s", exc)
                group[0].future.set_exception(exc)
                return
            for batch in group:
                self._commit_group(con, [batch])
            return
        if committed is not None:
            hashes, starts, dropped, link_keys, link_starts = committed
            self.recent.add(hashes, starts)
            self.links.add(link_keys, link_starts)
            self.dropped_resent += dropped
        self.commits += 1
        telemetry.COMMIT_SECONDS.observe(time.perf_counter() - started)
        telemetry.COMMIT_ROWS.observe(sum(b.row_count for b in group))
        for batch in group:
            batch.future.set_result(batch.row_count)


def _name_thread(name: str) -> None:
    """Name the OS thread (what `top -H` and /proc/<pid>/task/*/comm show), so its CPU can be told apart."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):  # not Linux: the name is cosmetic
        pass


def _now_us() -> int:
    return int((utcnow() - _EPOCH).total_seconds() * 1e6)


_EPOCH = datetime(1970, 1, 1)


def _write(con, group: list[WriteBatch], recent: RecentIds | None = None, links: LinkIndex | None = None) -> tuple | None:
    """One transaction for the group; returns (hashes, starts, dropped, link keys, link starts) of the
    spans appended, for `recent.add` and `links.add`.

    Without `recent`, every span is looked up in the warehouse; without `links`, every inference
    span goes to the linking query (exact either way; for tools and tests).
    """
    if recent is None:
        recent = RecentIds(1)
        recent.watermark = 2**63 - 1
    if links is None:
        links = LinkIndex(2)
        links.watermark = 2**63 - 1
    committed = None
    con.execute("BEGIN TRANSACTION")
    try:
        for table, insert_sql in INSERTS.items():
            parts = [batch.tables[table] for batch in group if table in batch.tables]
            if not parts:
                continue
            data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
            keys = None
            if table == "spans":
                keys = span_keys(data)  # the resend filter's and the link index's, in one pass
                fresh, hashes, starts = recent.new_rows(con, data, keys["h"], keys["s"])
                dropped = int(data.num_rows - fresh.sum())
                if dropped:
                    data = data.filter(pa.array(fresh))
                    keys = {k: v[fresh] for k, v in keys.items()}
                committed = (hashes[fresh], starts[fresh], dropped, np.zeros(0, np.uint64), np.zeros(0, np.int64))
                if data.num_rows == 0:
                    continue
            # DuckDB reads `_batch` by name from this frame (replacement scan): registering and
            # unregistering a view instead costs ~0.6 ms of CPU per statement, per commit.
            _batch = data
            con.execute(insert_sql)
            if table == "spans":  # the same call reported twice: link the copies (collector.dedupe)
                linkable, link_keys, link_starts = links.candidates(con, data, keys)
                if linkable.num_rows:
                    dedupe_batch(con, linkable, utcnow())
                committed = (*committed[:3], link_keys, link_starts)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return committed
