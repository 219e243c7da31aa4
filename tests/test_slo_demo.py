"""The demo fleet's SLOs: its injected latency regression burns the Llama 70B TTFT SLO.

Runs the demo's own simulation (the same requests `inferledger demo` sends), stores
them as canonical spans and evaluates the bundled demo specs around the incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from inferledger.analytics.slo.engine import evaluate
from inferledger.analytics.slo.rollup import update_rollups
from inferledger.analytics.slo.spec import DEMO_SPEC_PATH, load_spec_file
from inferledger.analytics.warehouse import utcnow
from inferledger.demo.fleet import from_ns, simulate_requests
from inferledger.demo.incidents import LATENCY_REGRESSION, incidents_for
from inferledger.demo.spec import FleetSpec


def _store(wh, reqs) -> None:
    now = utcnow()
    table = pa.table({
        "tenant": ["default"] * len(reqs),
        "trace_id": [f"{r.trace_id:032x}" for r in reqs],
        "span_id": [f"{r.span_id:016x}" for r in reqs],
        "start_time": [from_ns(r.start_ns) for r in reqs],
        "end_time": [from_ns(r.end_ns) for r in reqs],
        "duration_s": [(r.end_ns - r.start_ns) / 1e9 for r in reqs],
        "service_name": [r.service for r in reqs],
        "is_error": [r.error_type is not None for r in reqs],
        "request_model": [r.request_model for r in reqs],
        "response_model": [r.response_model for r in reqs],
        "time_to_first_token_s": [r.ttft_s for r in reqs],
        "team": [r.team for r in reqs],
        "feature": [r.feature for r in reqs],
        "operation": [r.operation for r in reqs],
        "vocabulary": ["otel_genai"] * len(reqs),
        "ingested_at": [now] * len(reqs),
    })
    wh.con.register("demo_requests", table)
    wh.con.execute("INSERT INTO spans BY NAME SELECT DISTINCT ON (tenant, trace_id, span_id) * FROM demo_requests")
    wh.con.unregister("demo_requests")


@pytest.mark.slow
def test_demo_latency_regression_burns_the_ttft_slo(warehouse):
    end = datetime(2026, 3, 10)
    start = end - timedelta(days=2)
    incidents = incidents_for(start, end)
    (reg,) = [i for i in incidents if i.kind == LATENCY_REGRESSION]
    _store(warehouse, list(simulate_requests(FleetSpec(), start, end, incidents=incidents)))
    specs = load_spec_file(DEMO_SPEC_PATH)
    assert reg.model == "meta-llama/Llama-3.1-70B-Instruct"  # what the demo SLO filters on
    for spec in specs:
        update_rollups(warehouse, spec, end)

    before = {s.spec.id: s for s in evaluate(warehouse, specs, reg.start - timedelta(minutes=1))}
    assert not any(s.page or s.ticket for s in before.values()), "a healthy fleet must not alert"

    during = {s.spec.id: s for s in evaluate(warehouse, specs, reg.start + timedelta(minutes=75))}
    ttft = during["llama-3-1-70b-ttft"]
    assert ttft.page and ttft.burn("1h") > 14.4
    assert not during["search-api-availability"].page  # the regression is on one model only


    # and a replay of the two days shows when it paged: inside the regression, nowhere else
    from inferledger.analytics.slo.replay import replay

    by_id = {r.spec.id: r for r in replay(warehouse, specs, start, end)}
    pages = [e for e in by_id["llama-3-1-70b-ttft"].episodes if e.severity == "page"]
    assert pages and all(reg.start <= e.start < reg.end for e in pages)
    others = [e for sid, r in by_id.items() if sid != "llama-3-1-70b-ttft" for e in r.episodes
              if e.severity == "page" and not (reg.start <= e.start < reg.end + timedelta(hours=1))]
    assert others == []
