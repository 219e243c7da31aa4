"""The fast decoder's grouping kernels equal their plain-Python references (tests/reference/fastpath_groups.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferledger.collector.fastpath import grouping
from tests.reference import fastpath_groups as ref


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.lists(st.tuples(st.integers(0, 7), st.integers(0, 63), st.integers(0, 8),
                                                                st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 7])),
                                                      max_size=60))
@pytest.mark.slow
def test_value_reps_equal_reference(buf: bytes, rows: list[tuple]) -> None:
    arr = np.frombuffer(buf, np.uint8)
    t = np.array([r[0] for r in rows], np.int64)
    o = np.array([min(r[1], len(buf) - 1) for r in rows], np.int64)
    ln = np.array([min(r[2], len(buf) - oo) for r, oo in zip(rows, o)], np.int64)
    iv = np.array([r[3] for r in rows], np.int64)
    got = grouping.value_reps(arr, t, o, ln, iv)
    assert got.tolist() == ref.value_reps(buf, t, o, ln, iv).tolist()


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.lists(st.integers(0, 3), max_size=4), st.booleans()), max_size=40))
def test_span_groups_equal_reference(spans: list[tuple]) -> None:
    akey = np.array([k for _, ks, _ in spans for k in ks], np.int64)
    ends = np.cumsum([len(ks) for _, ks, _ in spans]).astype(np.int64)
    a0 = np.concatenate([[0], ends[:-1]]).astype(np.int64) if spans else np.zeros(0, np.int64)
    scope = np.array([s for s, _, _ in spans], np.int64)
    valid = np.array([v for _, _, v in spans], bool)
    gid, first = grouping.span_groups(scope, a0, ends, akey, valid)
    rgid, rfirst = ref.span_groups(scope, a0, ends, akey, valid)
    assert gid.tolist() == rgid.tolist() and first.tolist() == rfirst.tolist()


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 20)), max_size=10))
def test_gather_hex_equals_bytes_hex(buf: bytes, slices: list[tuple[int, int]]) -> None:
    from inferledger.collector.fastpath.protowire import gather_hex

    offs = np.array([min(o, len(buf)) for o, _ in slices], np.int64)
    lens = np.array([min(ln, len(buf) - o) for (_, ln), o in zip(slices, offs)], np.int64)
    data, off = gather_hex(np.frombuffer(buf, np.uint8) if buf else np.zeros(0, np.uint8), offs, lens)
    got = [bytes(data[off[i]:off[i + 1]]).decode() for i in range(len(slices))]
    assert got == [buf[o:o + ln].hex() for o, ln in zip(offs, lens)]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=60))
def test_first_ids_equal_reference(ids: list[int]) -> None:
    arr = np.array(ids, np.int64)
    u, inv = grouping.first_ids(arr, 10)
    ru, rinv = ref.first_ids(arr)
    assert u.tolist() == ru.tolist() and inv.tolist() == rinv.tolist()
    assert (u[inv] == arr).all()


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=40, max_size=48),
       st.lists(st.tuples(st.integers(0, 16), st.sampled_from([15, 16]), st.integers(0, 24), st.sampled_from([7, 8]),
                          st.sampled_from([-1, 0, 1, 5, 10]), st.sampled_from([-1, 0, 1, 5, 10, 11])), max_size=30))
@pytest.mark.slow
def test_valid_spans_equal_reference(buf: bytes, spans: list[tuple]) -> None:
    col = [np.array(c, np.int64) for c in zip(*spans)] if spans else [np.zeros(0, np.int64)] * 6
    args = (col[0], col[1], col[2], col[3], col[4], col[5], 10)
    got = grouping.valid_spans(np.frombuffer(buf, np.uint8), *args)
    assert got.tolist() == ref.valid_spans(buf, *args).tolist()
