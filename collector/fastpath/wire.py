"""Numba kernel over the protobuf wire bytes of an ExportTraceServiceRequest.

One pass writes flat arrays (spans, attributes, distinct keys) instead of message
objects. The kernel only accepts the encodings it can reproduce exactly; for
anything else (a singular sub-message repeated, which protobuf would merge; a
field this kernel does not read but the schema knows, such as events, links,
scope attributes or string-table indices; groups; malformed or truncated
bytes; invalid UTF-8) it returns a FALLBACK status and the caller decodes the
request with the reference path, which then answers exactly as it always has.
Fields the schema does not know are skipped, as protobuf does.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from inferledger.collector.fastpath.protowire import len_field, skip, string_field, utf8_ok, varint

OK = 0
FALLBACK = 1
GROW = 2  # the output arrays were too small: call again with larger ones

# attribute value types (AnyValue oneof field numbers; 0 = no value)
V_NONE, V_STR, V_BOOL, V_INT, V_DOUBLE, V_ARRAY, V_KVLIST, V_BYTES = range(8)

# span columns (int64)
(SP_RES, SP_SCOPE, SP_TID_OFF, SP_TID_LEN, SP_SID_OFF, SP_SID_LEN, SP_PID_OFF, SP_PID_LEN, SP_NAME_OFF,
 SP_NAME_LEN, SP_KIND, SP_START, SP_END, SP_CODE, SP_MSG_OFF, SP_MSG_LEN, SP_A0, SP_A1) = range(18)
SP_NCOL = 18
# attribute columns (int64): key id, value type, value offset/length (string, bytes, array, kvlist),
# int, bool or the bits of a double
AT_KEY, AT_TYPE, AT_OFF, AT_LEN, AT_INT = range(5)
AT_NCOL = 5
# resource / scope columns: attribute range [a0, a1) and, for scopes, the name
RS_A0, RS_A1 = 0, 1
SC_RES, SC_NAME_OFF, SC_NAME_LEN, SC_VER_OFF, SC_VER_LEN = 0, 1, 2, 3, 4


@nb.njit(cache=True, _nrt=False)
def _key_id(buf, off, ln, ktab, kinfo, nkeys):
    """Id of the key bytes buf[off:off+ln] in this request's open-addressed key table (new id if unseen)."""
    h = np.uint64(14695981039346656037)
    for i in range(off, off + ln):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    mask = ktab.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while True:
        kid = ktab[slot]
        if kid < 0:
            if 2 * (nkeys + 1) > ktab.shape[0]:
                return -1, nkeys  # table too small for this request's distinct keys: GROW
            ktab[slot] = nkeys
            kinfo[nkeys, 0] = off
            kinfo[nkeys, 1] = ln
            return nkeys, nkeys + 1
        ko = kinfo[kid, 0]
        if kinfo[kid, 1] == ln:
            same = True
            for i in range(ln):
                if buf[ko + i] != buf[off + i]:
                    same = False
                    break
            if same:
                return kid, nkeys
        slot = (slot + 1) & mask


@nb.njit(cache=True, _nrt=False)
def _anyvalue(buf, pos, end, attrs, ai):
    """Fill attrs[ai] from an AnyValue; False -> fallback."""
    seen = False
    while pos < end:
        tag, pos = varint(buf, pos, end)
        if pos < 0:
            return False
        f = np.int64(tag >> np.uint64(3))
        wt = np.int64(tag & np.uint64(7))
        if 1 <= f <= 8:
            if seen or f == 8:  # two oneof members (protobuf would merge) or a string-table index
                return False
            seen = True
            if f == 1 or f == 5 or f == 6 or f == 7:
                if wt != 2:
                    return False
                p0, p1 = len_field(buf, pos, end)
                if p0 < 0:
                    return False
                if f == 1 and not utf8_ok(buf, p0, p1):
                    return False
                attrs[ai, AT_TYPE] = f
                attrs[ai, AT_OFF] = p0
                attrs[ai, AT_LEN] = p1 - p0
                pos = p1
            elif f == 2 or f == 3:
                if wt != 0:
                    return False
                v, pos = varint(buf, pos, end)
                if pos < 0:
                    return False
                attrs[ai, AT_TYPE] = f
                if f == 2:
                    attrs[ai, AT_INT] = 1 if v != np.uint64(0) else 0
                else:
                    attrs[ai, AT_INT] = np.int64(v)
            else:  # double
                if wt != 1 or pos + 8 > end:
                    return False
                attrs[ai, AT_TYPE] = V_DOUBLE
                v = np.uint64(0)
                for j in range(8):
                    v |= np.uint64(buf[pos + j]) << np.uint64(8 * j)
                attrs[ai, AT_INT] = np.int64(v)  # the IEEE bits; the caller views them as float64
                pos += 8
        else:
            pos = skip(buf, pos, end, f, wt)
            if pos < 0:
                return False
    return True


@nb.njit(cache=True, _nrt=False)
def _keyvalue(buf, pos, end, attrs, ai, ktab, kinfo, nkeys):
    """One KeyValue into attrs[ai]; returns (ok, nkeys)."""
    koff = -1
    klen = 0
    have_value = False
    attrs[ai, AT_TYPE] = V_NONE
    attrs[ai, AT_OFF] = 0
    attrs[ai, AT_LEN] = 0
    attrs[ai, AT_INT] = 0
    while pos < end:
        tag, pos = varint(buf, pos, end)
        if pos < 0:
            return False, nkeys
        f = np.int64(tag >> np.uint64(3))
        wt = np.int64(tag & np.uint64(7))
        if f == 1:
            if wt != 2:
                return False, nkeys
            p0, p1 = len_field(buf, pos, end)
            if p0 < 0 or not utf8_ok(buf, p0, p1):
                return False, nkeys
            koff = p0
            klen = p1 - p0
            pos = p1
        elif f == 2:
            if wt != 2 or have_value:
                return False, nkeys
            have_value = True
            p0, p1 = len_field(buf, pos, end)
            if p0 < 0 or not _anyvalue(buf, p0, p1, attrs, ai):
                return False, nkeys
            pos = p1
        elif f == 3:
            return False, nkeys
        else:
            pos = skip(buf, pos, end, f, wt)
            if pos < 0:
                return False, nkeys
    if koff < 0:
        koff = 0  # an absent key is the empty string
        klen = 0
    kid, nkeys = _key_id(buf, koff, klen, ktab, kinfo, nkeys)
    if kid < 0:
        return False, -1
    attrs[ai, AT_KEY] = kid
    return True, nkeys


@nb.njit(cache=True, _nrt=False)
def _attr_field(buf, pos, end, wt, attrs, na, ktab, kinfo, nkeys):
    """A repeated `attributes` entry -> (pos after it or -1, na, nkeys)."""
    if wt != 2:
        return -1, na, nkeys
    p0, p1 = len_field(buf, pos, end)
    if p0 < 0:
        return -1, na, nkeys
    if na >= attrs.shape[0]:
        return -2, na, nkeys
    ok, nk = _keyvalue(buf, p0, p1, attrs, na, ktab, kinfo, nkeys)
    if not ok:
        return (-2 if nk < 0 else -1), na, nkeys
    nkeys = nk
    return p1, na + 1, nkeys


@nb.njit(cache=True, _nrt=False)
def _status(buf, pos, end, spans, si):
    while pos < end:
        tag, pos = varint(buf, pos, end)
        if pos < 0:
            return False
        f = np.int64(tag >> np.uint64(3))
        wt = np.int64(tag & np.uint64(7))
        if f == 2:
            p0, p1 = string_field(buf, pos, end, wt)
            if p0 < 0:
                return False
            spans[si, SP_MSG_OFF] = p0
            spans[si, SP_MSG_LEN] = p1 - p0
            pos = p1
        elif f == 3:
            if wt != 0:
                return False
            v, pos = varint(buf, pos, end)
            if pos < 0:
                return False
            spans[si, SP_CODE] = np.int64(np.int32(np.int64(v) & 0xFFFFFFFF))
        elif f == 1:
            return False
        else:
            pos = skip(buf, pos, end, f, wt)
            if pos < 0:
                return False
    return True


@nb.njit(cache=True, _nrt=False)
def _span(buf, pos, end, spans, si, attrs, na, ktab, kinfo, nkeys):
    """One Span into spans[si]; returns (ok, na, nkeys)."""
    for c in range(SP_NCOL):
        spans[si, c] = 0
    spans[si, SP_A0] = na
    have_status = False
    while pos < end:
        tag, pos = varint(buf, pos, end)
        if pos < 0:
            return False, na, nkeys
        f = np.int64(tag >> np.uint64(3))
        wt = np.int64(tag & np.uint64(7))
        if f == 1 or f == 2 or f == 4:
            if wt != 2:
                return False, na, nkeys
            p0, p1 = len_field(buf, pos, end)
            if p0 < 0:
                return False, na, nkeys
            col = SP_TID_OFF if f == 1 else SP_SID_OFF if f == 2 else SP_PID_OFF
            spans[si, col] = p0
            spans[si, col + 1] = p1 - p0
            pos = p1
        elif f == 3:
            p0, p1 = string_field(buf, pos, end, wt)
            if p0 < 0:
                return False, na, nkeys
            pos = p1
        elif f == 5:
            p0, p1 = string_field(buf, pos, end, wt)
            if p0 < 0:
                return False, na, nkeys
            spans[si, SP_NAME_OFF] = p0
            spans[si, SP_NAME_LEN] = p1 - p0
            pos = p1
        elif f == 6:
            if wt != 0:
                return False, na, nkeys
            v, pos = varint(buf, pos, end)
            if pos < 0:
                return False, na, nkeys
            spans[si, SP_KIND] = np.int64(np.int32(np.int64(v) & 0xFFFFFFFF))
        elif f == 7 or f == 8:
            if wt != 1 or pos + 8 > end:
                return False, na, nkeys
            v = np.uint64(0)
            for j in range(8):
                v |= np.uint64(buf[pos + j]) << np.uint64(8 * j)
            spans[si, SP_START if f == 7 else SP_END] = np.int64(v)  # uint64 bits; the caller unwraps
            pos += 8
        elif f == 9:
            pos, na, nkeys = _attr_field(buf, pos, end, wt, attrs, na, ktab, kinfo, nkeys)
            if pos < 0:
                return False, -1 if pos == -2 else na, nkeys
        elif f == 10 or f == 12 or f == 14:
            if wt != 0:
                return False, na, nkeys
            _, pos = varint(buf, pos, end)
            if pos < 0:
                return False, na, nkeys
        elif f == 16:
            if wt != 5 or pos + 4 > end:
                return False, na, nkeys
            pos += 4
        elif f == 15:
            if wt != 2 or have_status:
                return False, na, nkeys
            have_status = True
            p0, p1 = len_field(buf, pos, end)
            if p0 < 0 or not _status(buf, p0, p1, spans, si):
                return False, na, nkeys
            pos = p1
        elif f == 11 or f == 13:
            return False, na, nkeys  # events / links: the reference reads them
        else:
            pos = skip(buf, pos, end, f, wt)
            if pos < 0:
                return False, na, nkeys
    spans[si, SP_A1] = na
    return True, na, nkeys


@nb.njit(cache=True, _nrt=False)
def scan_traces(buf, spans, attrs, resources, scopes, ktab, kinfo):
    """Walk an ExportTraceServiceRequest.

    Returns (status, n_spans, n_attrs, n_resources, n_scopes, n_keys). The caller
    sizes the arrays from an upper bound (every span, attribute, resource and
    scope needs at least two bytes on the wire); ktab is -1 filled, a power of two.
    """
    end = buf.shape[0]
    pos = 0
    ns = na = nr = nsc = nkeys = 0
    while pos < end:
        tag, pos = varint(buf, pos, end)
        if pos < 0:
            return FALLBACK, 0, 0, 0, 0, 0
        f = np.int64(tag >> np.uint64(3))
        wt = np.int64(tag & np.uint64(7))
        if f != 1:
            pos = skip(buf, pos, end, f, wt)
            if pos < 0:
                return FALLBACK, 0, 0, 0, 0, 0
            continue
        if wt != 2:
            return FALLBACK, 0, 0, 0, 0, 0
        r0, r1 = len_field(buf, pos, end)
        if r0 < 0:
            return FALLBACK, 0, 0, 0, 0, 0
        pos = r1
        if nr >= resources.shape[0]:
            return GROW, 0, 0, 0, 0, 0
        ri = nr
        nr += 1
        resources[ri, RS_A0] = -1
        resources[ri, RS_A1] = -1
        p = r0
        while p < r1:
            tag, p = varint(buf, p, r1)
            if p < 0:
                return FALLBACK, 0, 0, 0, 0, 0
            f = np.int64(tag >> np.uint64(3))
            wt = np.int64(tag & np.uint64(7))
            if f == 1:  # resource
                if wt != 2 or resources[ri, RS_A0] >= 0:
                    return FALLBACK, 0, 0, 0, 0, 0
                q0, q1 = len_field(buf, p, r1)
                if q0 < 0:
                    return FALLBACK, 0, 0, 0, 0, 0
                resources[ri, RS_A0] = na
                q = q0
                while q < q1:
                    tag, q = varint(buf, q, q1)
                    if q < 0:
                        return FALLBACK, 0, 0, 0, 0, 0
                    f2 = np.int64(tag >> np.uint64(3))
                    wt2 = np.int64(tag & np.uint64(7))
                    if f2 == 1:
                        q, na, nkeys = _attr_field(buf, q, q1, wt2, attrs, na, ktab, kinfo, nkeys)
                        if q == -2:
                            return GROW, 0, 0, 0, 0, 0
                    elif f2 == 2:
                        q = skip(buf, q, q1, f2, wt2) if wt2 == 0 else -1
                    elif f2 == 3:
                        q = -1
                    else:
                        q = skip(buf, q, q1, f2, wt2)
                    if q < 0:
                        return FALLBACK, 0, 0, 0, 0, 0
                resources[ri, RS_A1] = na
                p = q1
            elif f == 2:  # scope_spans
                if wt != 2:
                    return FALLBACK, 0, 0, 0, 0, 0
                s0, s1 = len_field(buf, p, r1)
                if s0 < 0:
                    return FALLBACK, 0, 0, 0, 0, 0
                if nsc >= scopes.shape[0]:
                    return GROW, 0, 0, 0, 0, 0
                sci = nsc
                nsc += 1
                scopes[sci, SC_RES] = ri
                scopes[sci, SC_NAME_OFF] = 0
                scopes[sci, SC_NAME_LEN] = 0
                scopes[sci, SC_VER_OFF] = 0
                scopes[sci, SC_VER_LEN] = 0
                have_scope = False
                q = s0
                while q < s1:
                    tag, q = varint(buf, q, s1)
                    if q < 0:
                        return FALLBACK, 0, 0, 0, 0, 0
                    f2 = np.int64(tag >> np.uint64(3))
                    wt2 = np.int64(tag & np.uint64(7))
                    if f2 == 1:
                        if wt2 != 2 or have_scope:
                            return FALLBACK, 0, 0, 0, 0, 0
                        have_scope = True
                        c0, c1 = len_field(buf, q, s1)
                        if c0 < 0:
                            return FALLBACK, 0, 0, 0, 0, 0
                        c = c0
                        while c < c1:
                            tag, c = varint(buf, c, c1)
                            if c < 0:
                                return FALLBACK, 0, 0, 0, 0, 0
                            f3 = np.int64(tag >> np.uint64(3))
                            wt3 = np.int64(tag & np.uint64(7))
                            if f3 == 1 or f3 == 2:
                                g0, g1 = string_field(buf, c, c1, wt3)
                                if g0 < 0:
                                    return FALLBACK, 0, 0, 0, 0, 0
                                if f3 == 1:
                                    scopes[sci, SC_NAME_OFF] = g0
                                    scopes[sci, SC_NAME_LEN] = g1 - g0
                                else:
                                    scopes[sci, SC_VER_OFF] = g0
                                    scopes[sci, SC_VER_LEN] = g1 - g0
                                c = g1
                            elif f3 == 3:
                                return FALLBACK, 0, 0, 0, 0, 0  # scope attributes: the reference reads them
                            elif f3 == 4:
                                c = skip(buf, c, c1, f3, wt3) if wt3 == 0 else -1
                            else:
                                c = skip(buf, c, c1, f3, wt3)
                            if c < 0:
                                return FALLBACK, 0, 0, 0, 0, 0
                        q = c1
                    elif f2 == 2:
                        if wt2 != 2:
                            return FALLBACK, 0, 0, 0, 0, 0
                        if ns >= spans.shape[0]:
                            return GROW, 0, 0, 0, 0, 0
                        c0, c1 = len_field(buf, q, s1)
                        if c0 < 0:
                            return FALLBACK, 0, 0, 0, 0, 0
                        ok, na, nkeys = _span(buf, c0, c1, spans, ns, attrs, na, ktab, kinfo, nkeys)
                        if not ok:
                            return (GROW if na < 0 else FALLBACK), 0, 0, 0, 0, 0
                        spans[ns, SP_RES] = ri
                        spans[ns, SP_SCOPE] = sci
                        ns += 1
                        q = c1
                    elif f2 == 3:
                        g0, g1 = string_field(buf, q, s1, wt2)
                        if g0 < 0:
                            return FALLBACK, 0, 0, 0, 0, 0
                        q = g1
                    else:
                        q = skip(buf, q, s1, f2, wt2)
                        if q < 0:
                            return FALLBACK, 0, 0, 0, 0, 0
                p = s1
            elif f == 3:
                g0, g1 = string_field(buf, p, r1, wt)
                if g0 < 0:
                    return FALLBACK, 0, 0, 0, 0, 0
                p = g1
            else:
                p = skip(buf, p, r1, f, wt)
                if p < 0:
                    return FALLBACK, 0, 0, 0, 0, 0
    return OK, ns, na, nr, nsc, nkeys
