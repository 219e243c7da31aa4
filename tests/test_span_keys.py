"""The writer's span keys (resend filter, link index) equal their plain-Python reference, for
every Arrow string layout the writer or a warehouse load can hand over."""

from __future__ import annotations

import random
from datetime import datetime

import numpy as np
import pyarrow as pa
import pytest

from inferledger.collector.span_keys import span_keys
from tests.reference import span_keys as reference


def _rows(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    alphabet = "abc0123456789é€😀"
    text = lambda k: "".join(rng.choice(alphabet) for _ in range(k))
    return [{"tenant": text(rng.randint(0, 6)), "trace_id": text(rng.randint(0, 40)), "span_id": text(rng.randint(0, 20)),
             "response_id": None if rng.random() < 0.3 else text(rng.randint(0, 12)),
             "start_time": datetime(2026, 1, 1, 0, 0, rng.randint(0, 59), rng.randint(0, 999_999)),
             "is_inference": rng.choice([True, False, None])} for _ in range(n)]


def _table(rows: list[dict], string_type: pa.DataType | None = None) -> pa.Table:
    cols = {k: pa.array([r[k] for r in rows]) for k in rows[0]}
    string_type = string_type or pa.string()
    return pa.table({k: (v.cast(string_type) if v.type == pa.string() else v) for k, v in cols.items()})


@pytest.mark.slow
def test_keys_equal_the_reference_for_every_string_layout():
    rows = _rows(300)
    want = reference.span_keys(rows)
    chunked = pa.concat_tables([_table(rows[:100]), _table(rows[100:])])
    sliced = _table(_rows(50, seed=1) + rows).slice(50)
    for table in (_table(rows), _table(rows, pa.large_string()), _table(rows, pa.string_view()), chunked, sliced):
        got = span_keys(table)
        for k in ("h", "t", "r"):
            assert got[k].tolist() == want[k]
        assert got["s"].tolist() == [int((r["start_time"] - datetime(1970, 1, 1)).total_seconds() * 1e6) for r in rows]
        assert got["i"].tolist() == [bool(r["is_inference"]) for r in rows]


def test_field_boundaries_and_key_kinds_do_not_collide():
    rows = [{"tenant": "a", "trace_id": "bc", "span_id": "d", "response_id": "bc"},
            {"tenant": "ab", "trace_id": "c", "span_id": "d", "response_id": None},
            {"tenant": "a", "trace_id": "b", "span_id": "cd", "response_id": ""}]
    for r in rows:
        r.update(start_time=datetime(2026, 1, 1), is_inference=True)
    got = span_keys(_table(rows))
    assert len(set(got["h"].tolist())) == 3
    assert got["t"][0] != got["r"][0]  # same tenant and text, trace key vs response key
    assert got["r"][1] == 0 and got["r"][2] != 0  # null response id: no key; empty one: a key
    assert (got["h"] != 0).all() and (got["t"] != 0).all()


def test_an_empty_table_has_no_keys():
    empty = _table(_rows(1)).slice(0, 0)
    got = span_keys(empty)
    assert all(v.size == 0 for v in got.values()) and got["h"].dtype == np.uint64
