"""The normalizers' rows land in the real warehouse tables through the Arrow schemas."""

from __future__ import annotations

import pytest
from opentelemetry.proto.metrics.v1 import metrics_pb2

from inferledger.collector.columns import (
    TABLES,
    rows_to_arrow,
)
from inferledger.collector.logs_normalize import normalize_logs
from inferledger.collector.metrics_normalize import normalize_metrics
from inferledger.collector.normalize import normalize_traces
from inferledger.collector.vocabularies import CONTENT, KNOWN, SPAN_KEYS, VOCABULARIES
from tests.otlp_builders import T0, ctx, gauge, kvs, logs, metrics, sdk_traces, span, traces
from tests.test_normalize_traces import GENAI_CURRENT, OPENINFERENCE, OPENLIT, OPENLLMETRY_04


@pytest.mark.parametrize("table", sorted(TABLES))
def test_columns_and_types_match_the_migration(warehouse, table):
    columns, schema = TABLES[table]
    described = warehouse.con.execute(f"DESCRIBE {table}").fetchall()
    assert tuple(r[0] for r in described) == columns
    assert tuple(schema.names) == columns
    duck_types = {r[0]: r[1] for r in described}
    for f in schema:
        want = duck_types[f.name]
        got = str(f.type)
        expected = {"VARCHAR": "string", "JSON": "string", "TIMESTAMP": "timestamp[us]", "DOUBLE": "double",
                    "BIGINT": "int64", "INTEGER": "int32", "BOOLEAN": "bool", "VARCHAR[]": "list<item: string>",
                    "BIGINT[]": "list<item: int64>", "DOUBLE[]": "list<item: double>"}[want]
        assert got == expected, (f.name, want, got)
        assert f.nullable == (dict((r[0], r[2]) for r in described)[f.name] == "YES"), f.name


def _insert(wh, table, rows, verb="INSERT"):
    _, schema = TABLES[table]
    wh.con.register("_b", rows_to_arrow(rows, schema))
    try:
        wh.con.execute(f"{verb} INTO {table} SELECT * FROM _b")
    finally:
        wh.con.unregister("_b")


def test_every_vocabulary_round_trips_through_duckdb(warehouse):
    reqs = [
        traces([span(GENAI_CURRENT)]),
        traces([span({"gen_ai.system": "openai", "gen_ai.request.model": "m", "gen_ai.usage.prompt_tokens": 1})]),
        sdk_traces([("x", OPENINFERENCE)]),
        traces([span(OPENLLMETRY_04)], resource={"service.name": "s", "team": "t"}),
        traces([span({"llm.request.type": "chat", "gen_ai.request.model": "m", "gen_ai.is_streaming": True,
                      "gen_ai.usage.input_tokens": 3})]),
        traces([span(OPENLIT)], resource={"service.name": "s", "telemetry.sdk.name": "openlit"}),
        traces([span({"http.route": "/generate"})], resource={"service.name": "vllm"}),
        traces([span({"ai.operationId": "ai.generateText", "ai.model.id": "gpt-4o-mini",
                      "ai.model.provider": "openai.chat", "ai.usage.promptTokens": 4})]),
    ]
    c = ctx(capture_content=True, inference_services=["vllm"])
    rows = [r for req in reqs for r in normalize_traces(req, c).rows]
    assert len(rows) == 8
    _insert(warehouse, "spans", rows, "INSERT")  # resends are dropped by the writer: tests/test_recent_ids.py
    got = warehouse.con.execute(
        "SELECT vocabulary, count(*), sum(input_tokens), max(len(finish_reasons)) FROM spans GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [g[0] for g in got] == sorted(VOCABULARIES)
    assert all(g[1] == 1 for g in got)
    j = warehouse.con.execute(
        "SELECT json_extract_string(attributes, '$.\"gen_ai.request.temperature\"'), content IS NOT NULL "
        "FROM spans WHERE vocabulary = 'otel_genai'").fetchone()
    assert j == ("0.2", False)
    (has_content,) = warehouse.con.execute(
        "SELECT json_extract_string(content, '$.\"input.value\"') FROM spans WHERE vocabulary='openinference'"
    ).fetchone()
    assert has_content == "What is my balance?"


def test_gpu_metric_and_log_rows_insert(warehouse):
    la = {"gpu": "0", "UUID": "GPU-1", "Hostname": "n1"}
    hist = metrics_pb2.Metric(name="gen_ai.client.operation.duration", unit="s", histogram=metrics_pb2.Histogram(
        data_points=[metrics_pb2.HistogramDataPoint(time_unix_nano=T0, count=2, sum=1.5, bucket_counts=[1, 1],
                                                    explicit_bounds=[1.0], attributes=kvs({"a": 1}))]))
    gpu, points = normalize_metrics(metrics([gauge("DCGM_FI_DEV_GPU_UTIL", [(la, 50, T0)]),
                                             gauge("DCGM_FI_DEV_FB_USED", [(la, 10, T0)]), hist]), ctx())
    _insert(warehouse, "gpu_samples", gpu.rows)
    _insert(warehouse, "metric_points", points.rows)
    from opentelemetry.proto.logs.v1 import logs_pb2
    lg = normalize_logs(logs([logs_pb2.LogRecord(time_unix_nano=T0, severity_number=9)]), ctx())
    _insert(warehouse, "log_records", lg.rows)
    assert warehouse.con.execute("SELECT utilization, memory_used_bytes FROM gpu_samples").fetchall() == [
        (0.5, 10 * 1024 * 1024)]
    assert warehouse.con.execute("SELECT bucket_counts, explicit_bounds FROM metric_points").fetchall() == [
        ([1, 1], [1.0])]
    assert warehouse.con.execute("SELECT count(*) FROM log_records").fetchone() == (1,)


def test_vocabulary_ranks_unique_per_slot():
    """Equal ranks would make 'which key wins' depend on attribute order."""
    seen: dict[str, set[int]] = {}
    for key, (slot, rank, _) in SPAN_KEYS.items():
        if slot in (CONTENT, KNOWN):
            continue
        assert rank not in seen.setdefault(slot, set()), key
        seen[slot].add(rank)


def test_non_finite_attribute_values_stay_valid_json(warehouse):
    sp = span({"gen_ai.request.model": "m", "x.score": float("nan"), "x.list": [float("inf"), 1.0]})
    batch = normalize_traces(traces([sp]), ctx())
    _insert(warehouse, "spans", batch.rows)
    got = warehouse.con.execute(
        "SELECT json_extract_string(attributes, '$.\"x.score\"'), json_extract(attributes, '$.\"x.list\"') FROM spans"
    ).fetchone()
    assert got == ("NaN", '["Infinity",1.0]')


ODD_VALUES = ["", "  ", "abc", -1, 2**62, 1.5, float("nan"), float("-inf"), True, [], ["a", 1], {"k": "v"}, b"\x00\xff"]


def test_any_value_type_under_any_known_key_never_breaks_a_batch(warehouse):
    """Instrumentations send odd types; the span must still normalize and insert."""
    spans = []
    for i, key in enumerate(sorted(SPAN_KEYS)):
        for j, odd in enumerate(ODD_VALUES):
            attrs = {"gen_ai.request.model": "m", key: odd}
            spans.append(span(attrs, name=f"{key}={j}", trace_id=(i * 100 + j + 1).to_bytes(16, "big")))
    batch = normalize_traces(traces(spans), ctx(capture_content=True))
    # Only implausible numbers (2**62 tokens, a negative cost or time to first token) are rejected, by name.
    assert batch.errors and all(("=4'" in e or "=3'" in e) and ("outside" in e or "exceeds" in e) for e in batch.errors)
    assert len(batch.rows) + batch.unmapped_spans + batch.rejected == len(spans)
    _insert(warehouse, "spans", batch.rows)
    (n,) = warehouse.con.execute("SELECT count(*) FROM spans").fetchone()
    assert n == len(batch.rows)


def test_null_and_repeated_timestamp_columns_convert_as_pyarrow_does():
    """rows_to_arrow skips per-value conversion for all-NULL and one-timestamp columns: the table
    must equal pyarrow's own value-by-value conversion, including near misses (a NULL first then
    values, a timestamp repeated but for the last row, equal instants given as aware datetimes)."""
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa

    t = datetime(2026, 1, 1, 12)
    schema = pa.schema([("a", pa.string()), ("b", pa.timestamp("us")), ("c", pa.timestamp("us")),
                        ("d", pa.list_(pa.string())), ("e", pa.int64()), ("f", pa.timestamp("us")),
                        ("g", pa.float64())])
    rows = [(None, t, t, None, None, t.replace(tzinfo=UTC), None) for _ in range(5)]
    rows[-1] = (None, t, t + timedelta(microseconds=1), None, 7, t.replace(tzinfo=UTC), -0.0)
    got = rows_to_arrow(rows, schema)
    want = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(zip(*rows), schema)], schema=schema)
    assert got.equals(want)
    assert got.column("a").null_count == 5 and got.column("e").to_pylist() == [None] * 4 + [7]
    assert got.column("c").to_pylist()[-1] == t + timedelta(microseconds=1)
    assert got.column("b").to_pylist() == [t] * 5
