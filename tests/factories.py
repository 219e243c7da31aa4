"""Canonical rows for analytics tests that need data already in the warehouse.

Ingest itself is tested through the real OTLP exporters; analytics tests may seed
the canonical tables directly with these helpers.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from inferledger.analytics.warehouse import Warehouse, utcnow
from inferledger.collector.columns import GPU_COLUMNS, SPAN_COLUMNS

SPAN_DEFAULTS: dict[str, Any] = {
    "tenant": "default",
    "parent_span_id": None,
    "service_name": "chat-api",
    "service_version": "1.0.0",
    "deployment_environment": "prod",
    "span_kind": "CLIENT",
    "status_code": "UNSET",
    "status_message": None,
    "is_error": False,
    "error_type": None,
    "operation": "chat",
    "provider": "openai",
    "request_model": "gpt-4o",
    "response_model": "gpt-4o-2024-08-06",
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "reasoning_tokens": 0,
    "total_tokens": None,
    "time_to_first_token_s": None,
    "is_streaming": False,
    "finish_reason": "stop",
    "finish_reasons": ["stop"],
    "server_address": "api.openai.com",
    "server_port": 443,
    "team": "search",
    "feature": "answers",
    "user_id": None,
    "conversation_id": None,
    "host_name": None,
    "k8s_namespace": None,
    "k8s_pod": None,
    "client_cost_usd": None,
    "vocabulary": "otel_genai",
    "attributes": "{}",
    "resource_attributes": "{}",
    "content": None,
}



def span_row(start: datetime, duration_s: float = 1.0, **overrides: Any) -> dict[str, Any]:
    row = dict(SPAN_DEFAULTS)
    row.update(
        trace_id=uuid.uuid4().hex,
        span_id=uuid.uuid4().hex[:16],
        start_time=start,
        end_time=start + timedelta(seconds=duration_s),
        duration_s=duration_s,
        ingested_at=utcnow(),
    )
    row.update(overrides)
    if row.get("span_name") is None:
        row["span_name"] = f"{row['operation']} {row['request_model']}"
    for key in ("attributes", "resource_attributes", "content"):
        if isinstance(row[key], dict):
            row[key] = json.dumps(row[key])
    return row


def _insert(wh: Warehouse, verb: str, table: str, columns: list[str], values: list[list[Any]]) -> None:
    """One bulk INSERT through Arrow (DuckDB's executemany goes row by row: 18 s for 3k rows here).

    Falls back to executemany where Arrow cannot type a column (mixed Python types).
    """
    import pyarrow as pa

    sql_cols = ", ".join(columns)
    try:
        tbl = pa.table({c: pa.array([v[i] for v in values]) for i, c in enumerate(columns)})
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        tbl = None
    if tbl is not None:
        cur = wh.cursor()  # its own cursor: the caller's may hold an unfinished result
        try:
            cur.register("_factory_rows", tbl)
            cur.execute(f"{verb} INTO {table} ({sql_cols}) SELECT {sql_cols} FROM _factory_rows")
            return
        except Exception:  # e.g. duplicate keys inside one batch: row by row below ignores them one at a time
            pass
        finally:
            cur.close()
    placeholders = ", ".join("?" for _ in columns)
    wh.con.executemany(f"{verb} INTO {table} ({sql_cols}) VALUES ({placeholders})", values)


def insert_spans(wh: Warehouse, rows: list[dict[str, Any]]) -> int:
    """Insert spans as the ingest writer would: a (tenant, trace_id, span_id) already stored is skipped."""
    if rows:
        stored = set(wh.con.execute("SELECT tenant, trace_id, span_id FROM spans").fetchall())
        values = []
        for r in rows:
            key = (r.get("tenant"), r.get("trace_id"), r.get("span_id"))
            if key not in stored:
                stored.add(key)
                values.append([r.get(c) for c in SPAN_COLUMNS])
        if values:
            _insert(wh, "INSERT", "spans", list(SPAN_COLUMNS), values)
    return len(rows)


def insert_gpu_samples(wh: Warehouse, rows: list[dict[str, Any]]) -> int:
    defaults = {c: None for c in GPU_COLUMNS}
    defaults.update(tenant="default", vocabulary="dcgm", attributes="{}", ingested_at=utcnow())
    if rows:
        _insert(wh, "INSERT", "gpu_samples", list(GPU_COLUMNS),
                [[{**defaults, **r}.get(c) for c in GPU_COLUMNS] for r in rows])
    return len(rows)
