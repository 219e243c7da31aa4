"""Drift per segment on Dask over the lake, equal to the single-node `run_drift`.

Workers read their tenant-day partitions, dedupe and price the spans, and compute
the drift features of the reference and current windows with the single node's
SQL (`analytics.drift.features`); the client concatenates them in partition order
(tenant, then day, each sorted by start time), takes the same seeded sample above
`max_rows`, and fits and compares each segment with the single node's code.
The results go to `drift_results` and `alert_records` of the warehouse the service
reads, as `run_drift` writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.drift.compare import compare_profile
from inferledger.analytics.drift.job import SegmentResult, Windows, _segments, record_drift, windows_for
from inferledger.analytics.drift.profile import fit_profile
from inferledger.analytics.drift.settings import DriftSettings
from inferledger.analytics.lake import tasks
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.lake.prices import price_tables
from inferledger.analytics.lake.store import open_lake, partitions
from inferledger.analytics.warehouse import Warehouse


def _sample(frame: pl.DataFrame, keys: list[str], max_rows: int, seed: int = 42) -> pl.DataFrame:
    """`read_features`' seeded per-segment sample, applied to the merged rows."""
    if frame.height <= max_rows:
        return frame
    seg_cols = ["tenant"] + [f"seg_{k}" for k in keys]
    return (frame.with_columns(pl.int_range(pl.len()).shuffle(seed=seed).over(seg_cols).alias("_rk"))
            .filter(pl.col("_rk") < max_rows).drop("_rk"))


def detect_drift_dask(client: Any, lake_uri: str, cfg: DriftSettings, now: datetime,
                      cost: CostSettings | None = None,
                      stats: RunStats | None = None) -> tuple[Windows, list[SegmentResult]]:
    """`detect_drift` over the lake. `cost`: price spans for `cost_per_request` (None: that column stays empty,
    as on a warehouse whose cost job has not run)."""
    win = windows_for(cfg, now)
    keys = list(cfg.segment_keys)
    lo, hi = min(win.reference_start, win.current_start), max(win.reference_end, win.current_end)
    items = [(lake_uri, files) for _, _, files in partitions(open_lake(lake_uri), "spans", lo, hi)]
    prices = price_tables(client, items, cost, stats) if cost is not None and items else None
    windows = [(win.reference_start, win.reference_end), (win.current_start, win.current_end)]
    parts = map_partitions(client, tasks.drift_features, items, stats, prices=prices, windows=windows,
                           segment_keys=keys, attribute_columns=list(cfg.attribute_columns),
                           numeric_attribute_columns=list(cfg.numeric_attribute_columns))
    if not parts:
        return win, []
    kinds = parts[0][0][1]
    ref, cur = (_sample(pl.concat([pl.from_arrow(p[i][0]) for p in parts], how="vertical_relaxed"), keys,
                        cfg.max_rows) for i in (0, 1))
    profiles = {seg: fit_profile(part, kinds, list(kinds)) for seg, part in _segments(ref, keys).items()
                if part.height >= cfg.min_rows}
    methods = {c: o.method for c, o in cfg.columns.items() if o.method}
    thresholds = {c: o.threshold for c, o in cfg.columns.items() if o.threshold is not None}
    out: list[SegmentResult] = []
    for seg_key, cur_part in _segments(cur, keys).items():
        profile = profiles.get(seg_key)
        if profile is None or cur_part.height < cfg.min_rows:
            continue
        segment = {k: ("" if v is None else str(v)) for k, v in zip(keys, seg_key[1:])}
        out.append(SegmentResult(str(seg_key[0]), segment, compare_profile(profile, cur_part, methods, thresholds)))
    return win, out


def run_drift_dask(client: Any, lake_uri: str, wh: Warehouse, cfg: DriftSettings, now: datetime,
                   cost: CostSettings | None = None, stats: RunStats | None = None) -> dict:
    """`run_drift` over the lake: results and alert records written to `wh`, the warehouse the service reads."""
    win, segments = detect_drift_dask(client, lake_uri, cfg, now, cost, stats)
    return record_drift(wh, cfg, now, win, segments)
