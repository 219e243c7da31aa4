"""The drift job: per segment (service x model by default), reference vs current window.

Every run reads the feature rows of both windows, fits one reference profile per
segment (cached across runs while the reference window does not move, i.e. in
pinned mode), compares the current window column by column, writes `drift_results`
and raises an alert record (source "drift") per drifted (segment, column); a
column that no longer drifts gets one `resolved` record.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

import polars as pl

from inferledger.analytics.alert_records import AlertRecord, firing_fingerprints, resolved_records, write_alert_records
from inferledger.analytics.drift.compare import compare_profile
from inferledger.analytics.drift.features import read_features
from inferledger.analytics.drift.methods import ColumnResult
from inferledger.analytics.drift.profile import ReferenceProfile, fit_profile
from inferledger.analytics.drift.settings import DriftSettings, parse_duration
from inferledger.analytics.drift.store import write_results
from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.lake.settings import on_dask
from inferledger.analytics.warehouse import Warehouse

ALERT_NAME = "InferenceDrift"
# Reference profiles per reference window (all segments of it), newest last. A rolling
# reference moves once an hour, so a service keeps one or two windows' profiles.
_PROFILE_CACHE: "WeakKeyDictionary[Warehouse, OrderedDict[tuple, dict[tuple, ReferenceProfile]]]" = (
    WeakKeyDictionary()
)
_PROFILE_CACHE_SIZE = 2  # reference windows kept per warehouse


@dataclass(frozen=True)
class Windows:
    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime


@dataclass(frozen=True)
class SegmentResult:
    tenant: str
    segment: dict[str, str]
    results: list[ColumnResult]

    @property
    def label(self) -> str:
        return " / ".join(str(v) for v in self.segment.values())


def windows_for(cfg: DriftSettings, now: datetime) -> Windows:
    """Current = the last `current_window`; reference = pinned, or the rolling window before it.

    A rolling reference ends on the hour at or before the current window's start, so
    it stays the same for up to an hour of job runs and its profile is fitted once.
    """
    current = parse_duration(cfg.current_window, "current_window")
    cur_start = now - current
    if cfg.reference_mode == "pinned":
        ref_start, ref_end = cfg.pinned_range()
    else:
        ref_end = cur_start.replace(minute=0, second=0, microsecond=0)
        ref_start = ref_end - parse_duration(cfg.reference_window, "reference_window")
    return Windows(ref_start, ref_end, cur_start, now)


def _segments(frame: pl.DataFrame, keys: list[str]) -> dict[tuple, pl.DataFrame]:
    cols = ["tenant"] + [f"seg_{k}" for k in keys]
    if frame.height == 0:
        return {}
    return {tuple(k): part for k, part in frame.partition_by(cols, as_dict=True, maintain_order=True).items()}


def reference_profiles(wh: Warehouse, cfg: DriftSettings, win: Windows) -> dict[tuple, ReferenceProfile]:
    """Profiles of every segment of the reference window with at least `min_rows` spans.

    Read and fitted once per reference window, then served from memory: spans that
    arrive late into an already-profiled window are not seen until the window moves.
    """
    key = (win.reference_start, win.reference_end, tuple(cfg.segment_keys), tuple(cfg.attribute_columns),
           tuple(cfg.numeric_attribute_columns), cfg.max_rows, cfg.min_rows)
    cache = _PROFILE_CACHE.setdefault(wh, OrderedDict())
    cached = cache.get(key)
    if cached is not None:
        cache.move_to_end(key)
        return cached
    ref = read_features(wh, win.reference_start, win.reference_end, segment_keys=list(cfg.segment_keys),
                        attribute_columns=cfg.attribute_columns,
                        numeric_attribute_columns=cfg.numeric_attribute_columns, max_rows=cfg.max_rows)
    columns = list(ref.kinds)
    profiles = {
        seg: fit_profile(part, ref.kinds, columns)
        for seg, part in _segments(ref.frame, list(cfg.segment_keys)).items()
        if part.height >= cfg.min_rows
    }
    cache[key] = profiles
    while len(cache) > _PROFILE_CACHE_SIZE:
        cache.popitem(last=False)
    return profiles


def detect_drift(wh: Warehouse, cfg: DriftSettings, now: datetime) -> tuple[Windows, list[SegmentResult]]:
    """Compare every segment with enough rows on both sides; pure of writes."""
    win = windows_for(cfg, now)
    keys = list(cfg.segment_keys)
    profiles = reference_profiles(wh, cfg, win)
    cur = read_features(wh, win.current_start, win.current_end, segment_keys=keys,
                        attribute_columns=cfg.attribute_columns,
                        numeric_attribute_columns=cfg.numeric_attribute_columns, max_rows=cfg.max_rows)
    methods = {c: o.method for c, o in cfg.columns.items() if o.method}
    thresholds = {c: o.threshold for c, o in cfg.columns.items() if o.threshold is not None}
    out: list[SegmentResult] = []
    for seg_key, cur_part in _segments(cur.frame, keys).items():
        profile = profiles.get(seg_key)
        if profile is None or cur_part.height < cfg.min_rows:
            continue
        results = compare_profile(profile, cur_part, methods, thresholds)
        segment = {k: ("" if v is None else str(v)) for k, v in zip(keys, seg_key[1:])}
        out.append(SegmentResult(str(seg_key[0]), segment, results))
    return win, out


def alert_records(
    wh: Warehouse, cfg: DriftSettings, now: datetime, win: Windows, segments: list[SegmentResult]
) -> list[AlertRecord]:
    """Firing for each drifted (segment, column); resolved once for those firing before and not now."""
    firing: list[AlertRecord] = []
    for seg in segments:
        for r in seg.results:
            if not r.drifted or (cfg.alert_columns and r.column not in cfg.alert_columns):
                continue
            labels = {"tenant": seg.tenant, **seg.segment, "column": r.column}
            firing.append(AlertRecord(
                source="drift", alertname=ALERT_NAME, labels=labels, severity=cfg.severity, status="firing",
                summary=f"{r.column} drifted for {seg.label} ({r.method} {r.score:.4g}, threshold {r.threshold:g})",
                description=(
                    f"{r.column} of {seg.label} in {win.current_start:%Y-%m-%d %H:%M}-{win.current_end:%H:%M} UTC "
                    f"differs from the reference {win.reference_start:%Y-%m-%d %H:%M}-"
                    f"{win.reference_end:%Y-%m-%d %H:%M} UTC"
                ),
                values={"method": r.method, "score": r.score, "threshold": r.threshold,
                        "reference_rows": r.reference_rows, "current_rows": r.current_rows},
                starts_at=now,
            ))
    resolved = resolved_records(
        "drift", firing_fingerprints(wh, "drift"), {rec.fingerprint for rec in firing}, now,
        severity=cfg.severity, summary=lambda labels: f"{labels.get('column', '?')} no longer drifts",
    )
    return firing + resolved


def run_drift(wh: Warehouse, cfg: DriftSettings, now: datetime) -> dict:
    win, segments = detect_drift(wh, cfg, now)
    return record_drift(wh, cfg, now, win, segments)


def record_drift(wh: Warehouse, cfg: DriftSettings, now: datetime, win: Windows,
                 segments: list[SegmentResult]) -> dict:
    """Store the segments' results and their alert transitions in `wh`, wherever they were computed."""
    written = write_results(wh, now, win, segments)
    records = alert_records(wh, cfg, now, win, segments)
    write_alert_records(wh, records)
    drifted = [f"{s.label}:{r.column}" for s in segments for r in s.results if r.drifted]
    return {"segments": len(segments), "results": written, "drifted": drifted,
            "alerts": sum(1 for r in records if r.status == "firing"),
            "resolved": sum(1 for r in records if r.status == "resolved")}


@register_job("drift.detect", every_seconds=600)
def drift_job(ctx: JobContext) -> dict | str | None:
    if on_dask(ctx.settings):
        return "on the Dask engine: lake.analyze runs it over the lake"
    cfg: DriftSettings = ctx.settings.analytics.drift
    if not cfg.enabled:
        return None
    return run_drift(ctx.warehouse, cfg, ctx.now)

