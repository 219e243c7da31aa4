"""The anomaly job on seeded spans: the demo's cost spike and latency regression are found,
with the right team and model, and they raise (then resolve) alert records."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from inferledger.analytics.alert_records import recent_alert_records
from inferledger.analytics.anomaly.job import ALERTNAME, SOURCE, Found, RunSummary, _alerts, run_detection
from inferledger.analytics.anomaly.series import Series, load_series
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.jobs import REGISTRY, JobContext, run_job
from inferledger.collector.columns import SPAN_COLUMNS
from tests.factories import insert_gpu_samples, span_row

T0 = datetime(2026, 3, 2)          # a Monday
SPIKE = (T0 + timedelta(days=2, hours=10), T0 + timedelta(days=2, hours=11))       # team "search" 8x
REGRESSION = (T0 + timedelta(days=2, hours=13), T0 + timedelta(days=2, hours=15))  # model "claude-sonnet" 3x
NOW = T0 + timedelta(days=2, hours=15, minutes=30)
ALERT_NOW = REGRESSION[0] + timedelta(minutes=40)
TEAMS = ("search", "support", "ads")
MODELS = ("gpt-4o", "claude-sonnet")


def insert_spans(wh, rows: list[dict]) -> None:
    """Bulk form of tests.factories.insert_spans (executemany is too slow for days of spans)."""
    import pandas as pd

    df = pd.DataFrame([[r.get(c) for c in SPAN_COLUMNS] for r in rows], columns=SPAN_COLUMNS)
    cols = ", ".join(SPAN_COLUMNS)
    wh.con.register("anomaly_seed_spans", df)
    try:
        wh.con.execute(f"INSERT INTO spans ({cols}) SELECT DISTINCT ON (tenant, trace_id, span_id) {cols} FROM anomaly_seed_spans")
    finally:
        wh.con.unregister("anomaly_seed_spans")


def fleet(now: datetime = NOW) -> list[dict]:
    """Three teams on two models, Poisson traffic with a diurnal rate (about 3 requests per
    team and model per 5 minutes), the injected incidents on top."""
    rng = np.random.default_rng(7)
    rows = []
    t = T0
    while t < now:
        hour = t.hour + t.minute / 60
        diurnal = 1.0 + 0.5 * np.sin((hour - 6) / 24 * 2 * np.pi)
        for team in TEAMS:
            for model in MODELS:
                rate = 3.0 * diurnal
                if team == "search" and SPIKE[0] <= t < SPIKE[1]:
                    rate *= 8
                n = int(rng.poisson(rate))
                for k in range(n):
                    latency = float(rng.lognormal(np.log(1.2), 0.08))
                    if model == "claude-sonnet" and REGRESSION[0] <= t < REGRESSION[1]:
                        latency *= 3
                    start = t + timedelta(seconds=int(rng.integers(0, 290)))
                    rows.append(span_row(start, latency, team=team, request_model=model, response_model=model,
                                         feature="answers" if team != "ads" else "ranking",
                                         input_tokens=int(rng.integers(900, 1100)),
                                         output_tokens=int(rng.integers(180, 220))))
        t += timedelta(minutes=5)
    return rows


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from inferledger.analytics.warehouse import open_warehouse

    wh = open_warehouse(tmp_path_factory.mktemp("anomaly") / "wh.duckdb")
    insert_spans(wh, fleet())
    yield wh
    wh.close()


def _cfg(settings):
    return settings.analytics.anomaly


def test_series_are_built_from_spans(seeded, settings):
    series = load_series(seeded, ["spend_5m", "latency_p95_5m"], NOW, 72)
    keys = {s.key for s in series}
    assert 'spend_5m{team="search"}' in keys and "spend_5m{}" in keys
    assert 'latency_p95_5m{model="claude-sonnet"}' in keys
    spend = next(s for s in series if s.key == 'spend_5m{team="search"}')
    assert spend.unit == "tokens"  # no cost engine rows yet: token fallback
    assert np.all(np.diff(spend.ts) == 300)  # dense, complete buckets only
    assert spend.ts[-1] + 300 <= (NOW - datetime(1970, 1, 1)).total_seconds()


@pytest.mark.slow
def test_demo_incidents_found_with_team_and_model(seeded, settings):
    summary = run_detection(seeded, _cfg(settings), NOW)
    assert summary.series > 10 and summary.new_anomalies > 0
    rows = seeded.con.execute(
        "SELECT metric, labels, bucket_start, observed, expected, kind, moved_dimension, moved_value FROM anomalies ORDER BY bucket_start"
    ).fetchall()
    # the cost spike: on the search team's own spend series within the spike hour ...
    spend_search = [r for r in rows if r[0] == "spend_5m" and json.loads(r[1]) == {"team": "search"}
                    and SPIKE[0] <= r[2] < SPIKE[1]]
    assert spend_search, rows
    assert spend_search[0][3] > 3 * spend_search[0][4]  # observed well above expected
    # ... and on the total spend series, explained by team=search
    total = [r for r in rows if r[0] == "spend_5m" and json.loads(r[1]) == {} and SPIKE[0] <= r[2] < SPIKE[1]]
    assert total and (total[0][6], total[0][7]) == ("team", "search")
    # the latency regression: on claude-sonnet's p95 series, not on gpt-4o's
    lat = [r for r in rows if r[0] == "latency_p95_5m" and REGRESSION[0] <= r[2] < REGRESSION[1]]
    assert lat and all(json.loads(r[1]) == {"model": "claude-sonnet"} for r in lat)
    assert lat[0][3] > 2 * lat[0][4]
    # no alarm on the other teams' spend during the spike
    others = [r for r in rows if r[0] == "spend_5m" and json.loads(r[1]).get("team") in ("support", "ads")
              and SPIKE[0] <= r[2] < SPIKE[1]]
    assert not others


@pytest.mark.slow
def test_alerts_fire_then_resolve_once(tmp_path, settings):
    from inferledger.analytics.warehouse import open_warehouse

    wh = open_warehouse(tmp_path / "a.duckdb")
    insert_spans(wh, fleet(ALERT_NOW))
    cfg = _cfg(settings)
    # 40 minutes into the regression: it has been caught and the alert fires
    first = run_detection(wh, cfg, ALERT_NOW)
    assert 'latency_p95_5m{model="claude-sonnet"}' in first.firing
    rec = wh.con.execute(
        "SELECT labels, \"values\", summary, status FROM alert_records WHERE source = 'anomaly'"
        " AND labels->>'incident' = 'performance'").fetchall()
    assert len(rec) == 1 and rec[0][3] == "firing"
    labels, values = json.loads(rec[0][0]), json.loads(rec[0][1])
    assert labels["model"] == "claude-sonnet" and labels["alertname"] == ALERTNAME
    assert values["series_key"] == 'latency_p95_5m{model="claude-sonnet"}'
    assert values["observed"] > 2 * values["expected"] and values["unit"] == "seconds"
    assert values["moved_dimension"] in ("team", "feature")
    # a second run over the same data changes nothing
    again = run_detection(wh, cfg, ALERT_NOW)
    assert again.new_anomalies == 0 and not again.firing and not again.resolved
    # hours later, the regression over and traffic normal: resolved exactly once
    later = NOW + timedelta(hours=3)
    insert_spans(wh, [r for r in fleet(later) if r["start_time"] >= ALERT_NOW])
    res = run_detection(wh, cfg, later)
    assert res.resolved
    statuses = wh.con.execute(
        "SELECT status FROM alert_records WHERE source = 'anomaly' AND labels->>'incident' = 'performance'"
        " ORDER BY id").fetchall()
    assert [s for (s,) in statuses] == ["firing", "resolved"]
    assert not run_detection(wh, cfg, later).resolved
    wh.close()


@pytest.mark.slow
def test_cost_spike_pages_once_for_all_the_series_it_moved(tmp_path, settings):
    """The search team's 8x spend spike alarms its spend, the total and its tokens: one page,
    naming team=search and listing only series that alarmed in the spike."""
    from inferledger.analytics.warehouse import open_warehouse

    wh = open_warehouse(tmp_path / "c.duckdb")
    at = SPIKE[0] + timedelta(minutes=40)
    insert_spans(wh, fleet(at))
    run_detection(wh, _cfg(settings), at)
    rec = wh.con.execute("SELECT labels, \"values\" FROM alert_records WHERE source = 'anomaly' AND status = 'firing'").fetchall()
    cost = [(json.loads(a), json.loads(b)) for a, b in rec if json.loads(a)["incident"] == "cost"]
    assert len(cost) == 1, rec
    labels, values = cost[0]
    assert values["alarms"] >= 2 and 'spend_5m{team="search"}' in values["series"]
    assert not [k for k in values["series"] if "support" in k or "ads" in k]  # only series that moved
    assert (values.get("moved_dimension"), values.get("moved_value")) == ("team", "search") or "search" in values["series_key"]
    stored = {k for (k,) in wh.con.execute("SELECT series_key FROM anomalies WHERE bucket_start >= ?", [SPIKE[0]]).fetchall()}
    assert set(values["series"]) <= stored
    wh.close()


@pytest.mark.slow
def test_registered_job_runs_and_gpu_series(warehouse, settings):
    rows = []
    t = T0
    rng = np.random.default_rng(3)
    while t < T0 + timedelta(days=1):
        for gpu in range(2):
            rows.append({"time": t, "host": "node-1", "gpu_uuid": f"GPU-{gpu}", "gpu_index": gpu,
                         "gpu_model": "H100", "utilization": float(np.clip(rng.normal(0.6, 0.03), 0, 1))})
        t += timedelta(minutes=1)
    insert_gpu_samples(warehouse, rows)
    import inferledger.analytics.anomaly.job  # noqa: F401  (registers the job)

    job = REGISTRY["anomaly.detect"]
    result = run_job(job, JobContext(warehouse, settings, now=T0 + timedelta(days=1)))
    assert "series=1 " in result  # the H100 pool's utilisation; no spans, so nothing else
    series = load_series(warehouse, ["gpu_util_5m"], T0 + timedelta(days=1), 48)
    assert series[0].labels == {"pool": "H100"} and len(series[0].values) == 288
    status = warehouse.con.execute("SELECT status FROM job_runs WHERE job = 'anomaly.detect'").fetchone()[0]
    assert status == "ok"


def _insert_cost_lines(wh, rows: list[dict]) -> None:
    """Rows into cost_lines, filling the NOT NULL columns this test does not care about by type
    (the cost engine owns that schema and may grow it)."""
    cols = wh.con.execute(
        "SELECT column_name, is_nullable, data_type FROM information_schema.columns"
        " WHERE table_name = 'cost_lines' ORDER BY ordinal_position").fetchall()
    filler = {"BOOLEAN": False, "VARCHAR": "", "TIMESTAMP": datetime(2026, 1, 1)}
    names = [c for c, _n, _t in cols]
    values = []
    for r in rows:
        values.append([r[c] if c in r else (None if n == "YES" else filler.get(t, 0)) for c, n, t in cols])
    wh.con.executemany(f"INSERT INTO cost_lines ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})", values)


@pytest.mark.slow
def test_spend_comes_from_cost_lines_when_the_cost_engine_has_run(warehouse):
    rows = []
    for k in range(24):
        t = T0 + timedelta(minutes=5 * k, seconds=10)
        for team, cost in (("search", 0.5), ("ads", 0.25)):
            rows.append({"tenant": "default", "trace_id": f"t{k}{team}", "span_id": f"s{k}{team}", "start_time": t,
                         "team": team, "feature": "answers", "provider": "openai", "model": "gpt-4o",
                         "status": "priced", "cost": cost})
    _insert_cost_lines(warehouse, rows)
    series = {s.key: s for s in load_series(warehouse, ["spend_5m"], T0 + timedelta(hours=2), 24)}
    total = series["spend_5m{}"]
    assert total.unit == "usd"
    assert np.allclose(total.values, 0.75)  # 24 complete buckets of 0.75 USD
    assert len(total.values) == 24
    assert np.allclose(series['spend_5m{team="ads"}'].values, 0.25)


def test_ratio_series_report_a_lower_confidence_bound(warehouse):
    """One timed-out request among ten is not a p95 spike, one failure in five not a 20 % error
    rate; a bucket where most requests slowed moves the p95 bound, and with many requests the
    bound is close to the plain estimate."""
    b0, b1, b2 = T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    rows = []
    # bucket 0: ten requests of 1.0 s, one of them timed out at 60 s and failed
    for k in range(10):
        rows.append(span_row(b0 + timedelta(seconds=10 + k), 60.0 if k == 0 else 1.0, request_model="m",
                             is_error=k == 0, status_code="ERROR" if k == 0 else "UNSET"))
    # bucket 1: ten requests, eight of them slowed to 3.0 s
    for k in range(10):
        rows.append(span_row(b1 + timedelta(seconds=10 + k), 3.0 if k < 8 else 1.0, request_model="m"))
    # bucket 2: 400 requests with durations 1..400 ms
    for k in range(400):
        rows.append(span_row(b2 + timedelta(milliseconds=10 * k), (k + 1) / 1000, request_model="m",
                             is_error=k < 40, status_code="ERROR" if k < 40 else "UNSET"))
    insert_spans(warehouse, rows)
    now = T0 + timedelta(minutes=20)
    by_key = {s.key: s for s in load_series(warehouse, ["latency_p95_5m", "error_rate_5m"], now, 1)}
    p95 = by_key['latency_p95_5m{model="m"}'].values
    err = by_key['error_rate_5m{model="m"}'].values
    assert p95[0] == 1.0            # the timeout does not make the bucket's p95
    assert p95[1] == 3.0            # most of the bucket slowed: the bound moves
    assert 0.370 <= p95[2] <= 0.380  # plain p95 of 1..400 ms is 0.380 s
    assert 0.0 < err[0] < 0.03       # 1 of 10 failed: a plain rate says 0.10
    assert 0.07 < err[2] < 0.10      # 40 of 400: close to the plain 0.10


def test_a_faster_p95_or_fewer_errors_is_stored_but_never_paged(warehouse):
    t0 = 1_764_000_000 // 300 * 300
    now = datetime(1970, 1, 1) + timedelta(seconds=t0 + 300 * 300)

    def series(metric: str, last: float) -> Series:
        values = np.full(300, 5.0)
        values[-1] = last
        return Series(metric, "seconds", {"model": "gpt-4o"}, 300, np.arange(t0, t0 + 300 * 300, 300), values)

    falls = [Found(series("latency_p95_5m", 1.0), 299, 0.8, 5.0, "spike"),
             Found(series("error_rate_5m", 1.0), 299, 0.8, 5.0, "spike")]
    _alerts(warehouse, AnomalySettings(), now, falls, RunSummary())
    assert recent_alert_records(warehouse, source=SOURCE) == []
    rise = Found(series("latency_p95_5m", 20.0), 299, 0.8, 5.0, "spike")
    _alerts(warehouse, AnomalySettings(), now, [rise], RunSummary())
    (record,) = recent_alert_records(warehouse, source=SOURCE)
    assert record["status"] == "firing" and record["labels"]["model"] == "gpt-4o"
