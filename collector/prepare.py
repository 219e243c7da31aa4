"""Decode + normalize + columnarize, in worker processes.

Decoding and normalizing are pure Python and hold the GIL; the DuckDB insert does
not need it. Running the first in `ingest.workers` processes lets a two-core
machine decode on one core while the service process commits on the other. The
worker's Arrow tables cross back as IPC streams (see PreparedPayload's pickling),
which the writer inserts as they are. With `ingest.workers = 0` the same function
runs inline and nothing is serialized.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import pyarrow as pa

from inferledger.analytics.warehouse import utcnow
from inferledger.collector.columns import TABLES, rows_to_arrow
from inferledger.collector.decode import Encoding, decompress, parse_request
from inferledger.collector.fastpath.columnar import ColumnarBatch, traces_table_fast
from inferledger.collector.fastpath.traces import warm_up
from inferledger.collector.ingest_batch import MAX_ERRORS, IngestContext, NormalizedBatch, partial_success_message
from inferledger.collector.logs_normalize import normalize_logs
from inferledger.collector.metrics_normalize import normalize_metrics
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.settings import AttributionSettings, IngestSettings


@dataclass
class PreparedPayload:
    """One export request, ready for the writer."""

    tables: dict[str, pa.Table] = field(default_factory=dict)  # target table -> rows
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    unmapped_spans: int = 0
    unmapped_span_scopes: Counter = field(default_factory=Counter)  # (scope name, version) -> spans
    unmapped_keys: Counter = field(default_factory=Counter)  # (scope name, version, key) -> spans
    errors: list[str] = field(default_factory=list)

    def __getstate__(self) -> dict:
        # Crossing from a worker process: Arrow IPC is ~5x cheaper than pickling a Table.
        return {**self.__dict__, "tables": {name: _ipc(t) for name, t in self.tables.items()}}

    def __setstate__(self, state: dict) -> None:
        tables = {name: pa.ipc.open_stream(data).read_all() for name, data in state["tables"].items()}
        self.__dict__.update({**state, "tables": tables})

    @property
    def error_message(self) -> str:
        return partial_success_message(self.errors, self.rejected)


def prepare_payload(
    signal: str,
    body: bytes,
    encoding: Encoding,
    content_encoding: str | None,
    tenant: str,
    ingest: IngestSettings,
    attribution: AttributionSettings,
) -> PreparedPayload:
    """Raw request body -> Arrow tables for the writer; raises DecodeError for bad input."""
    payload = decompress(body, content_encoding, ingest.max_body_bytes)
    ctx = IngestContext(tenant=tenant, ingest=ingest, attribution=attribution, received_at=utcnow())
    parts: dict[str, NormalizedBatch]
    fast = None
    if signal == "traces" and encoding == "protobuf" and ingest.decoder == "fast":
        fast = traces_table_fast(payload, ctx)  # None: a request only the reference reproduces
    if fast is not None:
        parts = {"spans": fast}
    elif signal == "traces":
        parts = {"spans": normalize_traces(parse_request(signal, payload, encoding), ctx)}
    elif signal == "metrics":
        gpu, points = normalize_metrics(parse_request(signal, payload, encoding), ctx)
        parts = {"gpu_samples": gpu, "metric_points": points}
    else:
        parts = {"log_records": normalize_logs(parse_request(signal, payload, encoding), ctx)}
    out = PreparedPayload()
    for table, batch in parts.items():
        if isinstance(batch, ColumnarBatch):  # the fast decoder built the Arrow table itself
            if batch.table.num_rows:
                out.tables[table] = batch.table
            out.accepted += batch.table.num_rows
        elif batch.rows:
            out.tables[table] = rows_to_arrow(batch.rows, TABLES[table][1])
            out.accepted += len(batch.rows)
        out.rejected += batch.rejected
        out.skipped += batch.skipped
        out.unmapped_spans += batch.unmapped_spans
        out.unmapped_span_scopes.update(batch.unmapped_span_scopes)
        out.unmapped_keys.update(batch.unmapped_keys)
        out.errors.extend(batch.errors)
    out.errors = out.errors[:MAX_ERRORS]
    return out


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


_worker_settings: tuple[IngestSettings, AttributionSettings] | None = None


def _init_worker(ingest: IngestSettings, attribution: AttributionSettings) -> None:
    global _worker_settings
    if _worker_settings is None:
        _exit_with_parent()
    _worker_settings = (ingest, attribution)
    if ingest.decoder == "fast":
        warm_up()


def _exit_with_parent(poll_s: float = 1.0) -> None:
    """End this worker when the service process dies, even by `kill -9` (no orphan keeps running).

    A daemon thread polls the parent pid: an orphan is re-parented, so the pid changes.
    (PR_SET_PDEATHSIG is not used: it fires when the *thread* that spawned the worker
    ends, and the pool may spawn from short-lived threads.)
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _prepare_in_worker(signal: str, body: bytes, encoding: Encoding, content_encoding: str | None, tenant: str) -> PreparedPayload:
    assert _worker_settings is not None
    return prepare_payload(signal, body, encoding, content_encoding, tenant, *_worker_settings)


class WorkersUnavailable(Exception):
    """A worker process died (e.g. killed for memory); the pool is being replaced. Retryable."""


class PreparePool:
    """Runs `prepare_payload` in `workers` processes (0: inline on the caller's thread)."""

    def __init__(self, workers: int, ingest: IngestSettings, attribution: AttributionSettings) -> None:
        self.ingest = ingest
        self.attribution = attribution
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = self._start() if workers > 0 else None
        if workers == 0 and ingest.decoder == "fast":
            warm_up()

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.ingest, self.attribution),
        )
        # Start the workers now, not on the first request.
        for f in [executor.submit(_init_worker, self.ingest, self.attribution) for _ in range(self._workers)]:
            f.result()
        return executor

    async def prepare(
        self, signal: str, body: bytes, encoding: Encoding, content_encoding: str | None, tenant: str
    ) -> PreparedPayload:
        if self._executor is None:
            return prepare_payload(signal, body, encoding, content_encoding, tenant, self.ingest, self.attribution)
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, _prepare_in_worker, signal, body, encoding, content_encoding, tenant)
        except BrokenProcessPool:
            if self._executor is executor:  # the first request to notice replaces the pool
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = await loop.run_in_executor(None, self._start)
            raise WorkersUnavailable("an ingest worker process died; retry the request") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
