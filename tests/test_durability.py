"""`kill -9` under load: every acknowledged span is in the warehouse afterwards."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from inferledger.analytics.warehouse import open_warehouse
from tests.harness import service_process
from tests.otlp_payloads import genai_spans, traces_request_bytes

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_kill_9_under_load_loses_no_acknowledged_span(tmp_path):
    db = tmp_path / "w.duckdb"
    # Pre-encode so the clients spend their time sending, not building spans.
    batches = []
    for i in range(300):
        spans = genai_spans(100, team=f"team-{i % 7}")
        ids = {(format(s.context.trace_id, "032x"), format(s.context.span_id, "016x")) for s in spans}
        batches.append((traces_request_bytes(spans), ids))
    acked: set = set()
    sent_requests = 0
    lock = threading.Lock()
    stop = threading.Event()

    with service_process(db) as (proc, eps):
        def client(worker: int) -> None:
            nonlocal sent_requests
            with httpx.Client(timeout=10) as http:
                for body, ids in batches[worker::4]:
                    if stop.is_set():
                        return
                    try:
                        r = http.post(f"{eps.http}/v1/traces", content=body,
                                      headers={"Content-Type": "application/x-protobuf"})
                    except httpx.HTTPError:
                        return  # the server died mid-request: not acknowledged
                    with lock:
                        sent_requests += 1
                        if r.status_code == 200:
                            acked.update(ids)

        threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 2000 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(15)

    assert len(acked) >= 2000, "the load did not get going before the kill"
    assert sent_requests < len(batches), "the kill came after all traffic: not a test of a crash under load"
    wh = open_warehouse(db)  # replays the write-ahead log
    stored = set(wh.con.execute("SELECT trace_id, span_id FROM spans").fetchall())
    wh.close()
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans were lost"
    assert len(stored) % 100 == 0  # whole batches only: a transaction is all or nothing


def test_sigterm_flushes_pending_batches(tmp_path):
    db = tmp_path / "w.duckdb"
    body = traces_request_bytes(genai_spans(200))
    with service_process(db) as (proc, eps):
        assert httpx.post(f"{eps.http}/v1/traces", content=body,
                          headers={"Content-Type": "application/x-protobuf"}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    wh = open_warehouse(db)
    assert wh.con.execute("SELECT count(*) FROM spans").fetchone()[0] == 200
    wh.close()
