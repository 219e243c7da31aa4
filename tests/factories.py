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


def insert_spans(wh: Warehouse, rows: list[dict[str, Any]]) -> int:
    placeholders = ", ".join("?" for _ in SPAN_COLUMNS)
    wh.con.executemany(
        f"INSERT OR IGNORE INTO spans ({', '.join(SPAN_COLUMNS)}) VALUES ({placeholders})",
        [[r.get(c) for c in SPAN_COLUMNS] for r in rows],
    )
    return len(rows)




def insert_gpu_samples(wh: Warehouse, rows: list[dict[str, Any]]) -> int:
    defaults = {c: None for c in GPU_COLUMNS}
    defaults.update(tenant="default", vocabulary="dcgm", attributes="{}", ingested_at=utcnow())
    import pyarrow as pa

    # one Arrow insert: executemany takes minutes for a day of 15 s samples
    table = pa.Table.from_pylist([{c: {**defaults, **r}.get(c) for c in GPU_COLUMNS} for r in rows])
    wh.con.register("__gpu_rows", table)
    try:
        wh.con.execute(f"INSERT INTO gpu_samples ({', '.join(GPU_COLUMNS)}) SELECT {', '.join(GPU_COLUMNS)} FROM __gpu_rows")
    finally:
        wh.con.unregister("__gpu_rows")
    return len(rows)
