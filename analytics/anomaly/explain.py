"""Which team, model or feature moved most when a series alarmed.

For an additive series (spend, tokens) the change of the series is the sum of the
changes of its parts, so the part with the largest change is the honest answer,
and its share of the total change says how much of the story it is. For a ratio
series (p95 latency, error rate) the part whose own value moved most is reported.
The baseline is the mean over the buckets just before the anomalous one (a bucket
with no rows counts as 0 for sums and is skipped for ratios).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from analytics.anomaly.series import Source
from analytics.warehouse import Warehouse

EXPLAIN_DIMS = ("team", "model", "feature")


@dataclass(frozen=True)
class Movement:
    dimension: str
    value: str
    observed: float
    expected: float
    share: float | None   # of the series' change; None for ratio series

    @property
    def delta(self) -> float:
        return self.observed - self.expected


def explain(wh: Warehouse, src: Source, labels: dict[str, str], bucket: datetime, step: int,
            baseline_buckets: int) -> Movement | None:
    """The (dimension, value) inside the series' own slice whose value moved most at `bucket`."""
    dims = [d for d in EXPLAIN_DIMS if d in src.dims and d not in labels]
    if not dims:
        return None
    where, params = "", []
    for name, value in sorted(labels.items()):
        if name not in src.dims:
            return None
        where += f" AND {src.dims[name]} = ?"
        params.append(value)
    start = bucket - timedelta(seconds=step * baseline_buckets)
    end = bucket + timedelta(seconds=step)
    best: Movement | None = None
    series_delta = None
    for dim in dims:
        sql = (
            f"SELECT {src.dims[dim]} AS value, time_bucket(to_seconds(?), {src.time_col}, TIMESTAMP '1970-01-01') AS bucket,"
            f" {src.value_expr} AS v FROM {src.table}"
            f" WHERE {src.time_col} >= ? AND {src.time_col} < ? {where} GROUP BY ALL"
        )
        df = wh.con.execute(sql, [step, start, end, *params]).pl()
        if df.is_empty():
            continue
        df = df.with_columns(pl.col("bucket").cast(pl.Datetime("us")), pl.col("value").cast(pl.Utf8).fill_null(""))
        now_df = df.filter(pl.col("bucket") == bucket).select("value", pl.col("v").alias("observed"))
        base_df = df.filter(pl.col("bucket") < bucket).group_by("value").agg(
            (pl.col("v").sum() / baseline_buckets).alias("sum_base"), pl.col("v").mean().alias("mean_base"))
        joined = now_df.join(base_df, on="value", how="full", coalesce=True).with_columns(
            pl.col("observed").fill_null(0.0 if src.additive else None))
        if src.additive:
            joined = joined.with_columns(pl.col("sum_base").fill_null(0.0).alias("expected"))
        else:
            joined = joined.with_columns(pl.col("mean_base").alias("expected")).drop_nulls(["observed", "expected"])
        if joined.is_empty():
            continue
        joined = joined.with_columns((pl.col("observed") - pl.col("expected")).alias("delta"))
        if src.additive and series_delta is None:
            series_delta = float(joined["delta"].sum())
        top = joined.sort(pl.col("delta").abs(), descending=True).row(0, named=True)
        share = None
        if src.additive and series_delta:
            share = float(top["delta"]) / series_delta
        cand = Movement(dim, str(top["value"]), float(top["observed"]), float(top["expected"]), share)
        if best is None or abs(cand.delta) > abs(best.delta) * (1 + 1e-9):
            best = cand
    return best
