"""Drift features per span, read from `spans` (and `cost_lines` when the cost job made it).

One row per inference span in a window. Numeric: input/output tokens, latency
(duration_s), time to first token, output tokens per second of duration, cost per
request. Categorical: model (response model, else request model), finish reason,
error type ("none" for spans without one, so a change in error rate shows), and
operation. Plus the span-attribute keys the config lists.

All SQL for reading drift features lives here; attribute keys are bound as
parameters (JSON paths), segment keys come from a fixed whitelist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from inferledger.analytics.drift.profile import ColumnKind
from inferledger.analytics.drift.settings import SEGMENT_KEYS
from inferledger.analytics.warehouse import Warehouse

NUMERIC_FEATURES = {
    "input_tokens": "CAST(s.input_tokens AS DOUBLE)",
    "output_tokens": "CAST(s.output_tokens AS DOUBLE)",
    "latency_s": "s.duration_s",
    "time_to_first_token_s": "s.time_to_first_token_s",
    "output_tokens_per_s": "CAST(s.output_tokens AS DOUBLE) / NULLIF(s.duration_s, 0)",
}
COST_FEATURE = ("cost_per_request", "CAST(c.cost AS DOUBLE)")
CATEGORICAL_FEATURES = {
    "model": "coalesce(s.response_model, s.request_model)",
    "finish_reason": "s.finish_reason",
    "error_type": "coalesce(s.error_type, 'none')",
    "operation": "s.operation",
}
ATTRIBUTE_PREFIX = "attr."


@dataclass(frozen=True)
class FeatureSet:
    """The feature columns of one read, with their kinds (segment columns excluded)."""

    frame: pl.DataFrame
    kinds: dict[str, ColumnKind]
    segment_keys: list[str]


def _segment_sql(key: str) -> str:
    """SQL of a whitelisted segment key, qualified with the spans alias."""
    return SEGMENT_KEYS[key]


def _json_path(key: str) -> str:
    return '$."' + key + '"'


def read_features(
    wh: Warehouse,
    start: datetime,
    end: datetime,
    segment_keys: Sequence[str],
    attribute_columns: Sequence[str] = (),
    numeric_attribute_columns: Sequence[str] = (),
    *,
    segment: dict[str, str] | None = None,
    tenant: str | None = None,
    max_rows: int | None = None,
    seed: int = 42,
) -> FeatureSet:
    """Feature rows of spans started in [start, end), with `tenant` and the segment-key columns.

    `segment` (key -> value) restricts to one segment; `max_rows` caps each segment
    by a seeded sample (reservoir, so it is reproducible).
    """
    unknown = [k for k in segment_keys if k not in SEGMENT_KEYS]
    if unknown:
        raise ValueError(f"unknown segment key(s): {', '.join(unknown)} (known: {', '.join(SEGMENT_KEYS)})")
    params: list = []
    select = ["s.tenant AS tenant"]
    for key in segment_keys:
        select.append(f"{_segment_sql(key)} AS seg_{key}")
    kinds: dict[str, ColumnKind] = {}
    for name, expr in NUMERIC_FEATURES.items():
        select.append(f"{expr} AS {name}")
        kinds[name] = "numeric"
    with_cost = wh.table_exists("cost_lines")
    if with_cost:
        select.append(f"{COST_FEATURE[1]} AS {COST_FEATURE[0]}")
        kinds[COST_FEATURE[0]] = "numeric"
    for name, expr in CATEGORICAL_FEATURES.items():
        select.append(f"{expr} AS {name}")
        kinds[name] = "categorical"
    attr_names: list[tuple[str, str, ColumnKind]] = [(k, f"a{i}", "categorical") for i, k in enumerate(attribute_columns)]
    attr_names += [(k, f"n{i}", "numeric") for i, k in enumerate(numeric_attribute_columns)]
    for key, alias, kind in attr_names:
        if kind == "numeric":
            select.append(f"TRY_CAST(json_extract_string(s.attributes, ?) AS DOUBLE) AS {alias}")
        else:
            select.append(f"json_extract_string(s.attributes, ?) AS {alias}")
        params.append(_json_path(key))
    sql = "SELECT " + ", ".join(select) + " FROM spans s"
    if with_cost:
        sql += " LEFT JOIN cost_lines c ON c.tenant = s.tenant AND c.trace_id = s.trace_id AND c.span_id = s.span_id"
    # inference rows only: no workflow/agent structure, no second report of one call (collector.dedupe)
    sql += " WHERE s.start_time >= ? AND s.start_time < ? AND s.is_inference IS NOT FALSE AND s.duplicate_of IS NULL"
    params += [start, end]
    if tenant is not None:
        sql += " AND s.tenant = ?"
        params.append(tenant)
    for key, value in (segment or {}).items():
        if key not in segment_keys:
            raise ValueError(f"segment key {key!r} is not one of the segment keys {list(segment_keys)}")
        sql += f" AND {_segment_sql(key)} = ?"
        params.append(value)
    frame = pl.from_arrow(wh.con.sql(sql, params=params).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    if max_rows is not None and frame.height > max_rows:
        seg_cols = ["tenant"] + [f"seg_{k}" for k in segment_keys]
        frame = (
            frame.with_columns(pl.int_range(pl.len()).shuffle(seed=seed).over(seg_cols).alias("_rk"))
            .filter(pl.col("_rk") < max_rows)
            .drop("_rk")
        )
    renames = {alias: f"{ATTRIBUTE_PREFIX}{key}" for key, alias, _ in attr_names}
    frame = frame.rename(renames)
    for key, _alias, kind in attr_names:
        kinds[f"{ATTRIBUTE_PREFIX}{key}"] = kind
    return FeatureSet(frame=frame, kinds=kinds, segment_keys=list(segment_keys))
