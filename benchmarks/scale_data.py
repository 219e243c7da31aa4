"""A month of synthetic spans written straight to the lake's Parquet layout, vectorised with NumPy.

Layout and schema are the ones sealing produces (`analytics.lake.store`): one zstd
file per tenant, hour and collector node (`spans/tenant=T/day=D/HH.NODE.parquet`),
the warehouse's `spans` columns, sorted by start time. Every span has its own
(trace_id, span_id); a small share is resent, i.e. also written to another node's
file of the same hour, as a client retrying through a load balancer does, so readers
must dedupe. Tenants differ in size, teams and features follow a skewed mix, and the
models cover priced calls with cache and reasoning tokens, a service tier in the
attributes, a self-hosted model and one the catalog does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MONTH = datetime(2026, 10, 1)
DAYS = 31
TENANT_WEIGHTS = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04]
TEAMS = ["search", "ads", "support", "growth", "risk", "docs", "mail", "voice", "infra", "sales", "legal", "hr"]
FEATURES = ["answers", "summaries", "chat", "rerank", "extract", "classify", "translate", "agent"]
# provider, request model, response model, share, input-tokens median, cache share, reasoning
MODELS = [
    ("openai", "gpt-4o", "gpt-4o-2024-08-06", 0.22, 1800, 0.3, False),
    ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", 0.25, 900, 0.2, False),
    ("openai", "gpt-4.1", None, 0.08, 2500, 0.3, False),
    ("openai", "o3-mini", None, 0.05, 1500, 0.1, True),
    ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", 0.15, 4000, 0.5, False),
    ("anthropic", "claude-haiku-4-5", None, 0.08, 1200, 0.4, False),
    ("google", "gemini-2.5-flash", None, 0.06, 2000, 0.0, True),
    ("vllm", "meta-llama/Llama-3.1-8B-Instruct", None, 0.09, 700, 0.0, False),
    ("openai", "in-house-ft-model", None, 0.02, 800, 0.0, False),
]
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


@dataclass
class GenStats:
    spans: int = 0
    rows: int = 0  # spans plus resent copies
    files: int = 0
    bytes: int = 0


def span_schema() -> pa.Schema:
    """The `spans` schema exactly as sealing writes it (the warehouse's columns)."""
    from inferledger.analytics.warehouse import open_warehouse

    wh = open_warehouse(":memory:")
    try:
        return wh.con.sql("SELECT * FROM spans LIMIT 0").to_arrow_table().schema
    finally:
        wh.close()


def hex_strings(values: np.ndarray, digits: int = 16) -> pa.Array:
    """uint64 values as fixed-width lowercase hex strings, built directly as an Arrow string buffer."""
    be = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    nib = np.empty((len(values), 16), dtype=np.uint8)
    nib[:, 0::2] = _HEX[be >> 4]
    nib[:, 1::2] = _HEX[be & 15]
    data = np.ascontiguousarray(nib[:, 16 - digits:])
    offsets = np.arange(0, digits * (len(values) + 1), digits, dtype=np.int32)
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64: distinct inputs give distinct, random-looking outputs (a bijection on uint64)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _dict(values: list, idx: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(values, pa.string())).cast(pa.string())


def day_table(schema: pa.Schema, tenant: str, day: datetime, n: int, seq0: int, rng: np.random.Generator) -> pa.Table:
    """`n` spans of one tenant-day, sorted by start time; ids from the global sequence `seq0 + i`."""
    seq = np.arange(seq0, seq0 + n, dtype=np.uint64)
    # daily load curve: busier in working hours
    hour_w = 0.4 + np.sin(np.linspace(0, np.pi, 24)) ** 2
    hours = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    us = np.sort(hours.astype(np.int64) * 3_600_000_000 + rng.integers(0, 3_600_000_000, n))
    start = np.datetime64(day, "us") + us.astype("timedelta64[us]")
    m_idx = rng.choice(len(MODELS), size=n, p=np.array([m[3] for m in MODELS]) / sum(m[3] for m in MODELS))
    med = np.array([m[4] for m in MODELS], dtype=np.float64)[m_idx]
    in_t = np.maximum(1, rng.lognormal(np.log(med), 0.8)).astype(np.int64)
    in_t[rng.random(n) < 1e-5] = 210_000  # the odd very long prompt: above-200k prices
    cached = rng.random(n) < np.array([m[5] for m in MODELS])[m_idx]
    cr_t = np.where(cached, (in_t * rng.uniform(0.2, 0.9, n)).astype(np.int64), 0)
    cw_t = np.where(cached & (rng.random(n) < 0.1), (in_t - cr_t) // 4, 0)
    out_t = np.maximum(1, rng.lognormal(np.log(250), 0.9, n)).astype(np.int64)
    reasons = np.array([m[6] for m in MODELS])[m_idx]
    rs_t = np.where(reasons, (out_t * rng.uniform(0.3, 0.8, n)).astype(np.int64), 0)
    dur = rng.lognormal(np.log(0.9), 0.7, n) + out_t / 400
    err = rng.random(n) < 0.004
    streaming = rng.random(n) < 0.6
    ttft = np.where(streaming, dur * rng.uniform(0.05, 0.3, n), np.nan)
    team = np.minimum(rng.zipf(1.6, n) - 1, len(TEAMS) - 1)
    feat = np.minimum(rng.zipf(1.8, n) - 1, len(FEATURES) - 1)
    tier = np.where(m_idx < 4, rng.choice(4, size=n, p=[0.97, 0.015, 0.01, 0.005]), 0)
    attrs = ['{}', '{"openai.response.service_tier":"priority"}', '{"openai.response.service_tier":"flex"}',
             '{"inferledger.service_tier":"batch"}']
    pods = [f"vllm-{i}" for i in range(8)]
    cols = {
        "tenant": pa.array(np.full(n, tenant)), "trace_id": pc.binary_join_element_wise(
            hex_strings(mix64(seq)), hex_strings(seq), ""),
        "span_id": hex_strings(mix64(seq ^ np.uint64(0x5DEECE66D))),
        "start_time": pa.array(start), "end_time": pa.array(start + (dur * 1e6).astype("timedelta64[us]")),
        "duration_s": pa.array(dur), "service_name": _dict(["chat-api", "batch-worker", "agent-runner"], seq % 3),
        "deployment_environment": _dict(["prod", "staging"], (rng.random(n) < 0.08).astype(np.int64)),
        "span_name": _dict(["chat"], np.zeros(n, np.int64)), "span_kind": _dict(["client"], np.zeros(n, np.int64)),
        "status_code": _dict(["unset", "error"], err.astype(np.int64)), "is_error": pa.array(err),
        "operation": _dict(["chat"], np.zeros(n, np.int64)),
        "provider": _dict([m[0] for m in MODELS], m_idx), "request_model": _dict([m[1] for m in MODELS], m_idx),
        "response_model": _dict([m[2] for m in MODELS], m_idx),
        "input_tokens": pa.array(in_t), "output_tokens": pa.array(out_t), "cache_read_tokens": pa.array(cr_t),
        "cache_write_tokens": pa.array(cw_t), "reasoning_tokens": pa.array(rs_t),
        "time_to_first_token_s": pa.array(ttft, mask=~streaming), "is_streaming": pa.array(streaming),
        "team": _dict(TEAMS, team), "feature": _dict(FEATURES, feat),
        "k8s_pod": pa.DictionaryArray.from_arrays(pa.array((seq % 8).astype(np.int32), mask=m_idx != 7),
                                                  pa.array(pods)).cast(pa.string()),
        "vocabulary": _dict(["otel_genai"], np.zeros(n, np.int64)), "attributes": _dict(attrs, tier),
        "ingested_at": pa.array(start + np.timedelta64(2, "s")), "is_inference": pa.array(np.ones(n, dtype=bool)),
    }
    arrays = [cols[f.name].cast(f.type) if f.name in cols else pa.nulls(n, f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def generate(lake: Path, spans: int, *, tenants: int = 4, nodes: int = 2, resent: float = 0.002,
             seed: int = 7) -> GenStats:
    """`spans` spans of October 2026 across `tenants` and `nodes`, `resent` of them sealed by two nodes."""
    schema = span_schema()
    rng = np.random.default_rng(seed)
    w = np.array(TENANT_WEIGHTS[:tenants] or [1.0])
    w = w / w.sum()
    per_tenant = np.floor(w * spans).astype(np.int64)
    per_tenant[0] += spans - per_tenant.sum()
    st = GenStats()
    seq = 0
    for t in range(len(per_tenant)):
        per_day = np.full(DAYS, per_tenant[t] // DAYS)
        per_day[: per_tenant[t] - per_day.sum()] += 1
        for d in range(DAYS):
            day = MONTH + timedelta(days=d)
            n = int(per_day[d])
            table = day_table(schema, f"t{t}", day, n, seq, rng)
            seq += n
            node = rng.integers(0, nodes, n)
            again = rng.random(n) < resent
            hour = ((table["start_time"].to_numpy() - np.datetime64(day, "us")) // np.timedelta64(1, "h")).astype(int)
            folder = lake / "spans" / f"tenant=t{t}" / f"day={day:%Y-%m-%d}"
            folder.mkdir(parents=True, exist_ok=True)
            bounds = np.searchsorted(hour, np.arange(25))
            for h in range(24):
                lo, hi = bounds[h], bounds[h + 1]
                for k in range(nodes):
                    # a node's own spans, plus copies of another node's resent ones
                    mask = (node[lo:hi] == k) | (again[lo:hi] & (node[lo:hi] == (k + 1) % nodes) & (nodes > 1))
                    part = table.slice(lo, hi - lo).filter(pa.array(mask))
                    if not part.num_rows:
                        continue
                    path = folder / f"{h:02d}.node{k}.parquet"
                    pq.write_table(part, path, compression="zstd", row_group_size=256_000)
                    st.files += 1
                    st.rows += part.num_rows
                    st.bytes += path.stat().st_size
            st.spans += n
    return st
