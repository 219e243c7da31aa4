"""The spans table has no key: resent spans are dropped by the writer's recent-id set, exactly.

Ground truth is the set of distinct (tenant, trace_id, span_id) sent: whatever the order of
resends, restarts, evictions and late spans, the warehouse holds each id once.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from inferledger.analytics.warehouse import apply_migrations, bundled_migrations, open_warehouse, utcnow
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, SPAN_COLUMNS
from inferledger.collector.recent_ids import RecentIds, _seen_mask
from inferledger.collector.writer import IngestWriter, WriteBatch
from tests.factories import span_row

BASE = datetime(2026, 3, 1, 12, 0)


def _table(ids: list[tuple[str, int, int]], minutes: list[int], base: datetime = BASE) -> pa.Table:
    rows = [span_row(base + timedelta(minutes=m), tenant=tenant, trace_id=f"{trace:032x}", span_id=f"{span:016x}")
            for (tenant, trace, span), m in zip(ids, minutes)]
    cols = {c: [r.get(c) for r in rows] for c in SPAN_COLUMNS}
    return pa.Table.from_pydict(cols, schema=SPAN_ARROW_SCHEMA)


def _write(wh, writer_con, recent: RecentIds, table: pa.Table) -> None:
    fresh, hashes, starts = recent.new_rows(writer_con, table)
    writer_con.register("_t", table.filter(pa.array(fresh)))
    writer_con.execute("INSERT INTO spans SELECT * FROM _t")
    writer_con.unregister("_t")
    recent.add(hashes[fresh], starts[fresh])


@pytest.mark.slow
def test_random_resends_evictions_and_late_spans_store_each_id_once():
    rng = random.Random(7)
    wh = open_warehouse(":memory:")
    con = wh.cursor()
    recent = RecentIds(capacity=40)  # tiny: evicts every few batches, so the warehouse lookups run
    recent.load(con, lookback_hours=1, now_us=int((BASE - datetime(1970, 1, 1)).total_seconds() * 1e6))
    sent: set = set()
    pool: list[tuple[tuple[str, int, int], int]] = []
    for step in range(60):
        batch = []
        for _ in range(rng.randint(1, 25)):
            if pool and rng.random() < 0.4:
                batch.append(rng.choice(pool))  # a resend (same id, same start)
            else:
                key = (rng.choice(["a", "b"]), rng.randint(0, 50), rng.randint(0, 10**6))
                late = rng.random() < 0.15
                item = (key, rng.randint(-600, -100) if late else step + rng.randint(0, 3))
                pool.append(item)
                batch.append(item)
        _write(wh, con, recent, _table([b[0] for b in batch], [b[1] for b in batch]))
        sent.update(b[0] for b in batch)
        stored = con.execute("SELECT tenant, trace_id, span_id, count(*) FROM spans GROUP BY ALL").fetchall()
        assert all(n == 1 for *_, n in stored)
        assert {(t, int(tr, 16), int(s, 16)) for t, tr, s, _ in stored} == sent
    assert recent.count <= recent.capacity
    assert recent.warehouse_lookups > 0  # late spans and evicted ones were checked in the warehouse


def test_repeats_inside_one_batch_keep_the_first():
    wh = open_warehouse(":memory:")
    con = wh.cursor()
    recent = RecentIds(capacity=100)
    t = _table([("a", 1, 1), ("a", 1, 2), ("a", 1, 1), ("b", 1, 1)], [0, 0, 0, 0])
    fresh, _, _ = recent.new_rows(con, t)
    assert fresh.tolist() == [True, True, False, True]


def _submit(writer: IngestWriter, table: pa.Table) -> None:
    writer.submit(WriteBatch(tenant="a", tables={"spans": table})).result(10)


@pytest.mark.slow
def test_resend_after_a_restart_is_still_dropped(tmp_path):
    db = tmp_path / "w.duckdb"
    now = utcnow()
    recent_batch = _table([("a", 9, i) for i in range(3)], [-5] * 3, base=now)
    old_batch = _table([("a", 8, i) for i in range(3)], [-10_000] * 3, base=now)  # far past the 1 h lookback
    wh = open_warehouse(db)
    writer = IngestWriter(wh, recent_ids=1000, recent_ids_lookback_hours=1)
    writer.start()
    _submit(writer, recent_batch)
    _submit(writer, old_batch)
    writer.stop()
    wh.close()

    wh = open_warehouse(db)  # a fresh process would load the set the same way
    writer = IngestWriter(wh, recent_ids=1000, recent_ids_lookback_hours=1)
    writer.start()
    _submit(writer, recent_batch)  # in the loaded set
    _submit(writer, old_batch)  # before the watermark: found in the warehouse
    _submit(writer, pa.concat_tables([recent_batch, _table([("a", 9, 99)], [0], base=now)]))
    writer.stop()
    assert writer.recent.count >= 3
    assert writer.dropped_resent == 3 + 3 + 3
    rows = wh.con.execute("SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans").fetchone()
    wh.close()
    assert rows == (7, 7)


@pytest.mark.slow
def test_existing_warehouse_migrates_to_a_table_without_key(tmp_path):
    db = tmp_path / "old.duckdb"
    wh = open_warehouse(db, migrate=False)
    apply_migrations(wh, [m for m in bundled_migrations() if m.version < 5])
    t = _table([("a", 1, i) for i in range(50)], list(range(50)))
    wh.con.register("_t", t)
    wh.con.execute("INSERT INTO spans SELECT * FROM _t")
    wh.con.unregister("_t")
    before = wh.con.execute("SELECT * FROM spans ORDER BY span_id").fetchall()
    assert wh.con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'spans' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone() == (1,)
    wh.close()

    wh = open_warehouse(db)  # applies 0005 and the rest
    assert 5 in wh.schema_versions()
    kinds = wh.con.execute(
        "SELECT constraint_type, list(constraint_column_names[1] ORDER BY constraint_column_names[1])"
        " FROM duckdb_constraints() WHERE table_name = 'spans' GROUP BY 1"
    ).fetchall()
    assert [k for k, _ in kinds] == ["NOT NULL"]
    assert sorted(kinds[0][1]) == sorted(f.name for f in SPAN_ARROW_SCHEMA if not f.nullable)
    assert [r[0] for r in wh.con.execute("DESCRIBE spans").fetchall()] == list(SPAN_COLUMNS)
    assert wh.con.execute("SELECT * FROM spans ORDER BY span_id").fetchall() == before
    wh.con.execute("INSERT INTO spans SELECT * FROM spans LIMIT 1")  # no key: the writer is what keeps ids unique
    wh.close()


def test_eviction_keeps_every_span_after_the_watermark():
    recent = RecentIds(capacity=64)
    rng = np.random.default_rng(3)
    hashes = rng.integers(1, 2**63, size=500, dtype=np.int64).astype(np.uint64)
    starts = rng.integers(0, 10_000, size=500, dtype=np.int64)
    for lo in range(0, 500, 30):
        recent.add(hashes[lo:lo + 30], starts[lo:lo + 30])
        assert recent.count <= recent.capacity
        seen = set(hashes[:lo + 30][starts[:lo + 30] >= recent.watermark].tolist())
        probe = np.array(sorted(seen), dtype=np.uint64)
        assert _seen_mask(recent._keys, probe).all()
