"""Column order and Arrow schemas of the canonical ingest tables.

The normalizers emit tuples in exactly this order and the writer hands them to
DuckDB as Arrow tables with these schemas, so the two must mirror
analytics/migrations/0001_core.sql plus 0003_span_provenance.sql; tests/test_normalize_columns.py checks it
against a real warehouse.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa

_TS = pa.timestamp("us")
_STR = pa.string()
_JSON = pa.string()  # DuckDB casts VARCHAR to JSON on insert

_SPAN_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("tenant", _STR),
    ("trace_id", _STR),
    ("span_id", _STR),
    ("parent_span_id", _STR),
    ("start_time", _TS),
    ("end_time", _TS),
    ("duration_s", pa.float64()),
    ("service_name", _STR),
    ("service_version", _STR),
    ("deployment_environment", _STR),
    ("span_name", _STR),
    ("span_kind", _STR),
    ("status_code", _STR),
    ("status_message", _STR),
    ("is_error", pa.bool_()),
    ("error_type", _STR),
    ("operation", _STR),
    ("provider", _STR),
    ("request_model", _STR),
    ("response_model", _STR),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
    ("cache_read_tokens", pa.int64()),
    ("cache_write_tokens", pa.int64()),
    ("reasoning_tokens", pa.int64()),
    ("total_tokens", pa.int64()),
    ("time_to_first_token_s", pa.float64()),
    ("is_streaming", pa.bool_()),
    ("finish_reason", _STR),
    ("finish_reasons", pa.list_(_STR)),
    ("server_address", _STR),
    ("server_port", pa.int32()),
    ("team", _STR),
    ("feature", _STR),
    ("user_id", _STR),
    ("conversation_id", _STR),
    ("host_name", _STR),
    ("k8s_namespace", _STR),
    ("k8s_pod", _STR),
    ("client_cost_usd", pa.float64()),
    ("vocabulary", _STR),
    ("attributes", _JSON),
    ("resource_attributes", _JSON),
    ("content", _JSON),
    ("ingested_at", _TS),
    # provenance and call identity (analytics/migrations/0003_span_provenance.sql)
    ("scope_name", _STR),
    ("scope_version", _STR),
    ("is_inference", pa.bool_()),
    ("response_id", _STR),
    ("input_includes_cache", pa.bool_()),
    ("duplicate_of", _STR),
    ("deduped_at", _TS),
)

_GPU_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("time", _TS),
    ("tenant", _STR),
    ("host", _STR),
    ("gpu_uuid", _STR),
    ("gpu_index", pa.int32()),
    ("gpu_model", _STR),
    ("mig_profile", _STR),
    ("mig_instance", _STR),
    ("k8s_namespace", _STR),
    ("k8s_pod", _STR),
    ("k8s_container", _STR),
    ("utilization", pa.float64()),
    ("memory_used_bytes", pa.float64()),
    ("memory_total_bytes", pa.float64()),
    ("power_w", pa.float64()),
    ("energy_j", pa.float64()),
    ("temperature_c", pa.float64()),
    ("vocabulary", _STR),
    ("attributes", _JSON),
    ("ingested_at", _TS),
)

_METRIC_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("time", _TS),
    ("start_time", _TS),
    ("tenant", _STR),
    ("metric_name", _STR),
    ("metric_type", _STR),
    ("unit", _STR),
    ("is_monotonic", pa.bool_()),
    ("value", pa.float64()),
    ("count", pa.int64()),
    ("sum", pa.float64()),
    ("min", pa.float64()),
    ("max", pa.float64()),
    ("bucket_counts", pa.list_(pa.int64())),
    ("explicit_bounds", pa.list_(pa.float64())),
    ("service_name", _STR),
    ("attributes", _JSON),
    ("resource_attributes", _JSON),
    ("ingested_at", _TS),
)

_LOG_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("time", _TS),
    ("tenant", _STR),
    ("trace_id", _STR),
    ("span_id", _STR),
    ("severity_number", pa.int32()),
    ("severity_text", _STR),
    ("event_name", _STR),
    ("service_name", _STR),
    ("body", _JSON),
    ("attributes", _JSON),
    ("ingested_at", _TS),
)

_NOT_NULL = {
    "spans": {"tenant", "trace_id", "span_id", "start_time", "end_time", "duration_s", "is_error",
              "team", "feature", "vocabulary", "ingested_at"},
    "gpu_samples": {"time", "tenant", "vocabulary", "ingested_at"},
    "metric_points": {"time", "tenant", "metric_name", "metric_type", "ingested_at"},
    "log_records": {"time", "tenant", "ingested_at"},
}


def _schema(table: str, fields: tuple[tuple[str, pa.DataType], ...]) -> pa.Schema:
    nn = _NOT_NULL[table]
    return pa.schema([pa.field(n, t, nullable=n not in nn) for n, t in fields])


SPAN_COLUMNS: tuple[str, ...] = tuple(n for n, _ in _SPAN_FIELDS)
GPU_COLUMNS: tuple[str, ...] = tuple(n for n, _ in _GPU_FIELDS)
METRIC_COLUMNS: tuple[str, ...] = tuple(n for n, _ in _METRIC_FIELDS)
LOG_COLUMNS: tuple[str, ...] = tuple(n for n, _ in _LOG_FIELDS)

SPAN_ARROW_SCHEMA: pa.Schema = _schema("spans", _SPAN_FIELDS)
GPU_ARROW_SCHEMA: pa.Schema = _schema("gpu_samples", _GPU_FIELDS)
METRIC_ARROW_SCHEMA: pa.Schema = _schema("metric_points", _METRIC_FIELDS)
LOG_ARROW_SCHEMA: pa.Schema = _schema("log_records", _LOG_FIELDS)

# table name -> (columns, schema), for the writer and the tests
TABLES: dict[str, tuple[tuple[str, ...], pa.Schema]] = {
    "spans": (SPAN_COLUMNS, SPAN_ARROW_SCHEMA),
    "gpu_samples": (GPU_COLUMNS, GPU_ARROW_SCHEMA),
    "metric_points": (METRIC_COLUMNS, METRIC_ARROW_SCHEMA),
    "log_records": (LOG_COLUMNS, LOG_ARROW_SCHEMA),
}


def rows_to_arrow(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Row tuples -> Arrow table (column-wise, which pyarrow converts far faster than row-wise)."""
    if not rows:
        return schema.empty_table()
    n = len(rows)
    return pa.Table.from_arrays([_column(c, f.type, n) for c, f in zip(zip(*rows), schema)], schema=schema)


def _column(values: tuple, type_: pa.DataType, n: int) -> pa.Array:
    """One column. All NULL (most optional fields of a request) or one timestamp repeated
    (`ingested_at`) skip pyarrow's per-value conversion, which is the costly part for those;
    for None and datetime, equal values are the same Arrow value."""
    first = values[0]
    if first is None:
        if values.count(None) == n:
            return pa.nulls(n, type_)
    elif type(first) is datetime and values[-1] == first and values.count(first) == n:
        return pa.array([first], type=type_).take(np.zeros(n, np.int32))
    return pa.array(values, type=type_)
