"""The compiled traces decoder equals the reference (protobuf + collector.normalize), row for row.

Requests are written byte by byte with a tiny protobuf encoder, so the generator
reaches encodings an SDK never writes: unknown fields, a key sent twice, empty
values, huge and negative ints, non-finite doubles, invalid UTF-8, bad ids and
times, out-of-range enums. The oracle is the reference path itself: whatever
the fast path produces (or hands to the reference) must match what the
reference answers for the same bytes - rows, rejections, partial_success
message, skipped / unmapped counts, or the same 400.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inferledger.collector.attribution import plan_for
from inferledger.collector.columns import SPAN_ARROW_SCHEMA, rows_to_arrow
from inferledger.collector.decode import DecodeError, parse_request
from inferledger.collector.fastpath.columnar import _COLUMNAR_SLOTS, traces_table_fast
from inferledger.collector.fastpath.traces import normalize_traces_fast
from inferledger.collector.keymap import (
    S_CACHE_READ,
    S_CACHE_WRITE,
    S_COST,
    S_INPUT,
    S_INVOCATION,
    S_OUTPUT,
    S_REASONING,
    S_SERVER_PORT,
    S_STREAMING,
    S_TOTAL,
    S_TTFT,
    compiled_keys,
)
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.settings import AttributionSettings
from inferledger.collector.vocabularies import CONTENT_PREFIXES, SPAN_KEYS
from tests.otlp_builders import T0, ctx


# --- a minimal protobuf writer --------------------------------------------------------------
def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field: int, wt: int) -> bytes:
    return varint(field << 3 | wt)


def ld(field: int, payload: bytes) -> bytes:
    return tag(field, 2) + varint(len(payload)) + payload


def vi(field: int, n: int) -> bytes:
    return tag(field, 0) + varint(n)


def fx64(field: int, n: int) -> bytes:
    return tag(field, 1) + struct.pack("<Q", n & ((1 << 64) - 1))


UNKNOWN = [vi(99, 7), ld(77, b"\xff\xfe junk"), fx64(60, 1), tag(61, 5) + b"\x01\x02\x03\x04"]


def utf8(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


# --- strategies -----------------------------------------------------------------------------
KEYS = sorted(SPAN_KEYS) + [
    p + "0.message.role" for p in CONTENT_PREFIXES
] + [
    "team", "app.feature", "user.id", "session.id", "metadata", "http.route", "server.port",
    "ai.model.id", "ai.usage.promptTokens", "langchain.run", "llm.temperature", "llm.custom_thing",
    "gen_ai.unknown.key", "traceloop.workflow.name", "openinference.extra", "", "ключ",
]

HOT_KEYS = ["gen_ai.request.model", "llm.model_name", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
            "gen_ai.system", "gen_ai.provider.name", "team", "user.id", "gen_ai.response.finish_reasons",
            "llm.token_count.prompt", "gen_ai.usage.cost", "openinference.span.kind"]

texts = st.one_of(
    st.sampled_from(["", "chat", "gpt-4o", "openai", "Anthropic", "LLM", "stop", '["stop","length"]',
                     "12", " 7 ", "1e3", "true", "no", "api.openai.com", '{"team":"ml"}', "443"]),
    st.text(max_size=12),
)
ints = st.one_of(st.integers(-3, 70000), st.sampled_from([2**63 - 1, -(2**63), 2**40, -1]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 12.0, -3.0]))


def anyvalue(depth: int = 0):
    scalar = st.one_of(
        texts.map(lambda s: ld(1, utf8(s))),
        st.booleans().map(lambda b: vi(2, int(b))),
        ints.map(lambda n: vi(3, n)),
        floats.map(lambda f: tag(4, 1) + struct.pack("<d", f)),
        st.binary(max_size=6).map(lambda b: ld(7, b)),
        st.just(b""),  # an AnyValue with nothing set
    )
    scalar = st.one_of(scalar, scalar, scalar, scalar, st.just(ld(1, b"\xc3\x28")))  # rarely: invalid UTF-8
    if depth >= 1:
        return scalar
    return st.one_of(
        scalar, scalar,
        st.lists(anyvalue(depth + 1), max_size=3).map(lambda vs: ld(5, b"".join(ld(1, v) for v in vs))),
        st.lists(st.tuples(texts, anyvalue(depth + 1)), max_size=2).map(
            lambda kvs: ld(6, b"".join(ld(1, ld(1, utf8(k)) + ld(2, v)) for k, v in kvs))),
    )


@st.composite
def keyvalue(draw) -> bytes:
    key = draw(st.one_of(st.sampled_from(KEYS), st.sampled_from(HOT_KEYS)))  # hot keys: repeats and rank fights
    value = draw(anyvalue())
    parts = [ld(1, utf8(key)), ld(2, value)]
    mode = draw(st.sampled_from(["plain"] * 6 + ["no_value", "unknown", "key_twice", "value_first"]))
    if mode == "no_value":
        parts = parts[:1]
    elif mode == "unknown":
        parts.insert(1, draw(st.sampled_from(UNKNOWN)))
    elif mode == "key_twice":
        parts.insert(0, ld(1, b"ignored.first"))
    elif mode == "value_first":
        parts.reverse()
    return b"".join(parts)


ids16 = st.sampled_from([None] * 6 + [bytes(16), b"\x01" * 15, b""]).flatmap(
    lambda bad: st.binary(min_size=16, max_size=16) if bad is None else st.just(bad))
ids8 = st.sampled_from([None] * 6 + [bytes(8), b"\x02" * 9, b""]).flatmap(
    lambda bad: st.binary(min_size=8, max_size=8) if bad is None else st.just(bad))


@st.composite
def span(draw) -> bytes:
    start = draw(st.one_of(st.just(T0), st.sampled_from([0, T0 + 5, 2**63 - 1, 2**64 - 1])))
    end = draw(st.one_of(st.just(T0 + 1_500_000_000), st.sampled_from([T0 - 1, 253402300800 * 10**9, 2**64 - 1])))
    fields = [ld(1, draw(ids16)), ld(2, draw(ids8))]
    if draw(st.booleans()):
        fields.append(ld(4, draw(ids8)))
    fields.append(ld(5, utf8(draw(texts))))
    fields.append(vi(6, draw(st.sampled_from([0, 1, 3, 5, 6, -1, 2**31]))))
    fields += [fx64(7, start), fx64(8, end)]
    fields += [ld(9, kv) for kv in draw(st.lists(keyvalue(), max_size=8))]
    status = draw(st.sampled_from([None, (0, ""), (2, ""), (2, "boom"), (1, "ok"), (7, ""), (-5, "x")]))
    if status is not None:
        fields.append(ld(15, (ld(2, utf8(status[1])) if status[1] else b"") + vi(3, status[0])))
    extra = draw(st.sampled_from(["none"] * 12 + ["unknown"] * 3 + ["trace_state", "flags", "event", "bad_name"]))
    if extra == "unknown":
        fields.insert(draw(st.integers(0, len(fields))), draw(st.sampled_from(UNKNOWN)))
    elif extra == "trace_state":
        fields.append(ld(3, b"k=v"))
    elif extra == "flags":
        fields.append(tag(16, 5) + b"\x01\x00\x00\x00")
    elif extra == "event":
        fields.append(ld(11, ld(2, b"exception") + ld(3, ld(1, b"exception.type") + ld(2, ld(1, b"ValueError")))))
    elif extra == "bad_name":
        fields.append(ld(5, b"\xed\xa0\x80"))  # a UTF-8 encoded surrogate: invalid
    return b"".join(fields)


RESOURCE_KEYS = ["service.name", "service.version", "deployment.environment", "deployment.environment.name",
                 "host.name", "k8s.namespace.name", "k8s.pod.name", "telemetry.sdk.name", "team",
                 "service.namespace", "feature"]


@st.composite
def request(draw) -> bytes:
    out = []
    for _ in range(draw(st.integers(1, 2))):
        res_kvs = []
        for k in draw(st.lists(st.sampled_from(RESOURCE_KEYS), max_size=5)):
            v = draw(st.sampled_from(["chat-api", "openlit", "prod", "ml", ""]))
            res_kvs.append(ld(1, ld(1, utf8(k)) + ld(2, ld(1, utf8(v)))))
        rs = [ld(1, b"".join(res_kvs))] if draw(st.booleans()) or res_kvs else []
        for _ in range(draw(st.integers(0, 2))):
            scope_name = draw(st.sampled_from(["", "openinference.instrumentation.openai", "openlit.otel",
                                               "opentelemetry.instrumentation.openai_v2"]))
            ss = [ld(1, ld(1, utf8(scope_name)) + ld(2, b"1.0"))]
            ss += [ld(2, s) for s in draw(st.lists(span(), max_size=4))]
            if draw(st.booleans()):
                ss.append(ld(3, b"https://opentelemetry.io/schemas/1.30.0"))
            rs.append(ld(2, b"".join(ss)))
        out.append(ld(1, b"".join(rs)))
    return b"".join(out)


def counts(batch) -> tuple:
    return (batch.rejected, batch.error_message, batch.skipped, batch.unmapped_spans,
            dict(batch.unmapped_span_scopes), dict(batch.unmapped_keys), batch.unmapped_keys_dropped)


def outcome(batch) -> tuple:
    return (batch.rows, *counts(batch))


def table_outcome(batch) -> tuple:
    """The accepted spans as the Arrow table the writer gets, row for row, then the counts."""
    table = batch.table if hasattr(batch, "table") else rows_to_arrow(batch.rows, SPAN_ARROW_SCHEMA)
    assert table.schema == SPAN_ARROW_SCHEMA
    return (table.to_pylist(), *counts(batch))


def reference(payload: bytes, c, as_table: bool = False) -> tuple:
    try:
        req = parse_request("traces", payload, "protobuf")
    except DecodeError as exc:
        return ("error", exc.status, exc.message)
    batch = normalize_traces(req, c)
    return table_outcome(batch) if as_table else outcome(batch)


def fast(payload: bytes, c) -> tuple:
    batch = normalize_traces_fast(payload, c)
    if batch is None:
        event("handed to the reference")
        return reference(payload, c)  # exactly what the service does
    event("fast path")
    return outcome(batch)


def columnar(payload: bytes, c) -> tuple:
    batch = traces_table_fast(payload, c)
    if batch is None:
        return reference(payload, c, as_table=True)
    return table_outcome(batch)


CONTEXTS = [
    ctx(),
    ctx(capture_content=True),
    ctx(inference_services=["chat-api"]),
    ctx(attribution=AttributionSettings(team_keys=["team", "gen_ai.request.model"], feature_keys=["metadata"])),
]


def _paths_agree(payload: bytes, ci: int) -> None:
    c = CONTEXTS[ci]
    assert fast(payload, c) == reference(payload, c)
    assert columnar(payload, c) == reference(payload, c, as_table=True)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request(), st.sampled_from(range(len(CONTEXTS))))
def test_fast_path_equals_reference(payload: bytes, ci: int) -> None:
    _paths_agree(payload, ci)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request(), st.sampled_from(range(len(CONTEXTS))))
def test_fast_path_equals_reference_quick(payload: bytes, ci: int) -> None:
    """The same property on fewer examples, for the fast suite; `make test` runs the 400."""
    _paths_agree(payload, ci)


def test_ordinary_requests_take_the_fast_path() -> None:
    """The property above would hold trivially if everything went to the reference."""
    kv = b"".join(ld(9, ld(1, k) + ld(2, v)) for k, v in [
        (b"gen_ai.operation.name", ld(1, b"chat")), (b"gen_ai.request.model", ld(1, b"gpt-4o")),
        (b"gen_ai.usage.input_tokens", vi(3, 1200)), (b"gen_ai.request.temperature", tag(4, 1) + struct.pack("<d", 0.2)),
        (b"gen_ai.response.finish_reasons", ld(5, ld(1, ld(1, b"stop")))), (b"team", ld(1, b"search")),
    ])
    sp = ld(1, b"\x01" * 16) + ld(2, b"\x02" * 8) + ld(5, b"chat") + vi(6, 3) + fx64(7, T0) + fx64(8, T0 + 10**9) + kv
    payload = ld(1, ld(1, ld(1, ld(1, b"service.name") + ld(2, ld(1, b"chat-api")))) + ld(2, ld(2, sp)))
    c = ctx()
    batch = normalize_traces_fast(payload, c)
    assert batch is not None and len(batch.rows) == 1
    assert outcome(batch) == reference(payload, c)
    assert columnar(payload, c) == reference(payload, c, as_table=True)
    cb = traces_table_fast(payload, c)
    assert cb.table.num_rows == 1 and cb.row_code_spans == 0  # built column by column
    row = batch.rows[0]
    assert row[1] == "01" * 16 and row[18] == "gpt-4o" and row[20] == 1200 and row[29] == ["stop"]


def test_invalid_utf8_is_left_to_the_reference() -> None:
    sp = ld(1, b"\x01" * 16) + ld(2, b"\x02" * 8) + ld(5, b"\xc3\x28") + fx64(7, T0) + fx64(8, T0 + 1)
    payload = ld(1, ld(2, ld(2, sp)))
    assert normalize_traces_fast(payload, ctx()) is None
    assert reference(payload, ctx())[0] == "error"


@pytest.mark.slow
def test_requests_beyond_the_first_array_sizes_match() -> None:
    """Many tiny spans and thousands of distinct keys make the kernel ask for larger arrays."""
    spans = []
    for i in range(400):
        kv = b"".join(ld(9, ld(1, f"gen_ai.k{i}.{j}".encode()) + ld(2, vi(3, j))) for j in range(6))
        kv += ld(9, ld(1, b"gen_ai.request.model") + ld(2, ld(1, b"m")))
        spans.append(ld(2, ld(1, (i + 1).to_bytes(16, "big")) + ld(2, (i + 1).to_bytes(8, "big")) + fx64(7, T0) + fx64(8, T0 + 1) + kv))
    tiny = [ld(2, ld(2, b"\x01" * 8)) for _ in range(500)]  # rejected: no trace id
    payload = ld(1, ld(2, b"".join(spans + tiny)))
    c = ctx()
    batch = normalize_traces_fast(payload, c)
    assert batch is not None and len(batch.rows) == 400 and batch.rejected == 500
    assert outcome(batch) == reference(payload, c)
    assert columnar(payload, c) == reference(payload, c, as_table=True)


def test_prepare_payload_decoders_store_the_same_table() -> None:
    """The setting reaches the receivers' preparation step, and both decoders give one Arrow table."""
    import pytest

    from inferledger.collector.prepare import prepare_payload
    from inferledger.collector.settings import IngestSettings
    from tests.otlp_payloads import genai_spans, traces_request_bytes

    body = traces_request_bytes(genai_spans(5))
    out = {}
    for decoder in ("reference", "fast"):
        p = prepare_payload("traces", body, "protobuf", None, "acme", IngestSettings(decoder=decoder), AttributionSettings())
        out[decoder] = p.tables["spans"].drop_columns(["ingested_at"])
    assert out["fast"].num_rows == 5 and out["fast"].equals(out["reference"])
    with pytest.raises(ValueError, match="decoder"):
        IngestSettings(decoder="turbo")


def test_spans_sharing_a_key_sequence_keep_their_own_values() -> None:
    """Spans of one request with the same keys in the same order, values differing: empty
    attribution values, a slot filled twice, a lower-ranked key for the same slot, and the same
    array / map values repeated (flat and nested) must read as the reference reads each span."""
    s, i_, d = (lambda t: ld(1, t)), (lambda n: vi(3, n)), (lambda x: tag(4, 1) + struct.pack("<d", x))
    arr = lambda *vs: ld(5, b"".join(ld(1, v) for v in vs))
    kvl = lambda **kv: ld(6, b"".join(ld(1, ld(1, k.encode()) + ld(2, v)) for k, v in kv.items()))
    values = [
        (s(b"alpha"), s(b"gpt-4o"), arr(s(b"stop")), kvl(team=s(b"red")), i_(10), s(b"x")),
        (s(b""), s(b"gpt-4o"), arr(s(b"stop")), kvl(team=s(b"red")), i_(-3), s(b"")),
        (s(b"beta"), i_(7), arr(s(b"stop"), arr(s(b"nested"))), kvl(team=arr(s(b"a"))), d(2.5), arr(s(b"x"))),
        (i_(0), s(b"claude"), arr(s(b"stop"), arr(s(b"nested"))), kvl(team=arr(s(b"a"))), s(b"12"), ld(6, ld(1, ld(1, b"x")))),  # same bytes, read as a map
        (s(b"alpha"), s(b"gpt-4o"), arr(s(b"length")), kvl(), i_(10), s(b"x")),
    ]
    keys = [b"team", b"gen_ai.request.model", b"gen_ai.response.finish_reasons", b"metadata",
            b"gen_ai.usage.prompt_tokens", b"gen_ai.usage.input_tokens"]  # the deprecated key first
    spans = []
    for n in range(40):
        vals = values[n % len(values)]
        kv = b"".join(ld(9, ld(1, k) + ld(2, v)) for k, v in zip(keys, vals))
        kv += ld(9, ld(1, b"team") + ld(2, vals[0]))  # the same key again: the later value counts
        kv += ld(9, ld(1, b"llm.usage.prompt_tokens") + ld(2, i_(n)))
        spans.append(ld(2, ld(1, (n + 1).to_bytes(16, "big")) + ld(2, (n + 1).to_bytes(8, "big")) + ld(5, b"chat")
                        + fx64(7, T0) + fx64(8, T0 + 10**9) + kv))
    payload = ld(1, ld(1, ld(1, ld(1, b"service.name") + ld(2, s(b"chat-api")))) + ld(2, b"".join(spans)))
    for c in CONTEXTS:
        batch = normalize_traces_fast(payload, c)
        assert batch is not None
        assert len(batch.rows) == 40
        assert outcome(batch) == reference(payload, c)
        assert columnar(payload, c) == reference(payload, c, as_table=True)


# --- many spans sharing a few key sequences: the columnar path's groups --------------------
_PLAN_KEYS = compiled_keys(plan_for(AttributionSettings()))
_TOKEN_SLOTS = {S_INPUT, S_OUTPUT, S_TOTAL, S_CACHE_READ, S_CACHE_WRITE, S_REASONING, S_SERVER_PORT}
_FLOAT_SLOTS = {S_TTFT, S_COST}
odd_texts = st.sampled_from(["", "модель-4", 'quote"and\\back', "line\nbreak", "tab\tbell\x07", "\x1f", "😀 emoji",
                             "</script>", "plain"])
odd_values = st.one_of(
    odd_texts.map(lambda s: ld(1, utf8(s))),
    st.sampled_from([0, 7, 65535, 65536, 2**40, 2**63 - 1, -1, -(2**63)]).map(lambda n: vi(3, n)),
    st.sampled_from([0.0, 0.25, 1e16, -2.5, float("nan"), float("inf"), 1e-7]).map(
        lambda f: tag(4, 1) + struct.pack("<d", f)),
    st.booleans().map(lambda b: vi(2, int(b))),
    st.just(b""),
    st.sampled_from([ld(5, ld(1, ld(1, b"stop"))), ld(5, b""), ld(7, b"\x00\xff"), ld(6, ld(1, ld(1, b"k") + ld(2, ld(1, b"v"))))]),
)


def plain_value(key: str):
    """The value type the reference reads unchanged for this key (what an SDK sends)."""
    spec = _PLAN_KEYS.get(key)
    slot = spec[0] if spec is not None else None
    if slot in _TOKEN_SLOTS:
        return st.integers(0, 5000).map(lambda n: vi(3, n))
    if slot in _FLOAT_SLOTS:
        return st.sampled_from([0.0, 0.125, 3.5, 12]).map(
            lambda f: vi(3, f) if type(f) is int else tag(4, 1) + struct.pack("<d", f))
    if slot == S_STREAMING:
        return st.booleans().map(lambda b: vi(2, int(b)))
    if slot == S_INVOCATION:
        return st.sampled_from(['{"model":"gpt-4o","stream":true}', '{"temperature":0.1}', '{"user":"u-1"}',
                                '{"model":"","metadata":{"user_id":7}}', '{"stream":"maybe"}', "[1]", "{bad",
                                '{"model":["x"],"user":"ü\\n"}']).map(lambda t: ld(1, utf8(t)))
    return st.sampled_from(["gpt-4o", "chat", "openai", "anthropic", "search", "stop", "", "ok",
                            "<class 'openai.RateLimitError'>"]).map(
        lambda s: ld(1, utf8(s)))


TEMPLATE_KEYS = sorted(SPAN_KEYS) + ["team", "feature", "user.id", "session.id", "metadata", "http.route",
                                     "llm.custom_thing", "gen_ai.unknown.key", "app.note", "ключ"]
# keys whose plain values the columnar path reads itself (the others send a span to the row code)
COLUMNAR_KEYS = [k for k in TEMPLATE_KEYS if k != "metadata" and (
    _PLAN_KEYS.get(k) is None or _PLAN_KEYS[k][0] in _COLUMNAR_SLOTS or _PLAN_KEYS[k][0] < 0)]


@st.composite
def shared_shapes_request(draw) -> bytes:
    key = st.one_of(st.sampled_from(COLUMNAR_KEYS), st.sampled_from(COLUMNAR_KEYS), st.sampled_from(TEMPLATE_KEYS))
    templates = draw(st.lists(st.lists(key, min_size=1, max_size=8), min_size=1, max_size=3))
    spans = []
    for n in range(draw(st.integers(1, 24))):
        keys = templates[draw(st.integers(0, len(templates) - 1))]
        plain = draw(st.sampled_from([True] * 3 + [False]))  # a span an SDK writes, or one with odd values
        kv = b"".join(ld(9, ld(1, utf8(k)) + ld(2, draw(plain_value(k) if plain else st.one_of(plain_value(k), odd_values))))
                      for k in keys)
        start = T0 + n * 1000 + draw(st.sampled_from([0, 0, 0, 7]))
        end = start + (1_500_000_000 if plain else draw(st.sampled_from([1_500_000_000, 999, 0, 10**16])))
        parent = draw(st.sampled_from([b"", b"", (n + 7).to_bytes(8, "big"), b"\x05" * 3]))
        status = draw(st.sampled_from([b"", ld(15, vi(3, 2)), ld(15, ld(2, b"bad \"thing\"") + vi(3, 2)), ld(15, vi(3, 1))]))
        spans.append(ld(1, (n + 1).to_bytes(16, "big")) + ld(2, (n + 1).to_bytes(8, "big"))
                     + (ld(4, parent) if parent else b"") + ld(5, utf8(draw(odd_texts)))
                     + vi(6, draw(st.sampled_from([1, 3, 9]))) + fx64(7, start) + fx64(8, end) + kv + status)
    scope = draw(st.sampled_from([b"", b"openinference.instrumentation.openai", b"openlit.otel"]))
    res = draw(st.sampled_from([b"chat-api", b"other"]))
    rs = ld(1, ld(1, ld(1, b"service.name") + ld(2, ld(1, res))))
    return ld(1, rs + ld(2, ld(1, ld(1, scope)) + b"".join(ld(2, s) for s in spans)))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shared_shapes_request(), st.sampled_from(range(len(CONTEXTS))))
def test_columnar_groups_equal_reference(payload: bytes, ci: int) -> None:
    """Spans of one key sequence with plain values (built column by column) mixed with spans whose
    values need the row code (strings for counts, NaN, out-of-bounds numbers, odd strings)."""
    c = CONTEXTS[ci]
    batch = traces_table_fast(payload, c)
    assert batch is not None
    if batch.table.num_rows > batch.row_code_spans:
        event("some rows built column by column")
    if batch.row_code_spans:
        event("some spans through the row code")
    assert table_outcome(batch) == reference(payload, c, as_table=True)


@pytest.mark.slow
def test_large_groups_of_distinct_values_equal_reference() -> None:
    """Hundreds of spans of one key sequence whose values mostly differ take the column-wide
    paths (Arrow takes, the escape scan, int casts) instead of work per distinct value."""
    s, i_ = (lambda t: ld(1, utf8(t))), (lambda n: vi(3, n))
    specials = ['say "hi"', "back\\slash", "new\nline", "ctl\x01", "юникод", "😀", "", "</tag>", "\t"]
    spans = []
    for n in range(300):
        text = specials[n % len(specials)] if n % 3 == 0 else f"value-{n}-ü"
        kv = [
            (b"gen_ai.operation.name", s("chat")), (b"gen_ai.request.model", s("" if n % 7 == 0 else f"model-{n}")),
            (b"gen_ai.response.id", s(f"resp-{n}")), (b"gen_ai.usage.input_tokens", i_(n * 3)),
            (b"app.note", s(text)), (b"app.plain", s(f"p-{n}-ü")), (b"app.count", i_([-(2**63), 2**63 - 1, -1, 0][n % 4] if n % 5 == 0 else n)),
            (b"feature", s("" if n % 4 == 0 else f"feat-{n}")), (b"gen_ai.prompt.0.content", s(text)),
            (b"server.port", i_(n)), (b"llm.invocation_parameters", s(f'{{"model":"inv-{n % 9}","stream":{"true" if n % 2 else "false"}}}' if n % 3 else "{}")), (b"error.type", s(["", "timeout", "<class 'openai.APIError'>", "<odd"][n % 4])), (b"gen_ai.response.finish_reasons", s(f"reason-{n}")),
        ]
        attrs = b"".join(ld(9, ld(1, k) + ld(2, v)) for k, v in kv)
        spans.append(ld(1, (n + 1).to_bytes(16, "big")) + ld(2, (n + 1).to_bytes(8, "big")) + ld(5, utf8(text))
                     + fx64(7, T0 + n) + fx64(8, T0 + n + 10**9) + attrs + ld(15, ld(2, utf8(text)) + vi(3, n % 3)))
    payload = ld(1, ld(1, ld(1, ld(1, b"service.name") + ld(2, s("chat-api")))) + ld(2, b"".join(ld(2, sp) for sp in spans)))
    for c in CONTEXTS:
        batch = traces_table_fast(payload, c)
        assert batch is not None and batch.row_code_spans == 0 and batch.table.num_rows == 300
        assert table_outcome(batch) == reference(payload, c, as_table=True)
