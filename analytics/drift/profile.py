"""Fit-once summaries of a drift reference (and of each current window).

Evidently re-reads, re-cleans and re-sorts the reference for every column of every
comparison. Here a reference column is summarised once — finite values sorted, its
standard deviation, its distinct count, or for a categorical column its counts per
category — and that summary serves every current window: KS and Wasserstein merge
two sorted arrays, and the per-window Sturges bins are counted on the sorted
reference with one binary search per edge.

Cleaning follows Evidently's `get_one_column_drift`: +/-inf become NaN and NaN/null
are dropped before anything is computed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from inferledger.analytics.kernels.drift_numeric import count_unique_sorted

ColumnKind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class NumericSample:
    """A numeric column, cleaned and sorted: the reference profile or one current window."""

    values: np.ndarray  # finite float64, ascending
    integer: bool  # the source dtype was integer (NumPy's Sturges rule then rounds widths up to 1)
    std: float  # population std of the cleaned values (Evidently's Wasserstein norm); NaN on a current window
    nunique: int  # distinct values; -1 on a current window (only the reference's count is ever used)

    kind: ColumnKind = "numeric"

    @property
    def n(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True)
class CategoricalSample:
    """A categorical column as counts per category (nulls dropped)."""

    counts: dict[Any, int]

    kind: ColumnKind = "categorical"

    @property
    def n(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def nunique(self) -> int:
        return len(self.counts)


ColumnSample = NumericSample | CategoricalSample


def _as_series(values: Any) -> pl.Series:
    if isinstance(values, pl.Series):
        return values
    if isinstance(values, np.ndarray) and values.dtype != object:
        return pl.Series(values)
    return pl.Series(list(values) if not isinstance(values, list) else values, strict=False)


def numeric_sample(values: Any, reference: bool = True) -> NumericSample:
    """Clean (drop NaN, null, +/-inf) and sort a numeric column (std and distinct count for a reference)."""
    if isinstance(values, pl.Series):
        if not values.dtype.is_numeric() and values.dtype != pl.Null:
            raise ValueError(f"column {values.name!r} is {values.dtype}, not numeric")
        integer = values.dtype.is_integer() and values.null_count() == 0
        arr = values.cast(pl.Float64).to_numpy()
    else:
        raw = np.asarray(values)
        if raw.dtype == object:
            raw = np.asarray([np.nan if v is None else v for v in raw], dtype=np.float64)
        if raw.dtype.kind not in "iufb":
            raise ValueError(f"numeric column expected, got dtype {raw.dtype}")
        integer = raw.dtype.kind in "iu"
        arr = raw.astype(np.float64, copy=False)
    arr = arr[np.isfinite(arr)]  # np.isfinite drops NaN and +/-inf; boolean indexing copies
    std = float(np.std(arr)) if arr.size and reference else float("nan")
    arr.sort()
    nunique = int(count_unique_sorted(arr)) if reference else -1
    return NumericSample(values=arr, integer=integer, std=std, nunique=nunique)


def categorical_sample(values: Any) -> CategoricalSample:
    """Counts per category, nulls (and float NaN) dropped."""
    s = _as_series(values)
    if s.dtype.is_float():
        s = s.fill_nan(None)
    s = s.drop_nulls()
    if s.len() == 0:
        return CategoricalSample(counts={})
    vc = s.value_counts()
    keys = vc.get_column(vc.columns[0]).to_list()
    counts = vc.get_column(vc.columns[1]).to_list()
    return CategoricalSample(counts=dict(zip(keys, (int(c) for c in counts))))


def sample_column(values: Any, kind: ColumnKind, reference: bool = True) -> ColumnSample:
    if kind == "numeric":
        return numeric_sample(values, reference)
    if kind == "categorical":
        return categorical_sample(values)
    raise ValueError(f"column kind must be 'numeric' or 'categorical', got {kind!r}")


def infer_kind(series: pl.Series) -> ColumnKind:
    """Numbers are numeric; strings, booleans, categoricals and enums are categorical."""
    if series.dtype.is_numeric():
        return "numeric"
    if series.dtype in (pl.String, pl.Boolean, pl.Categorical) or isinstance(series.dtype, pl.Enum):
        return "categorical"
    if series.dtype == pl.Null:
        return "numeric"
    raise ValueError(
        f"column {series.name!r} has type {series.dtype}: drift needs a numeric or a categorical column"
    )


@dataclass(frozen=True)
class ReferenceProfile:
    """Every column of a reference, summarised once; reused for each current window."""

    columns: dict[str, ColumnSample]
    rows: int


def fit_profile(
    frame: pl.DataFrame, kinds: dict[str, ColumnKind] | None = None, columns: Sequence[str] | None = None
) -> ReferenceProfile:
    """Summarise the chosen columns of a reference frame (kinds inferred from dtypes unless given)."""
    kinds = dict(kinds or {})
    names = list(columns) if columns is not None else list(frame.columns)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) not in the reference: {', '.join(missing)}")
    jobs = {name: (frame.get_column(name), kinds.get(name) or infer_kind(frame.get_column(name))) for name in names}
    return ReferenceProfile(columns=_map_columns(jobs), rows=frame.height)


def sample_current(frame: pl.DataFrame, profile: ReferenceProfile) -> dict[str, ColumnSample]:
    """Summarise a current window with the reference's column kinds."""
    missing = [c for c in profile.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) not in the current data: {', '.join(missing)}")
    return _map_columns({name: (frame.get_column(name), col.kind) for name, col in profile.columns.items()},
                        reference=False)


def _map_columns(jobs: dict[str, tuple[pl.Series, ColumnKind]], reference: bool = True) -> dict[str, ColumnSample]:
    """Summarise columns on threads: sorting, the kernels and polars all release the GIL.

    Columns are independent partitions of the work (DESIGN.md: partition-parallel).
    """
    workers = min(len(jobs), os.cpu_count() or 1)
    run: Callable[[tuple[pl.Series, ColumnKind]], ColumnSample] = lambda job: sample_column(*job, reference)
    if workers <= 1:
        return {name: run(job) for name, job in jobs.items()}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
        return dict(zip(jobs, pool.map(run, jobs.values())))
