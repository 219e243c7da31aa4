"""The demo fleet's own injected incidents (inferledger.demo) are found by the anomaly job:
the cost spike with its team, the latency regression with its model."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from inferledger.analytics.anomaly.job import run_detection
from inferledger.config import load_settings
from inferledger.demo.fleet import FleetSpec, incidents_for, simulate_requests
from inferledger.demo.incidents import COST_SPIKE, LATENCY_REGRESSION
from tests.factories import span_row
from tests.test_anomaly_job import insert_spans

END = datetime(2026, 3, 5)
START = END - timedelta(days=3)


def _spans(requests) -> list[dict]:
    return [
        span_row(r.start, r.duration_s, trace_id=f"{r.trace_id:032x}", span_id=f"{r.span_id:016x}",
                 service_name=r.service, team=r.team or "", feature=r.feature or "", operation=r.operation,
                 provider=r.provider, request_model=r.request_model, response_model=r.response_model,
                 input_tokens=r.input_tokens, output_tokens=r.output_tokens, client_cost_usd=r.client_cost_usd,
                 is_error=r.is_error, error_type=r.error_type, status_code="ERROR" if r.is_error else "UNSET")
        for r in requests
    ]


@pytest.mark.slow
def test_demo_fleet_incidents_are_found(tmp_path):
    from inferledger.analytics.warehouse import open_warehouse

    spec = FleetSpec()
    incidents = {i.kind: i for i in incidents_for(START, END, 7, spec.incidents)}
    wh = open_warehouse(tmp_path / "demo.duckdb")
    insert_spans(wh, _spans(simulate_requests(spec, START, END, seed=7, incidents=list(incidents.values()))))
    settings = load_settings(None, environ={})
    run_detection(wh, settings.analytics.anomaly, END)
    rows = wh.con.execute(
        "SELECT metric, labels, bucket_start, observed, expected, moved_dimension, moved_value, unit"
        " FROM anomalies ORDER BY bucket_start").fetchall()

    spike = incidents[COST_SPIKE]
    in_spike = [r for r in rows if r[0] == "spend_5m" and spike.start - timedelta(minutes=5) <= r[2] < spike.end]
    teams = {json.loads(r[1]).get("team") for r in in_spike} | {r[6] for r in in_spike if r[5] == "team"}
    assert spike.team in teams, in_spike
    assert all(r[7] == "usd" for r in in_spike)  # the instrumentation's client cost, before the cost engine ran
    assert not (teams - {spike.team, None}), f"other teams flagged during the spike: {teams}"

    lat = incidents[LATENCY_REGRESSION]
    in_lat = [r for r in rows if r[0] == "latency_p95_5m" and lat.start - timedelta(minutes=5) <= r[2] < lat.end]
    models = {json.loads(r[1])["model"] for r in in_lat}
    assert lat.model in models, in_lat
    first = next(r for r in in_lat if json.loads(r[1])["model"] == lat.model)
    assert first[3] > 1.5 * first[4]  # observed p95 well above expected
    wh.close()
