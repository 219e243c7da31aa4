"""Bounded label cardinality for /metrics: top-N values per label, the rest in `other`.

A team name or a model name comes from telemetry, so the number of distinct values is
not ours to choose; one Prometheus series per value would let a noisy tenant blow up
the TSDB. Each label keeps its N largest values (ranked by a chosen column, ties by
name so the choice is stable between scrapes) and every other value becomes `other`;
rows that collapse onto the same label set are then merged (sum or max per column).

Only additive columns (counts, sums) and maxima survive merging correctly, so ratios
(unit cost, mean utilisation) are computed *after* bounding, from bounded sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

OTHER = "other"
UNKNOWN = "unknown"

Agg = Literal["sum", "max", "min"]


def top_values(df: pl.DataFrame, label: str, rank_by: str, n: int) -> set[str]:
    """The `n` values of `label` with the largest total `rank_by` (ties broken by name)."""
    if n < 1:
        raise ValueError(f"top-N must be >= 1, got {n}")
    totals = (
        df.group_by(label)
        .agg(pl.col(rank_by).sum().alias("_rank"))
        .sort(["_rank", label], descending=[True, False], nulls_last=True)
        .head(n)
    )
    return set(totals[label].to_list())


def bound_cardinality(
    df: pl.DataFrame,
    labels: Sequence[str],
    aggs: Mapping[str, Agg],
    *,
    n: int,
    rank_by: str | None = None,
    other: str = OTHER,
) -> pl.DataFrame:
    """Keep the top-`n` values of every label in `labels`, fold the rest into `other`.

    `aggs` maps each value column to how rows merge ("sum" for counters and sums,
    "max"/"min" for extremes). `rank_by` defaults to the first value column. Null
    label values become "unknown" first, so they are ranked like any other value.
    Returns one row per distinct bounded label set, sorted by labels (stable output).
    """
    if not aggs:
        raise ValueError("bound_cardinality needs at least one value column")
    missing = [c for c in [*labels, *aggs] if c not in df.columns]
    if missing:
        raise ValueError(f"bound_cardinality: columns {missing} not in frame (has {df.columns})")
    rank_col = rank_by or next(iter(aggs))
    out = df.with_columns(pl.col(lbl).cast(pl.Utf8).fill_null(UNKNOWN) for lbl in labels)
    if out.height == 0:
        return out.select([*labels, *aggs])
    for lbl in labels:
        if out[lbl].n_unique() <= n:
            continue
        keep = top_values(out, lbl, rank_col, n)
        out = out.with_columns(
            pl.when(pl.col(lbl).is_in(list(keep))).then(pl.col(lbl)).otherwise(pl.lit(other)).alias(lbl)
        )
    exprs = []
    for col, how in aggs.items():
        if how == "sum":
            exprs.append(pl.col(col).sum().alias(col))
        elif how == "max":
            exprs.append(pl.col(col).max().alias(col))
        elif how == "min":
            exprs.append(pl.col(col).min().alias(col))
        else:
            raise ValueError(f"unknown aggregation {how!r} for column {col!r} (sum, max or min)")
    if not labels:
        return out.select(exprs)
    return out.group_by(list(labels)).agg(exprs).sort(list(labels))
