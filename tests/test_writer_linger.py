"""The writer's group commit waits for requests still being decoded, and only for those."""

from __future__ import annotations

import os
import time

import pytest

from inferledger.analytics.warehouse import open_warehouse
from inferledger.collector.prepare import prepare_payload
from inferledger.collector.settings import AttributionSettings, IngestSettings
from inferledger.collector.writer import IngestWriter, WriteBatch
from inferledger.config import ConfigError, Settings, build
from inferledger.service import duckdb_threads
from tests.otlp_payloads import genai_spans, traces_request_bytes


def _spans(n: int):
    body = traces_request_bytes(genai_spans(n))
    return prepare_payload("traces", body, "protobuf", None, "t", IngestSettings(), AttributionSettings()).tables["spans"]


@pytest.fixture
def lingering_writer():
    """`make(linger_s)` -> (warehouse, started writer); every writer made is stopped after the test."""
    made: list[IngestWriter] = []

    def make(linger_s: float):
        wh = open_warehouse(":memory:")
        writer = IngestWriter(wh, commit_target_rows=10_000, commit_linger_s=linger_s)
        writer.start()
        made.append(writer)
        return wh, writer

    yield make
    for writer in made:
        writer.stop()


@pytest.mark.slow
def test_a_request_still_decoding_joins_the_open_commit(lingering_writer):
    wh, writer = lingering_writer(linger_s=2.0)
    writer.expect(2)  # two requests in the decode workers
    first = writer.submit(WriteBatch("t", {"spans": _spans(5)}))
    time.sleep(0.2)
    assert not first.done()  # held open for the second request
    writer.expect(-1)
    second = writer.submit(WriteBatch("t", {"spans": _spans(7)}))
    writer.expect(-1)
    assert first.result(10) == 5 and second.result(10) == 7
    assert writer.commits == 1
    assert wh.cursor().execute("SELECT count(*) FROM spans").fetchone()[0] == 12


@pytest.mark.slow
def test_nothing_on_its_way_commits_at_once(lingering_writer):
    _, writer = lingering_writer(linger_s=5.0)
    t0 = time.monotonic()
    assert writer.submit(WriteBatch("t", {"spans": _spans(3)})).result(10) == 3
    assert time.monotonic() - t0 < 2.0  # not the 5 s linger


@pytest.mark.slow
def test_a_request_that_fails_to_decode_ends_the_wait(lingering_writer):
    _, writer = lingering_writer(linger_s=5.0)
    writer.expect(1)
    fut = writer.submit(WriteBatch("t", {"spans": _spans(4)}))
    writer.expect(1)
    t0 = time.monotonic()
    writer.expect(-2)  # both decodes ended without a batch (e.g. 400)
    assert fut.result(10) == 4
    assert time.monotonic() - t0 < 2.0
    assert writer.commits == 1


def test_linger_settings_are_validated():
    with pytest.raises(ConfigError, match="commit_linger_ms"):
        build(Settings, {"ingest": {"commit_linger_ms": -1}}, "")
    with pytest.raises(ConfigError, match="unknown key"):
        build(Settings, {"ingest": {"commit_linger": 5}}, "")
    assert build(Settings, {"ingest": {"commit_linger_ms": 15, "commit_target_rows": 4096}}, "").ingest.commit_linger_ms == 15


def test_serve_gives_duckdb_the_cores_the_workers_leave():
    cores = len(os.sched_getaffinity(0))
    assert duckdb_threads(0) == cores
    assert duckdb_threads(cores) == 1 and duckdb_threads(cores + 5) == 1
