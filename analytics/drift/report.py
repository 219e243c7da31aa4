"""Evidently's own HTML drift report for one segment, on a sample.

Our numbers come from the kernels; this report is for people who want Evidently's
full picture (distributions, per-column plots) of the same windows. Evidently is
slow and memory-hungry on large inputs, hence the sample (seeded, reproducible).
Columns that are empty on either side are left out (Evidently raises on them) and
listed in the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from inferledger.analytics.drift.features import read_features
from inferledger.analytics.drift.job import windows_for
from inferledger.analytics.drift.profile import ColumnKind
from inferledger.analytics.drift.settings import DriftSettings
from inferledger.analytics.warehouse import Warehouse


@dataclass
class ReportResult:
    path: Path
    reference_rows: int
    current_rows: int
    columns: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why it was left out


def render_report(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    kinds: Mapping[str, ColumnKind],
    out_path: str | Path,
    *,
    sample_rows: int = 20_000,
    seed: int = 42,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> ReportResult:
    """Write Evidently's DataDriftPreset report for the `kinds` columns to `out_path`."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    if reference.height > sample_rows:
        reference = reference.sample(sample_rows, seed=seed)
    if current.height > sample_rows:
        current = current.sample(sample_rows, seed=seed)
    skipped: dict[str, str] = {}
    cols: list[str] = []
    for col in kinds:
        for side, frame in (("reference", reference), ("current", current)):
            if col not in frame.columns:
                skipped[col] = f"not in the {side} data"
                break
            series = frame.get_column(col)
            if kinds[col] == "numeric":
                series = series.cast(pl.Float64).fill_nan(None)
            if series.null_count() == series.len():
                skipped[col] = f"{side} has no values"
                break
        else:
            cols.append(col)
    if not cols:
        raise ValueError("no column has values on both sides: nothing to report")
    # Evidently embeds category values as JSON in a <script> element without escaping "</":
    # a stored finish_reason of "</script><script>..." would run in the reader's browser.
    cats = [c for c in cols if kinds[c] == "categorical"]
    if cats:
        reference, current = _html_safe(reference, cats), _html_safe(current, cats)
    definition = DataDefinition(
        numerical_columns=[c for c in cols if kinds[c] == "numeric"],
        categorical_columns=[c for c in cols if kinds[c] == "categorical"],
    )
    preset = DataDriftPreset(
        columns=cols,
        per_column_method={c: m for c, m in (methods or {}).items() if c in cols} or None,
        per_column_threshold={c: t for c, t in (thresholds or {}).items() if c in cols} or None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([preset]).run(
            Dataset.from_pandas(current.select(cols).to_pandas(), data_definition=definition),
            Dataset.from_pandas(reference.select(cols).to_pandas(), data_definition=definition),
        )
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(out))
    return ReportResult(out, reference.height, current.height, cols, skipped)


def _html_safe(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Categorical values with & < > " ' as HTML entities (the plots show them as the characters)."""
    exprs = []
    for c in columns:
        e = pl.col(c).cast(pl.String)
        for ch, ent in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
            e = e.str.replace_all(ch, ent, literal=True)
        exprs.append(e.alias(c))
    return frame.with_columns(exprs)


def segment_report(
    wh: Warehouse,
    cfg: DriftSettings,
    now: datetime,
    segment: Mapping[str, str],
    out_path: str | Path,
    *,
    tenant: str | None = None,
    sample_rows: int | None = None,
) -> ReportResult:
    """The report for one segment (key -> value over the configured segment keys) at `now`'s windows."""
    win = windows_for(cfg, now)
    read = dict(
        segment_keys=list(cfg.segment_keys),
        attribute_columns=cfg.attribute_columns,
        numeric_attribute_columns=cfg.numeric_attribute_columns,
        segment=dict(segment),
        tenant=tenant,
    )
    ref = read_features(wh, win.reference_start, win.reference_end, **read)
    cur = read_features(wh, win.current_start, win.current_end, **read)
    if ref.frame.height == 0 or cur.frame.height == 0:
        side = "reference" if ref.frame.height == 0 else "current"
        raise ValueError(
            f"segment {dict(segment)} has no spans in the {side} window "
            f"({win.reference_start if side == 'reference' else win.current_start} onwards)"
        )
    methods = {c: o.method for c, o in cfg.columns.items() if o.method}
    thresholds = {c: o.threshold for c, o in cfg.columns.items() if o.threshold is not None}
    return render_report(
        ref.frame, cur.frame, ref.kinds, out_path,
        sample_rows=sample_rows or cfg.report_sample_rows, methods=methods, thresholds=thresholds,
    )
