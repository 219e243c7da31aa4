"""Plain-Python references for collector/fastpath/grouping.py."""

from __future__ import annotations

import numpy as np

from inferledger.collector.fastpath.wire import V_ARRAY, V_BYTES, V_KVLIST, V_NONE, V_STR


def value_reps(buf: bytes, types, offs, lens, ints) -> np.ndarray:
    first: dict[tuple, int] = {}
    out = []
    for i, t in enumerate(types.tolist()):
        if t in (V_STR, V_BYTES, V_ARRAY, V_KVLIST):
            key = (t, bytes(buf[offs[i]:offs[i] + lens[i]]))
        elif t == V_NONE:
            key = (t,)
        else:
            key = (t, int(ints[i]))
        out.append(first.setdefault(key, i))
    return np.array(out, np.int64)


def span_groups(scope, a0, a1, akey, valid) -> tuple[np.ndarray, np.ndarray]:
    ids: dict[tuple, int] = {}
    first = []
    gid = np.full(len(scope), -1, np.int64)
    for s in range(len(scope)):
        if not valid[s]:
            continue
        key = (int(scope[s]), tuple(akey[a0[s]:a1[s]].tolist()))
        if key not in ids:
            ids[key] = len(first)
            first.append(s)
        gid[s] = ids[key]
    return gid, np.array(first, np.int64)


def first_ids(ids) -> tuple[np.ndarray, np.ndarray]:
    seen: dict[int, int] = {}
    inv = [seen.setdefault(v, len(seen)) for v in ids.tolist()]
    return np.array(list(seen), np.int64), np.array(inv, np.int32)


def valid_spans(buf: bytes, tid_off, tid_len, sid_off, sid_len, start, end, max_ns) -> np.ndarray:
    out = []
    for s in range(len(start)):
        tid = buf[tid_off[s]:tid_off[s] + tid_len[s]]
        sid = buf[sid_off[s]:sid_off[s] + sid_len[s]]
        out.append(len(tid) == 16 and len(sid) == 8 and 0 < start[s] <= end[s] <= max_ns
                   and tid != bytes(16) and sid != bytes(8))
    return np.array(out, bool)
