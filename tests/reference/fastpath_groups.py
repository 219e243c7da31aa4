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
