"""The scheduled anomaly job: series -> streaming detector -> `anomalies` rows and alert records.

Every run re-scores the lookback window from the facts (each point from the points
before it, so a run reproduces the previous run's scores for old points), stores
the alarmed points it has not stored yet with the dimension that moved most, and
keeps one alert per series: `firing` when the series alarmed recently, `resolved`
once, when it has been quiet for `resolve_after_minutes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from inferledger.analytics.alert_records import (
    AlertRecord,
    fingerprint,
    firing_fingerprints,
    resolved_records,
    write_alert_records,
)
from inferledger.analytics.anomaly.detectors import KIND_NAMES
from inferledger.analytics.anomaly.explain import Movement, explain
from inferledger.analytics.anomaly.incidents import Incident, group_incidents, pages_in_its_direction
from inferledger.analytics.anomaly.series import Series, floor_time, load_series, p95_exceedances, source_for
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.anomaly.significance import (
    binomial_upper_p,
    count_significant,
    count_upper_p_all,
    day_before_explains,
    persisting,
    sampling_noise_significant,
)
from inferledger.analytics.anomaly.store import insert_anomalies, stored_movements
from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.kernels.anomaly_batch import SeriesAlarms, score_alarms
from inferledger.analytics.lake.settings import on_dask
from inferledger.analytics.warehouse import Warehouse, utcnow

ALERTNAME = "InferenceAnomaly"
SOURCE = "anomaly"
# explanations cost a query each; at most this many new anomalies are explained per run
MAX_EXPLAINED_PER_RUN = 500
# members of an incident (by score) whose stored explanation may speak for it
MOVED_CANDIDATES = 5


@dataclass
class Found:
    series: Series
    index: int
    score: float
    expected: float
    kind: str
    movement: Movement | None = None

    @property
    def bucket_start(self) -> datetime:
        return datetime(1970, 1, 1) + timedelta(seconds=int(self.series.ts[self.index]))

    @property
    def observed(self) -> float:
        return float(self.series.values[self.index])

    @property
    def metric(self) -> str:
        return self.series.metric

    @property
    def labels(self) -> dict[str, str]:
        return self.series.labels

    @property
    def bucket_seconds(self) -> int:
        return self.series.bucket_seconds

    @property
    def moved(self) -> tuple[str, str] | None:
        return None if self.movement is None else (self.movement.dimension, self.movement.value)


@dataclass
class RunSummary:
    series: int = 0
    points: int = 0
    alarms: int = 0
    new_anomalies: int = 0
    firing: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"series={self.series} points={self.points} alarms={self.alarms} new={self.new_anomalies}"
                f" firing={len(self.firing)} resolved={len(self.resolved)}")


def _select(series: list[Series], cfg: AnomalySettings) -> list[Series]:
    kept = [s for s in series if int(np.isfinite(s.values).sum()) >= cfg.min_points]
    if len(kept) > cfg.max_series:
        kept.sort(key=lambda s: -float(np.nansum(np.abs(s.values))))
        kept = kept[: cfg.max_series]
    return kept


def _needs_every_point(s: Series) -> bool:
    """Count series (failures of requests) are also tested where the kernel did not alarm."""
    return s.events is not None and s.trials is not None


def score_all(series: list[Series], cfg: AnomalySettings) -> list[SeriesAlarms]:
    """The alarms of every series, from one parallel kernel call.

    Each series is scored where it lies, exactly as alone (no grid, no copies); only its
    alarms come back, plus every point's output for the count series, whose confirmation
    reads them all.
    """
    return score_alarms([s.ts for s in series], [s.values for s in series], cfg.detector.params(),
                        [_needs_every_point(s) for s in series])


# series with buckets shorter than this are confirmed by persistence
PERSIST_BELOW_SECONDS = 300


def confirmed_alarms(s: Series, r: SeriesAlarms, cfg: AnomalySettings) -> list[tuple[int, float, str]]:
    """(index, score, kind) of the alarms that stand: the kernel's, confirmed by the count test,
    the sampling-noise floor or the persistence rule, plus rises in failures that the count
    test finds significant where the kernel did not alarm (score 0.5 at p = count_alpha, -> 1).
    A level shift the same time a day earlier already showed is the series' day, not a shift."""
    idx = r.index
    if s.bucket_seconds < PERSIST_BELOW_SECONDS:
        idx = idx[persisting(s.ts, s.values, idx, r.score, r.expected, s.bucket_seconds, cfg.persist_buckets)]
    if r.full is not None and s.events is not None and s.trials is not None:
        score_all_points, expected, kind = r.full
        score = score_all_points.copy()
        kinds = {int(i): KIND_NAMES[int(kind[i])] for i in idx}
        up = s.values[idx] >= expected[idx]
        idx = idx[count_significant(s.events, s.trials, idx, up, cfg.count_alpha, cfg.count_window_buckets)]
        p_up = count_upper_p_all(s.events, s.trials, cfg.count_window_buckets)
        raised = np.flatnonzero(p_up < cfg.count_alpha)
        score[raised] = np.maximum(score[raised], 1.0 - p_up[raised] / (2.0 * cfg.count_alpha))
        for i in raised:
            kinds.setdefault(int(i), KIND_NAMES[int(kind[i])])
            if kinds[int(i)] == "none":
                kinds[int(i)] = "spike"
        idx = np.union1d(idx, raised)
    else:
        if len(idx) == 0:  # the usual case: nothing to confirm, nothing to allocate
            return []
        # only the alarms were scored out: their positions in r.index
        at = np.searchsorted(r.index, idx)
        score = np.zeros(len(s.values))
        score[idx] = r.score[at]
        expected = np.full(len(s.values), np.nan)
        expected[idx] = r.expected[at]
        kinds = {int(i): KIND_NAMES[int(k)] for i, k in zip(idx, r.kind[at])}
    shifts = np.array([kinds[int(i)] == "level_shift" for i in idx], dtype=bool)
    if shifts.any():
        explained = day_before_explains(s.ts, s.values, idx, expected, s.bucket_seconds, cfg.shift_day_before_fraction)
        idx = idx[~(shifts & explained)]
    if s.squares is not None and s.trials is not None and len(idx):
        idx = idx[sampling_noise_significant(s.values, expected, s.trials, s.squares, idx, cfg.count_alpha,
                                             cfg.count_window_buckets)]
    return [(int(i), float(score[i]), kinds[int(i)]) for i in idx]


def expected_at(r: SeriesAlarms, i: int) -> float:
    """The expected value at position i of an alarm (or of any point where every point was kept)."""
    if r.full is not None:
        return float(r.full[1][i])
    return float(r.expected[np.searchsorted(r.index, i)])


# the p95 count test: requests over the model's p95 of this many hours before the bucket
P95_BASELINE_HOURS = 24


def p95_significant(wh: Warehouse, f: Found, cfg: AnomalySettings, table: str = "spans") -> bool:
    """A rising p95 alarm stands only if unusually many requests beat the past day's p95 (spans in `table`)."""
    if f.series.metric != "latency_p95_5m" or f.observed < f.expected or "model" not in f.labels:
        return True
    n, k = p95_exceedances(wh, f.labels["model"], f.bucket_start, f.bucket_seconds, P95_BASELINE_HOURS, table)
    p = float(binomial_upper_p(np.array([k], float), np.array([n], float), np.array([0.05]))[0])
    return p < cfg.count_alpha


def p95_onset_follower(s: Series, f: Found, cfg: AnomalySettings, stored: set[tuple[str, datetime]],
                       spans_db: Warehouse, spans_table: str = "spans") -> Found | None:
    """The first bucket after a rejected p95 alarm, within `incident_gap_minutes`, that passes the
    count test while staying above the alarm's expected value, as the alarm instead; else None.

    The kernel alarms at an incident's first bucket and damps the buckets after it
    (suppression), so when that first bucket holds too few slow requests to be significant
    (a regression that starts mid-bucket), the same episode's next buckets are the evidence.
    """
    if s.metric != "latency_p95_5m" or f.observed < f.expected:
        return None
    last = min(len(s.values) - 1, f.index + max(1, cfg.incident_gap_minutes * 60 // s.bucket_seconds))
    for j in range(f.index + 1, last + 1):
        if not s.values[j] > f.expected:  # (NaN: a gap, not evidence)
            continue
        g = Found(s, j, f.score, f.expected, f.kind)
        if (s.key, g.bucket_start) in stored or p95_significant(spans_db, g, cfg, spans_table):
            return g
    return None


def stored_alarms(wh: Warehouse, cfg: AnomalySettings, now: datetime) -> set[tuple[str, datetime]]:
    """(series key, bucket start) of the alarms already stored within the lookback."""
    return set(wh.con.execute(
        "SELECT series_key, bucket_start FROM anomalies WHERE bucket_start >= ?",
        [now - timedelta(hours=cfg.lookback_hours + 1)]).fetchall())


def standing_alarms(series: list[Series], cfg: AnomalySettings, stored: set[tuple[str, datetime]],
                    summary: RunSummary, spans_db: Warehouse, spans_table: str = "spans") -> list[Found]:
    """Score every series and keep the alarms that stand (counts `points` and `alarms` in `summary`);
    the p95 count test reads `spans_table` in `spans_db`."""
    found: list[Found] = []
    for s, r in zip(series, score_all(series, cfg)):
        summary.points += len(s.values)
        for i, sc, kind in confirmed_alarms(s, r, cfg):
            f = Found(s, i, sc, expected_at(r, i), kind)
            # a stored alarm passed the p95 count test when it was stored (one query per new alarm)
            if (s.key, f.bucket_start) in stored or p95_significant(spans_db, f, cfg, spans_table):
                found.append(f)
            elif (g := p95_onset_follower(s, f, cfg, stored, spans_db, spans_table)) is not None:
                found.append(g)
    summary.alarms = len(found)
    return found


def run_detection(wh: Warehouse, cfg: AnomalySettings, now: datetime) -> RunSummary:
    summary = RunSummary()
    series = _select(load_series(wh, cfg.series, now, cfg.lookback_hours, cfg.min_requests), cfg)
    summary.series = len(series)
    stored = stored_alarms(wh, cfg, now)
    found = standing_alarms(series, cfg, stored, summary, wh)

    new = [f for f in found if (f.series.key, f.bucket_start) not in stored]
    new.sort(key=lambda f: f.bucket_start, reverse=True)
    sources = {}
    for f in new[:MAX_EXPLAINED_PER_RUN]:
        kind = f.series.metric
        if kind not in sources:
            step = f.series.bucket_seconds
            end = floor_time(now, step)
            sources[kind] = source_for(wh, kind, end - timedelta(hours=cfg.lookback_hours), end)
        src = sources[kind]
        if src is not None:
            f.movement = explain(wh, src, f.series.labels, f.bucket_start, f.series.bucket_seconds,
                                 cfg.explain_baseline_buckets)
    insert_anomalies(wh, new, utcnow())
    summary.new_anomalies = len(new)
    _alerts(wh, cfg, now, found, summary)
    return summary


def _with_stored_movements(wh: Warehouse, found: list[Found], cfg: AnomalySettings, now: datetime) -> None:
    """Give the alarms explained on an earlier run their stored explanation: incident grouping
    links a latency alarm to a team's cost incident through what moved it."""
    if all(f.movement is not None for f in found):
        return
    stored = stored_movements(wh, now - timedelta(hours=cfg.lookback_hours + 1))
    for f in found:
        if f.movement is None and (m := stored.get((f.series.key, f.bucket_start))) is not None:
            f.movement = Movement(*m)


def _alertable(f: Found, cfg: AnomalySettings) -> bool:
    """Alarms in a series' first hours (the detector still learning its day), and falls of latency
    or error rate, are stored, not paged."""
    return (int(f.series.ts[f.index] - f.series.ts[0]) >= cfg.alert_min_history_hours * 3600
            and pages_in_its_direction(f.metric, f.observed, f.expected))


def _active(inc: Incident, cfg: AnomalySettings, now: datetime) -> bool:
    """Firing while its latest alarm is recent and its series has not been quiet for long."""
    last = max(inc.members, key=lambda f: f.bucket_start)
    last_point = datetime(1970, 1, 1) + timedelta(seconds=int(last.series.ts[-1]))
    return (last_point - last.bucket_start <= timedelta(minutes=cfg.resolve_after_minutes)
            and now - last.bucket_start <= timedelta(minutes=cfg.alert_max_age_minutes))


def _alerts(wh: Warehouse, cfg: AnomalySettings, now: datetime, found: list[Found], summary: RunSummary) -> None:
    """One alert per incident: related alarms close in time page once, led by the most unusual."""
    firing = firing_fingerprints(wh, SOURCE)
    records: list[AlertRecord] = []
    active: set[str] = set()
    alertable = [f for f in found if _alertable(f, cfg)]
    _with_stored_movements(wh, alertable, cfg, now)
    incidents = group_incidents(alertable, timedelta(minutes=cfg.grouping_minutes))
    for inc in incidents:
        if not _active(inc, cfg, now):
            continue
        labels = inc.labels
        fp = fingerprint({"alertname": ALERTNAME, **labels})
        active.add(fp)
        if fp in firing:
            continue
        f = inc.top
        s = f.series
        moved = next((x.movement for x in inc.members[:MOVED_CANDIDATES] if x.movement is not None), None)
        keys = list(dict.fromkeys(x.series.key for x in inc.members))
        moved_txt = ""
        values = {"observed": f.observed, "expected": f.expected, "score": f.score, "kind": f.kind,
                  "unit": s.unit, "bucket_start": f.bucket_start.isoformat(), "bucket_seconds": s.bucket_seconds,
                  "series_key": s.key, "series": keys, "alarms": len(inc.members)}
        if moved is not None:
            values.update(moved_dimension=moved.dimension, moved_value=moved.value,
                          moved_observed=moved.observed, moved_expected=moved.expected, moved_share=moved.share)
            moved_txt = f"; moved most: {moved.dimension}={moved.value} ({moved.expected:.4g} -> {moved.observed:.4g})"
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        records.append(AlertRecord(
            source=SOURCE, alertname=ALERTNAME, labels=labels, severity=cfg.severity, status="firing",
            summary=f"{s.key}: {f.kind}, observed {f.observed:.4g} vs expected {f.expected:.4g} {s.unit}"
                    f" ({inc.family} incident, {len(keys)} series)",
            description=f"Anomaly score {f.score:.2f} at {f.bucket_start.isoformat()}Z{moved_txt}. Series that moved: {shown}.",
            values=values, starts_at=inc.start))
        summary.firing.append(s.key)
    resolved = resolved_records(
        SOURCE, firing, active, now, severity=cfg.severity,
        summary=lambda labels: f"{labels.get('incident', 'anomaly')} incident back to normal",
        values=lambda labels: {"labels": json.dumps(labels, sort_keys=True)},
    )
    records.extend(resolved)
    summary.resolved.extend(r.fingerprint for r in resolved)
    write_alert_records(wh, records)


@register_job("anomaly.detect", every_seconds=300)
def detect_job(ctx: JobContext) -> str:
    if on_dask(ctx.settings):
        return "on the Dask engine: lake.analyze runs it over the lake"
    cfg: AnomalySettings = ctx.settings.analytics.anomaly
    if not cfg.enabled:
        return "disabled"
    return str(run_detection(ctx.warehouse, cfg, ctx.now))
