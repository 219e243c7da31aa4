"""The drift job on seeded spans: segment attribution, results table, alert records."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from inferledger.analytics.alert_records import firing_fingerprints
from inferledger.analytics.drift.job import detect_drift, drift_job, run_drift, windows_for
from inferledger.analytics.drift.settings import DriftSettings
from inferledger.analytics.jobs import REGISTRY, JobContext
from inferledger.collector.columns import SPAN_COLUMNS
from inferledger.config import ConfigError, load_settings
from inferledger.demo.incidents import IncidentTargets
from tests.factories import span_row

# the demo fleet's injected prompt-length drift: which segment, how hard
DEMO = IncidentTargets()

NOW = datetime(2026, 11, 20, 12, 0, 0)
DRIFTED = (DEMO.drift_service, DEMO.drift_model)
SEGMENTS = [
    DRIFTED,
    (DEMO.drift_service, "gpt-4o-mini"),  # same service, other model
    ("chat-api", DEMO.drift_model),  # same model, other service
    ("chat-api", "gpt-4o"),
]


def _bulk_insert(wh, rows):
    """Seed many span_row() rows at once (factories.insert_spans goes row by row)."""
    df = pd.DataFrame([{c: r.get(c) for c in SPAN_COLUMNS} for r in rows])
    wh.con.register("seed_spans", df)
    cols = ", ".join(SPAN_COLUMNS)
    wh.con.execute(f"INSERT INTO spans ({cols}) SELECT {cols} FROM seed_spans")
    wh.con.unregister("seed_spans")


def _spans(rng, service, model, start, end, n, input_factor=1.0, attrs=None):
    span = (end - start).total_seconds()
    rows = []
    for k in range(n):
        t = start + timedelta(seconds=float(rng.uniform(0, span)))
        dur = float(rng.gamma(4.0, 0.5))
        rows.append(span_row(
            t, dur, service_name=service, request_model=model, response_model=model,
            input_tokens=int(rng.lognormal(6.5, 0.5) * input_factor), output_tokens=int(rng.lognormal(5.0, 0.4)),
            time_to_first_token_s=float(rng.gamma(2.0, 0.1)),
            finish_reason=str(rng.choice(["stop", "length"], p=[0.9, 0.1])),
            attributes=attrs(k) if attrs else {},
        ))
    return rows


def _seed(wh, seed=1, cur_start=NOW - timedelta(days=1), cur_end=NOW, drift=True):
    """Per segment: 4000 spans over the two days before `cur_start`, 1500 in [cur_start, cur_end)."""
    rng = np.random.default_rng(seed)
    rows = []
    for service, model in SEGMENTS:
        rows += _spans(rng, service, model, cur_start - timedelta(days=2), cur_start, 4000)
        factor = DEMO.drift_input_factor if drift and (service, model) == DRIFTED else 1.0
        rows += _spans(rng, service, model, cur_start, cur_end, 1500, input_factor=factor)
    _bulk_insert(wh, rows)


def test_windows_rolling_and_pinned():
    w = windows_for(DriftSettings(current_window="1h", reference_window="1d"), NOW)
    assert (w.current_start, w.current_end) == (NOW - timedelta(hours=1), NOW)
    assert (w.reference_start, w.reference_end) == (NOW - timedelta(hours=25), NOW - timedelta(hours=1))
    pinned = DriftSettings(reference_mode="pinned", reference_start="2026-11-01T00:00:00",
                           reference_end="2026-11-08T00:00:00")
    w = windows_for(pinned, NOW)
    assert w.reference_start == datetime(2026, 11, 1) and w.reference_end == datetime(2026, 11, 8)
    with pytest.raises(ValueError, match="reference_start is required"):
        DriftSettings(reference_mode="pinned")
    with pytest.raises(ValueError, match="current_window"):
        DriftSettings(current_window="an hour")
    with pytest.raises(ValueError, match="segment_keys: unknown key 'colour'"):
        DriftSettings(segment_keys=["colour"])


@pytest.mark.slow
def test_prompt_length_drift_is_attributed_to_its_segment(warehouse):
    _seed(warehouse)
    cfg = DriftSettings()
    _win, segments = detect_drift(warehouse, cfg, NOW)
    assert {(s.segment["service_name"], s.segment["model"]) for s in segments} == set(SEGMENTS)
    drifted = {(s.segment["service_name"], s.segment["model"], r.column) for s in segments for r in s.results
               if r.drifted}
    assert (*DRIFTED, "input_tokens") in drifted
    # nothing else drifted in input tokens, and the drifted segment is the only one with a drift
    assert {(svc, mdl) for svc, mdl, _col in drifted} == {DRIFTED}
    by_seg = {(s.segment["service_name"], s.segment["model"]): {r.column: r for r in s.results} for s in segments}
    hit = by_seg[DRIFTED]["input_tokens"]
    assert hit.method == "wasserstein" and hit.score > 0.5 and hit.reference_rows == 4000
    assert by_seg[("chat-api", "gpt-4o")]["input_tokens"].score < 0.1
    # cost per request: the cost table exists but has no lines yet -> a clear "no values" answer
    cost = by_seg[DRIFTED].get("cost_per_request")
    if cost is not None:
        assert cost.drifted is False and "no values" in cost.detail


@pytest.mark.slow
def test_job_writes_results_and_fires_then_resolves(warehouse, settings):
    _seed(warehouse)
    assert "drift.detect" in REGISTRY
    summary = drift_job(JobContext(warehouse=warehouse, settings=settings, now=NOW))
    assert summary["segments"] == 4 and summary["alerts"] >= 1
    rows = warehouse.con.execute(
        "SELECT segment, column_name, method, score, drifted FROM drift_results WHERE drifted"
    ).fetchall()
    assert rows and all(json.loads(seg) == {"model": DRIFTED[1], "service_name": DRIFTED[0]} for seg, *_ in rows)
    firing = firing_fingerprints(warehouse, "drift")
    assert any(l["column"] == "input_tokens" and l["service_name"] == DRIFTED[0] for l in firing.values())
    alert = warehouse.con.execute(
        "SELECT severity, summary FROM alert_records WHERE source = 'drift' AND status = 'firing' LIMIT 1"
    ).fetchall()[0]
    assert alert[0] == "ticket" and "drifted" in alert[1]

    # next day: the drift is gone (the segment is back to normal) -> resolved exactly once
    later = NOW + timedelta(days=1)
    _seed(warehouse, seed=2, cur_start=NOW, cur_end=later, drift=False)
    # a pinned baseline: the clean days before the drifted hour (a rolling one would now include it)
    base = NOW - timedelta(days=1)
    pinned = DriftSettings(reference_mode="pinned", reference_start=(base - timedelta(days=2)).isoformat(),
                           reference_end=base.isoformat())
    summary2 = run_drift(warehouse, pinned, later)
    assert summary2["resolved"] == summary["alerts"] and summary2["alerts"] == 0
    assert firing_fingerprints(warehouse, "drift") == {}
    summary3 = run_drift(warehouse, pinned, later + timedelta(minutes=10))
    assert summary3["resolved"] == 0


@pytest.mark.slow
def test_attribute_columns_and_overrides(warehouse):
    rng = np.random.default_rng(4)
    start = NOW - timedelta(hours=1)
    rows = _spans(rng, "chat-api", "gpt-4o", start - timedelta(days=1), start, 1500,
                  attrs=lambda k: {"app.template": "short", "app.retries": 0})
    rows += _spans(rng, "chat-api", "gpt-4o", start, NOW, 400,
                   attrs=lambda k: {"app.template": "long" if k % 2 else "short", "app.retries": k % 3})
    _bulk_insert(warehouse, rows)
    cfg = load_settings(None, environ={}, overrides={
        "analytics.drift.current_window": "1h",
        "analytics.drift.attribute_columns": ["app.template"],
        "analytics.drift.numeric_attribute_columns": ["app.retries"],
        "analytics.drift.columns": {"input_tokens": {"method": "psi", "threshold": 0.5}},
    }).analytics.drift
    _win, segments = detect_drift(warehouse, cfg, NOW)
    res = {r.column: r for r in segments[0].results}
    assert res["attr.app.template"].drifted and res["attr.app.template"].kind == "categorical"
    assert res["attr.app.retries"].drifted and res["attr.app.retries"].kind == "numeric"
    assert res["input_tokens"].method == "psi" and res["input_tokens"].threshold == 0.5
    assert res["error_type"].score == 0.0  # 'none' on both sides: identical distributions


def test_drift_config_from_toml_and_errors_name_the_field(tmp_path):
    cfg_file = tmp_path / "inferledger.toml"
    cfg_file.write_text(
        '[analytics.drift]\nreference_mode = "pinned"\nreference_start = "2026-11-01T00:00:00"\n'
        'reference_end = "2026-11-08T00:00:00"\ncurrent_window = "1d"\nsegment_keys = ["team", "model"]\n'
        '[analytics.drift.columns.latency_s]\nmethod = "ks"\nthreshold = 0.01\n'
    )
    drift = load_settings(cfg_file, environ={"INFERLEDGER_ANALYTICS__DRIFT__MIN_ROWS": "50"}).analytics.drift
    assert drift.reference_mode == "pinned" and drift.segment_keys == ["team", "model"] and drift.min_rows == 50
    assert drift.columns["latency_s"].method == "ks" and drift.columns["latency_s"].threshold == 0.01
    with pytest.raises(ConfigError, match=r"analytics\.drift\.colour: unknown key"):
        load_settings(None, environ={}, overrides={"analytics.drift.colour": 1})
    with pytest.raises(ConfigError, match=r"analytics\.drift\.columns\.x.*unknown drift method 'tt'"):
        load_settings(None, environ={}, overrides={"analytics.drift.columns": {"x": {"method": "tt"}}})
    with pytest.raises(ConfigError, match="reference_mode"):
        load_settings(None, environ={}, overrides={"analytics.drift.reference_mode": "fixed"})


@pytest.mark.slow
def test_reference_profile_is_fitted_once_and_reused(warehouse, monkeypatch):
    import inferledger.analytics.drift.job as job_mod
    from inferledger.analytics.drift.compare import compare_frames, compare_profile
    from inferledger.analytics.drift.profile import fit_profile

    _seed(warehouse)
    fits = []
    real_fit = job_mod.fit_profile
    monkeypatch.setattr(job_mod, "fit_profile", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    monkeypatch.setattr(job_mod, "_PROFILE_CACHE", job_mod.WeakKeyDictionary())
    reads = []
    real_read = job_mod.read_features
    monkeypatch.setattr(job_mod, "read_features", lambda *a, **k: reads.append(a[1]) or real_read(*a, **k))
    base = NOW - timedelta(days=1)
    pinned = DriftSettings(reference_mode="pinned", reference_start=(base - timedelta(days=2)).isoformat(),
                           reference_end=base.isoformat(), current_window="12h")
    _w, first = detect_drift(warehouse, pinned, NOW - timedelta(hours=12))
    _w, second = detect_drift(warehouse, pinned, NOW)
    assert len(fits) == len(SEGMENTS) and len(first) == len(second) == len(SEGMENTS)
    assert reads.count(base - timedelta(days=2)) == 1  # the reference window was read once, not per run

    # a reused profile gives exactly what a fresh comparison of the raw frames gives
    rng = np.random.default_rng(3)
    import polars as pl

    ref = pl.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["a", "b", "c"], 5000)})
    windows = [pl.DataFrame({"x": rng.normal(s, 1, 800), "c": rng.choice(["a", "b", "c"], 800)}) for s in (0, .3)]
    profile = fit_profile(ref)
    for cur in windows:
        assert [r.as_dict() for r in compare_profile(profile, cur)] == [r.as_dict() for r in compare_frames(ref, cur)]


@pytest.mark.slow
def test_max_rows_takes_a_seeded_sample_per_segment(warehouse):
    from inferledger.analytics.drift.features import read_features

    _seed(warehouse)
    args = (warehouse, NOW - timedelta(days=1), NOW, ["service_name", "model"])
    full = read_features(*args).frame
    capped = read_features(*args, max_rows=200).frame
    again = read_features(*args, max_rows=200).frame
    assert full.height == 1500 * len(SEGMENTS)
    assert capped.group_by("seg_service_name", "seg_model").len()["len"].to_list() == [200] * len(SEGMENTS)
    assert capped.sort("input_tokens", "latency_s").equals(again.sort("input_tokens", "latency_s"))


@pytest.mark.slow
def test_admin_route_serves_the_latest_results(warehouse, settings):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from inferledger.analytics.drift.routes import ROUTES

    _seed(warehouse)
    run_drift(warehouse, settings.analytics.drift, NOW)
    app = Starlette(routes=ROUTES)
    app.state.warehouse = warehouse
    with TestClient(app) as client:
        drifted = client.get("/admin/drift/results").json()
        every = client.get("/admin/drift/results?all=1").json()
    assert drifted and all(r["drifted"] for r in drifted) and len(every) > len(drifted)
    assert {r["segment"]["service_name"] for r in drifted} == {DRIFTED[0]}


@pytest.mark.slow
def test_demo_fleet_prompt_length_drift_is_found_in_its_segment(warehouse):
    """Two days of the demo fleet's own simulated traffic: the injected drift is attributed right."""
    from inferledger.demo.fleet import simulate_requests
    from inferledger.demo.incidents import PROMPT_LENGTH_DRIFT, incidents_for
    from inferledger.demo.spec import FleetSpec

    spec = FleetSpec()
    end = datetime(2026, 11, 22, 3, 0)
    start = end - timedelta(days=2)
    incidents = incidents_for(start, end, 7, spec.incidents)
    drift = next(i for i in incidents if i.kind == PROMPT_LENGTH_DRIFT)
    rows = [
        span_row(r.start, r.duration_s, trace_id=f"{r.trace_id:032x}", span_id=f"{r.span_id:016x}",
                 service_name=r.service, team=r.team, feature=r.feature, operation=r.operation,
                 provider=r.provider, request_model=r.request_model, response_model=r.response_model,
                 input_tokens=r.input_tokens, output_tokens=r.output_tokens, time_to_first_token_s=r.ttft_s,
                 finish_reason=r.finish_reason, error_type=r.error_type, is_error=r.is_error)
        for r in simulate_requests(spec, start, end, seed=7, incidents=incidents)
    ]
    _bulk_insert(warehouse, rows)
    _win, segments = detect_drift(warehouse, DriftSettings(), end)
    input_drifts = sorted(
        ((r.score, s.segment["service_name"], s.segment["model"]) for s in segments for r in s.results
         if r.column == "input_tokens" and r.drifted),
        reverse=True,
    )
    assert input_drifts, "the injected prompt-length drift was not found"
    _score, service, model = input_drifts[0]
    assert (service, model) == (drift.service, drift.model)
    assert all(svc == drift.service and mdl == drift.model for _s, svc, mdl in input_drifts)


@pytest.mark.slow
def test_alert_columns_limit_which_drifts_raise_alerts(warehouse):
    _seed(warehouse)
    quiet = run_drift(warehouse, DriftSettings(alert_columns=["output_tokens"]), NOW)
    assert quiet["drifted"] and quiet["alerts"] == 0  # drift is recorded, only not alerted on
    loud = run_drift(warehouse, DriftSettings(alert_columns=["input_tokens"], severity="page"), NOW)
    assert loud["alerts"] == 1
    sev = warehouse.con.execute("SELECT DISTINCT severity FROM alert_records WHERE source = 'drift'").fetchall()
    assert sev == [("page",)]
