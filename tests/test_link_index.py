"""The writer's link index only decides which spans skip the linking query: the links must be the
ones the full query gives, whatever the arrival order, batch split, eviction or restart.

Ground truth is how the calls were built: each pair below is one call reported twice (a parent
with a single inference child, or two spans with the same response id in different traces), so
exactly one span of each pair is linked to the other, and every lone call is unlinked.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, SPAN_COLUMNS
from inferledger.collector.dedupe import WINDOW
from inferledger.collector.link_index import LinkIndex
from inferledger.collector.recent_ids import RecentIds
from inferledger.collector.writer import IngestWriter, WriteBatch, _write
from tests.factories import span_row


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pydict({c: [r.get(c) for r in rows] for c in SPAN_COLUMNS}, schema=SPAN_ARROW_SCHEMA)


def _row(start: datetime, trace: int, span: int, **kw) -> dict:
    return span_row(start, tenant="acme", trace_id=f"{trace:032x}", span_id=f"{span:016x}", is_inference=True, **kw)


def _calls(base: datetime, n: int, seed: int) -> tuple[list[dict], set[frozenset]]:
    """`n` calls spread over an hour: lone, nested pair, or same response id across two traces."""
    rng = random.Random(seed)
    rows, pairs = [], set()
    sid = 1
    for i in range(n):
        start = base + timedelta(seconds=rng.uniform(0, 3600))
        kind = rng.choice(["lone", "lone", "nested", "response"])
        if kind == "lone":
            rows.append(_row(start, 1000 + i, sid, response_id=f"msg_{i}"))
            sid += 1
            continue
        if kind == "nested":
            a = _row(start, 1000 + i, sid, response_id=None)
            b = _row(start + timedelta(seconds=1), 1000 + i, sid + 1, parent_span_id=f"{sid:016x}",
                     response_id=f"msg_{i}", input_tokens=None)
        else:
            a = _row(start, 1000 + i, sid, response_id=f"msg_{i}")
            b = _row(start + timedelta(seconds=2), 50_000 + i, sid + 1, response_id=f"msg_{i}", input_tokens=None)
        rows += [a, b]
        pairs.add(frozenset((a["span_id"], b["span_id"])))
        sid += 2
    return rows, pairs


def _us(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1)).total_seconds() * 1e6)


def _links(wh) -> dict[str, str | None]:
    return dict(wh.con.execute("SELECT span_id, duplicate_of FROM spans").fetchall())


def _assert_ground_truth(links: dict[str, str | None], pairs: set[frozenset]) -> None:
    in_pair = {s for p in pairs for s in p}
    for p in pairs:
        a, b = sorted(p)
        assert (links[a], links[b]) in ((None, a), (b, None)), (a, b, links[a], links[b])
    assert all(d is None for s, d in links.items() if s not in in_pair)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tiny_index_with_evictions_links_like_the_full_query(seed):
    base = utcnow() - timedelta(hours=2)
    rows, pairs = _calls(base, 120, seed)
    random.Random(seed).shuffle(rows)  # any arrival order: copies land in different batches, either first
    batches = []
    while rows:
        k = random.Random(len(rows) + seed).randint(1, 12)
        batches.append(_table(rows[:k]))
        rows = rows[k:]
    got = {}
    for use_index in (False, True):
        wh = open_warehouse(":memory:")
        con = wh.cursor()
        recent, links = RecentIds(10_000), LinkIndex(8) if use_index else None  # 8 keys: evicts every batch or two
        for t in batches:
            done = _write(con, [WriteBatch(tenant="acme", tables={"spans": t})], recent, links)
            recent.add(done[0], done[1])
            if links is not None:
                links.add(done[3], done[4])
        got[use_index] = _links(wh)
        if links is not None:
            assert links.watermark > _us(base)  # evictions did happen, so the fallback below the watermark ran
            assert links.skipped > 0  # and some spans were judged lone from the index alone
        wh.close()
    _assert_ground_truth(got[False], pairs)
    assert got[True] == got[False]


@pytest.mark.slow
def test_large_index_skips_lone_spans_and_still_links_pairs():
    base = utcnow() - timedelta(hours=2)
    rows, pairs = _calls(base, 200, 7)
    rows.sort(key=lambda r: r["start_time"])
    wh = open_warehouse(":memory:")
    con = wh.cursor()
    links = LinkIndex(10_000)
    links.watermark = _us(base)  # as if loaded: spans within the window after it go to the query
    for lo in range(0, len(rows), 16):
        done = _write(con, [WriteBatch(tenant="acme", tables={"spans": _table(rows[lo:lo + 16])})], None, links)
        links.add(done[3], done[4])
    _assert_ground_truth(_links(wh), pairs)
    lone = {r["span_id"] for r in rows} - {s for p in pairs for s in p}
    near = sum(r["span_id"] in lone and r["start_time"] < base + WINDOW for r in rows)
    # at least the later-arriving half of each pair; at most the pairs and the lone spans near the watermark
    assert len(pairs) <= links.queried <= 2 * len(pairs) + near
    assert links.skipped >= len(lone) - near > 0
    wh.close()


def _submit(writer: IngestWriter, t: pa.Table) -> None:
    writer.submit(WriteBatch(tenant="acme", tables={"spans": t})).result(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("first", [0, 1])
def test_pair_split_across_a_restart_is_linked_from_the_loaded_index(tmp_path, first):
    db = tmp_path / "w.duckdb"
    now = utcnow()
    parent = _row(now, 7, 1, response_id=None)
    child = _row(now + timedelta(seconds=1), 7, 2, parent_span_id=f"{1:016x}", response_id="msg_7", input_tokens=None)
    other = _row(now, 8, 3, response_id="msg_8")
    halves = [parent, child]
    wh = open_warehouse(db)
    writer = IngestWriter(wh, recent_ids=1000, recent_ids_lookback_hours=1)
    writer.start()
    _submit(writer, _table([halves[first]]))
    writer.stop()
    wh.close()

    wh = open_warehouse(db)  # a fresh process: the index is loaded from the warehouse
    writer = IngestWriter(wh, recent_ids=1000, recent_ids_lookback_hours=1)
    writer.start()
    _submit(writer, _table([halves[1 - first], other]))
    writer.stop()
    assert writer.links.count >= 1
    # the second half went to the query because the loaded index knew its trace, not by the fallback:
    # both spans start well after the watermark (now - 1 h), and the lone span skipped the query
    assert (writer.links.queried, writer.links.skipped) == (1, 1)
    assert _links(wh) == {f"{1:016x}": None, f"{2:016x}": f"{1:016x}", f"{3:016x}": None}
    wh.close()


@pytest.mark.slow
def test_index_that_could_not_load_queries_everything():
    wh = open_warehouse(":memory:")
    writer = IngestWriter(wh)
    wh.con.execute("ALTER TABLE spans RENAME TO spans_away")  # the load fails
    writer._load_recent(wh.cursor())
    wh.con.execute("ALTER TABLE spans_away RENAME TO spans")
    con = wh.cursor()
    rows, pairs = _calls(utcnow() - timedelta(hours=1), 20, 5)
    done = _write(con, [WriteBatch(tenant="acme", tables={"spans": _table(rows)})], writer.recent, writer.links)
    assert writer.links.skipped == 0 and writer.links.queried == len(rows)
    assert done[3].size >= len(rows)
    _assert_ground_truth(_links(wh), pairs)
    wh.close()
