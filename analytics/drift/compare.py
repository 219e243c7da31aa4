"""Drift between two tables: the path behind `inferledger drift compare` and the job.

Reading files is here (Parquet or CSV, by extension) so the CLI stays a thin shell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from inferledger.analytics.drift.methods import ColumnResult, compare_column, validate_method
from inferledger.analytics.drift.profile import ColumnKind, ReferenceProfile, fit_profile, infer_kind, sample_current


def read_table(path: str | Path) -> pl.DataFrame:
    """A Parquet or CSV file as a polars frame; a clear error for anything else."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pl.read_parquet(p)
    if suffix in (".csv", ".tsv", ".txt"):
        return pl.read_csv(p, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=10000)
    raise ValueError(f"{p}: unsupported file type {suffix!r} (use .parquet or .csv)")


def compare_profile(
    profile: ReferenceProfile,
    current: pl.DataFrame,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[ColumnResult]:
    """Every profiled column against one current window."""
    methods = dict(methods or {})
    thresholds = dict(thresholds or {})
    for col, name in methods.items():
        if col in profile.columns:
            validate_method(name, profile.columns[col].kind, column=col)
    samples = sample_current(current, profile)
    return [
        compare_column(col, ref, samples[col], methods.get(col), thresholds.get(col))
        for col, ref in profile.columns.items()
    ]


def compare_frames(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[ColumnResult]:
    """Drift of each column (default: the columns both frames share, in reference order)."""
    kinds = dict(kinds or {})
    if columns is None:
        # like DataDriftPreset: every shared numeric or categorical column; dates, lists, structs are skipped
        columns = [c for c in reference.columns if c in current.columns and (c in kinds or _supported(reference[c]))]
        if not columns:
            raise ValueError("reference and current share no numeric or categorical column")
    else:
        missing = [c for c in columns if c not in current.columns]
        if missing:
            raise ValueError(f"column(s) not in the current data: {', '.join(missing)}")
    profile = fit_profile(reference, kinds, columns)
    return compare_profile(profile, current, methods, thresholds)


def _supported(series: pl.Series) -> bool:
    try:
        infer_kind(series)
    except ValueError:
        return False
    return True
