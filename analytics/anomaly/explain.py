"""Which team, model or feature moved most when a series alarmed.

For an additive series (spend, tokens) the change of the series is the sum of the
changes of its parts. The dimension whose shares shifted most (Jensen-Shannon
divergence of expected vs observed shares, as Adtributor does) is the one that
isolates the cause; in it, the value with the largest change is reported with its
share of the series' change. For a ratio
series (p95 latency, error rate) the part whose own value moved most is reported.
The baseline is the mean over the buckets just before the anomalous one (a bucket
with no rows counts as 0 for sums and is skipped for ratios). When no part moved
enough to carry the change, there is no explanation rather than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from inferledger.analytics.anomaly.series import Source, query_pl
from inferledger.analytics.warehouse import Warehouse

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
    best_strength = 0.0
    series_delta = None
    for dim in dims:
        sql = (
            f"SELECT {src.dims[dim]} AS value, time_bucket(to_seconds(?), {src.time_col}, TIMESTAMP '1970-01-01') AS bucket,"
            f" {src.value_expr} AS v FROM {src.table}"
            f" WHERE {src.time_col} >= ? AND {src.time_col} < ? {where} GROUP BY ALL"
        )
        df = query_pl(wh, sql, [step, start, end, *params])
        if df.is_empty():
            continue
        df = df.with_columns(pl.col("bucket").cast(pl.Datetime("us")), pl.col("value").cast(pl.Utf8).fill_null(""))
        now_df = df.filter(pl.col("bucket") == bucket).select("value", pl.col("v").alias("observed"))
        base_df = df.filter(pl.col("bucket") < bucket).group_by("value").agg(
            (pl.col("v").sum() / baseline_buckets).alias("sum_base"), pl.col("v").mean().alias("mean_base"))
        joined = now_df.join(base_df, on="value", how="full", coalesce=True)
        if src.additive:
            joined = joined.with_columns(pl.col("observed").fill_null(0.0), pl.col("sum_base").fill_null(0.0).alias("expected"))
        else:
            joined = joined.with_columns(pl.col("mean_base").alias("expected")).drop_nulls(["observed", "expected"])
        if joined.is_empty():
            continue
        joined = joined.with_columns((pl.col("observed") - pl.col("expected")).alias("delta"))
        if src.additive and series_delta is None:
            series_delta = float(joined["delta"].sum())
        top = joined.sort(pl.col("delta").abs(), descending=True).row(0, named=True)
        share = float(top["delta"]) / series_delta if src.additive and series_delta else None
        cand = Movement(dim, str(top["value"]), float(top["observed"]), float(top["expected"]), share)
        strength = _surprise(joined) if src.additive else _relative_change(cand)
        if best is None or strength > best_strength * (1 + 1e-9):
            best, best_strength = cand, strength
    return best if best is not None and _moved(best, src.additive) else None


# an explanation must name a part that moved: at least this share of the series' change
# (additive series, same direction), or this relative change of its own (ratio series)
MIN_SHARE = 0.3
MIN_RELATIVE = 0.2


def _moved(m: Movement, additive: bool) -> bool:
    if additive:
        return m.share is not None and m.share >= MIN_SHARE
    return _relative_change(m) >= MIN_RELATIVE


def _surprise(df: pl.DataFrame) -> float:
    """Jensen-Shannon divergence between the expected and observed shares of one dimension.

    As in Adtributor (Bhagwan et al., NSDI 2014): a coarse grouping that merely
    contains the cause (feature "answers" holding the spiking team) shifts its shares
    less than the dimension that isolates it, so the most surprising dimension wins.
    """
    exp_total = float(df["expected"].sum())
    obs_total = float(df["observed"].sum())
    if exp_total <= 0 or obs_total <= 0:
        return float(abs(obs_total - exp_total))
    p = (df["expected"] / exp_total).to_numpy()
    q = (df["observed"] / obs_total).to_numpy()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.where(p > 0, p * np.log(p / m), 0.0)
        tq = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * (tp.sum() + tq.sum()))


def _relative_change(m: Movement) -> float:
    return abs(m.delta) / max(abs(m.expected), 1e-12)
