"""Split an integer amount (micro-dollars) over weights so the parts sum exactly to it.

Allocations must add up to the bill to the last micro-dollar, which independent
rounding of each share cannot promise. Largest remainder (Hamilton) gives each part
its floor and hands the leftover units to the largest fractional remainders.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Reference for one group: integer parts of `total`, proportional to `weights`, summing to it.

    All-zero weights split evenly (so a bill is never lost); ties go to the earlier index.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0:
        if total:
            raise ValueError("cannot split a non-zero total over no parts")
        return np.zeros(0, dtype=np.int64)
    if (w < 0).any():
        raise ValueError("weights must be >= 0")
    if w.sum() <= 0:
        w = np.ones_like(w)
    exact = total * w / w.sum()
    floor = np.floor(exact).astype(np.int64)
    short = int(total - floor.sum())
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:short]] += 1
    return floor


def largest_remainder_frame(df: pl.DataFrame, group: list[str], total: str, weight: str, out: str) -> pl.DataFrame:
    """The same rule for many groups at once: `total` is the group's integer amount on every row.

    Equal to `largest_remainder` group by group (a test proves it); rows keep their order.
    """
    idx = "__lr_row"
    d = df.with_row_index(idx)
    wsum = pl.col(weight).sum().over(group)
    n = pl.len().over(group)
    w_eff = pl.when(wsum > 0).then(pl.col(weight).cast(pl.Float64)).otherwise(pl.lit(1.0))
    d = d.with_columns(
        (pl.col(total).cast(pl.Float64) * w_eff / pl.when(wsum > 0).then(wsum).otherwise(n.cast(pl.Float64))).alias("__exact")
    )
    d = d.with_columns(pl.col("__exact").floor().cast(pl.Int64).alias("__floor"))
    d = d.with_columns(
        (pl.col("__exact") - pl.col("__floor")).alias("__rem"),
        (pl.col(total).cast(pl.Int64) - pl.col("__floor").sum().over(group)).alias("__short"),
    )
    # rank by remainder (desc), ties by original row order, within each group
    d = d.sort([*group, "__rem", idx], descending=[False] * len(group) + [True, False])
    d = d.with_columns(pl.int_range(pl.len()).over(group).alias("__rank"))
    d = d.with_columns(
        (pl.col("__floor") + (pl.col("__rank") < pl.col("__short")).cast(pl.Int64)).alias(out)
    )
    return d.sort(idx).drop([idx, "__exact", "__floor", "__rem", "__short", "__rank"])
