"""Decoded OTLP log requests -> `log_records` rows.

Every record is stored (GenAI events such as `gen_ai.client.inference.operation.details`
arrive as logs), but bodies and message attributes carry prompts and completions,
so `body` is kept only when `ingest.capture_content` is on and content keys never
reach `attributes`.
"""

from __future__ import annotations

from typing import Any

from inferledger.collector.attributes import any_value, dumps_json, json_or_none, kv_dict, to_str
from inferledger.collector.content import is_content_key
from inferledger.collector.ingest_batch import MAX_UNIX_NS, IngestContext, NormalizedBatch, ns_to_datetime


def normalize_logs(req: Any, ctx: IngestContext) -> NormalizedBatch:
    """ExportLogsServiceRequest -> `log_records` rows (a record without any timestamp is rejected)."""
    out = NormalizedBatch()
    capture = ctx.ingest.capture_content
    tenant = ctx.tenant
    received = ctx.received_at
    for rl in req.resource_logs:
        resource = kv_dict(rl.resource.attributes)
        service = to_str(resource.get("service.name"))
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                t = rec.time_unix_nano or rec.observed_time_unix_nano
                tid, sid = rec.trace_id, rec.span_id
                problem = None
                if not t:
                    problem = "time_unix_nano and observed_time_unix_nano are both 0"
                elif t > MAX_UNIX_NS:
                    problem = f"time_unix_nano {t} is beyond year 9999"
                elif tid and len(tid) != 16:
                    problem = f"trace_id is {len(tid)} bytes, must be 16 (or empty)"
                elif sid and len(sid) != 8:
                    problem = f"span_id is {len(sid)} bytes, must be 8 (or empty)"
                if problem is not None:
                    label = rec.event_name or rec.severity_text or "log record"
                    out.reject(f"{label!r}: {problem}")
                    continue
                attrs = {}
                event_name = rec.event_name or None
                for kv in rec.attributes:
                    k = kv.key
                    if k == "event.name" and event_name is None:
                        event_name = to_str(any_value(kv.value))
                    if is_content_key(k):
                        continue
                    attrs[k] = any_value(kv.value)
                body = None
                if capture and rec.HasField("body"):
                    body = dumps_json(any_value(rec.body))
                out.rows.append(
                    (
                        ns_to_datetime(t),
                        tenant,
                        tid.hex() if tid else None,
                        sid.hex() if sid else None,
                        rec.severity_number or None,
                        rec.severity_text or None,
                        event_name,
                        service,
                        body,
                        json_or_none(attrs),
                        received,
                    )
                )
    return out
