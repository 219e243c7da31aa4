"""Drift, anomaly scoring and GPU allocation on Dask over the lake equal the single-node jobs,
with a real `dask scheduler` and two `dask worker` processes; and their results written back
to the warehouse the service reads (drift results, anomalies, GPU lines, alert records)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest

from inferledger.analytics.anomaly.job import run_detection
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.cost.gpu import allocate_window
from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings, GpuRate
from inferledger.analytics.drift.job import detect_drift, run_drift
from inferledger.analytics.drift.settings import DriftSettings
from inferledger.analytics.drift.store import latest_results
from inferledger.analytics.lake.anomaly import run_detection_dask
from inferledger.analytics.lake.drift import detect_drift_dask, run_drift_dask
from inferledger.analytics.lake.engine import RunStats
from inferledger.analytics.lake.export import export_range
from inferledger.analytics.lake.gpu import allocate_window_dask
from inferledger.analytics.lake.store import open_lake
from inferledger.analytics.lake.writeback import run_evaluation_dask
from inferledger.analytics.slo.job import run_evaluation
from inferledger.analytics.slo.spec import parse_text
from inferledger.analytics.warehouse import open_warehouse
from inferledger.cli import cli
from inferledger.dashboards.exporter import register_warehouse_collector
from inferledger.dashboards.settings import DashboardSettings
from tests.factories import insert_gpu_samples, insert_spans, span_row
from tests.slo_helpers import insert_traffic

pytestmark = [pytest.mark.server, pytest.mark.slow]
NO_SERVICE = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}
NOW = datetime(2026, 11, 20, 12, 0, 0)


def seal_two_nodes(rows: list[dict], lake_uri: str) -> None:
    """Node a seals the first 60 % of `rows`, node b the last 50 %: a tenth reached both."""
    n = len(rows)
    lake = open_lake(lake_uri)
    for node, part in (("a", rows[: n * 6 // 10]), ("b", rows[n // 2:])):
        w = open_warehouse(":memory:")
        insert_spans(w, part)
        export_range(w, lake, node, None, None, now=NOW + timedelta(days=1))
        w.close()


def drift_rows() -> list[dict]:
    """Two tenants, three segments each; one segment's prompts grow 3x in the current day."""
    rng = np.random.default_rng(7)
    rows = []
    cur_start = NOW - timedelta(days=1)
    for tenant in ("acme", "beta"):
        for service, model in (("chat-api", "gpt-4o"), ("chat-api", "gpt-4o-mini"), ("rag", "gpt-4o")):
            for lo, hi, n, factor in ((cur_start - timedelta(days=3), cur_start, 240, 1.0),
                                      (cur_start, NOW, 120, 3.0 if (tenant, service, model) == ("acme", "rag", "gpt-4o")
                                       else 1.0)):
                for _ in range(n):
                    t = lo + timedelta(seconds=float(rng.uniform(0, (hi - lo).total_seconds())))
                    rows.append(span_row(
                        t, float(rng.gamma(4.0, 0.5)), tenant=tenant, service_name=service, request_model=model,
                        response_model=model, input_tokens=int(rng.lognormal(6.5, 0.5) * factor),
                        output_tokens=int(rng.lognormal(5.0, 0.4)), time_to_first_token_s=float(rng.gamma(2.0, 0.1)),
                        finish_reason=str(rng.choice(["stop", "length"], p=[0.9, 0.1])),
                        attributes={"app.prompt_template": str(rng.choice(["a", "b"]))}))
    rows.sort(key=lambda r: r["start_time"])  # the order a warehouse receives them in (and the lake sorts by)
    return rows


def drift_cfg() -> DriftSettings:
    return DriftSettings(reference_window="3d", min_rows=50, attribute_columns=["app.prompt_template"])


@pytest.mark.parametrize("where", ["local", "s3"])
def test_drift_on_dask_equals_single_node_and_writes_back(tmp_path, client, s3_lake, where):
    rows = drift_rows()
    lake_uri = str(tmp_path / "lake") if where == "local" else s3_lake.replace("/lake?", f"/{tmp_path.name}?")
    seal_two_nodes(rows, lake_uri)
    ref = open_warehouse(":memory:")
    insert_spans(ref, rows)
    cs = CostSettings()
    update_costs(ref, cs, NOW)  # cost_per_request from the cost job's lines
    cfg = drift_cfg()
    win, single = detect_drift(ref, cfg, NOW)
    stats = RunStats()
    dwin, dask = detect_drift_dask(client, lake_uri, cfg, NOW, cs, stats)
    assert dwin == win
    assert len(single) == 6

    def by_segment(segments):
        return {(s.tenant, tuple(s.segment.items())): [r.as_dict() | {"rows": (r.reference_rows, r.current_rows),
                                                                       "detail": r.detail} for r in s.results]
                for s in segments}

    assert by_segment(dask) == by_segment(single)
    drifted = {(s.tenant, s.label, r.column) for s in dask for r in s.results if r.drifted}
    assert ("acme", "rag / gpt-4o", "input_tokens") in drifted
    assert any(r.column == "cost_per_request" and r.method for s in dask for r in s.results)
    assert len(stats.peak_rss_by_worker) == 2  # both workers took partitions
    # write-back: the service's warehouse gets the rows and alerts `run_drift` writes
    target = open_warehouse(tmp_path / "service.duckdb")
    summary = run_drift_dask(client, lake_uri, target, cfg, NOW, cs)
    single_summary = run_drift(ref, cfg, NOW)
    assert sorted(summary["drifted"]) == sorted(single_summary["drifted"]) and summary["alerts"] > 0

    def rows_of(wh):
        return sorted(json.dumps(r, default=str, sort_keys=True) for r in latest_results(wh))

    assert rows_of(target) == rows_of(ref)
    alerts = target.con.execute(
        "SELECT count(*) FROM alert_records WHERE source = 'drift' AND status = 'firing'").fetchall()[0][0]
    assert alerts == summary["alerts"]
    target.close()
    ref.close()


ANOW = datetime(2026, 11, 10, 12, 0, 0)
POD = "vllm-llama-7d9f8c6b5-x2k4q"
H100 = "NVIDIA H100 80GB HBM3"


def fleet() -> tuple[list[dict], list[dict]]:
    """Two days of spans and GPU samples; in the last hour team search's prompts and latency jump,
    claude calls fail and one GPU goes nearly idle."""
    rng = np.random.default_rng(11)
    spans, gpus = [], []
    start = ANOW - timedelta(hours=48)
    for i in range(48 * 30):
        t = start + timedelta(minutes=2 * i, seconds=int(rng.integers(0, 100)))
        late = t >= ANOW - timedelta(minutes=50)
        for k, (team, provider, model, pod) in enumerate((
                ("search", "openai", "gpt-4o", None), ("support", "anthropic", "claude-sonnet-4-5", None),
                ("ads", "vllm", "llama-3-70b", POD))):
            jump = late and team == "search"
            # search's traffic doubles too: enough requests per bucket for the p95 count test to confirm
            for rep in range(2 if jump else 1):
                spans.append(span_row(
                    t + timedelta(seconds=k + 3 * rep), float(rng.gamma(4.0, 0.25)) * (6 if jump else 1),
                    tenant="acme" if i % 4 else "beta", team=team, provider=provider, request_model=model,
                    response_model=model, k8s_pod=pod, input_tokens=int(rng.integers(800, 1200)) * (12 if jump else 1),
                    output_tokens=int(rng.integers(100, 300)),
                    is_error=bool(late and team == "support" and rng.random() < 0.6 or rng.random() < 0.01)))
    for i in range(48 * 60):
        t = start + timedelta(minutes=i)
        for g, pod in (("GPU-a", POD), ("GPU-b", None)):
            util = float(rng.uniform(0.3, 0.7))
            if g == "GPU-a" and t >= ANOW - timedelta(minutes=50):
                util = float(rng.uniform(0.0, 0.03))
            gpus.append(dict(time=t, tenant="acme", host="node-1", gpu_uuid=g, gpu_index=0 if g == "GPU-a" else 1,
                             gpu_model=H100, k8s_namespace="llm" if pod else None, k8s_pod=pod, utilization=util))
    spans.sort(key=lambda r: r["start_time"])
    return spans, gpus


def gpu_settings() -> CostSettings:
    return CostSettings(gpu_rates=[GpuRate(gpu_model="H100", usd_per_hour=2.49)])


def gpu_rows(wh) -> dict[str, list]:
    return {
        "alloc": wh.con.execute(
            "SELECT hour, tenant, host, gpu_uuid, gpu_model, gpu_share, line_kind, k8s_namespace, k8s_pod, model,"
            " gpu_seconds, rate_per_hour, cost FROM gpu_allocations ORDER BY ALL").fetchall(),
        "teams": wh.con.execute("SELECT * FROM gpu_team_costs ORDER BY ALL").fetchall(),
        "coverage": wh.con.execute("SELECT * FROM gpu_coverage ORDER BY ALL").fetchall(),
    }


def test_gpu_allocation_and_anomalies_on_dask_equal_single_node_and_write_back(tmp_path, client):
    spans, gpus = fleet()
    lake_uri = str(tmp_path / "lake")
    seal_two_nodes(spans, lake_uri)
    lake = open_lake(lake_uri)
    for node, part in (("a", gpus), ("b", gpus[len(gpus) // 2:])):  # node b got half the samples resent
        w = open_warehouse(":memory:")
        insert_gpu_samples(w, part)
        export_range(w, lake, node, None, None, now=ANOW + timedelta(days=1))
        w.close()
    cs = gpu_settings()
    ref = open_warehouse(":memory:")
    insert_spans(ref, spans)
    update_costs(ref, cs, ANOW)
    insert_gpu_samples(ref, gpus)
    lo, hi = ANOW - timedelta(hours=48), ANOW
    assert allocate_window(ref, cs, lo, hi) > 0
    target = open_warehouse(tmp_path / "service.duckdb")
    stats = RunStats()
    assert allocate_window_dask(client, lake_uri, target, cs, lo, hi, stats) > 0
    single, dask = gpu_rows(ref), gpu_rows(target)
    assert dask == single  # every line to the micro-dollar, team splits and coverage
    bill = ref.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchall()[0][0]
    assert bill > 0 and target.con.execute("SELECT sum(cost) FROM gpu_team_costs").fetchall()[0][0] == bill
    assert {r[8] for r in dask["alloc"]} == {POD, None}

    cfg = AnomalySettings(lookback_hours=48, min_requests=2)
    s_single = run_detection(ref, cfg, ANOW)
    s_dask = run_detection_dask(client, lake_uri, target, cfg, ANOW, cs, stats)
    assert (s_dask.series, s_dask.points, s_dask.alarms) == (s_single.series, s_single.points, s_single.alarms)

    def found(wh):
        return wh.con.execute(
            "SELECT series_key, unit, bucket_start, observed, expected, score, kind, moved_dimension, moved_value,"
            " moved_observed, moved_expected, moved_share FROM anomalies ORDER BY ALL").fetchall()

    assert found(target) == found(ref)
    metrics = {r[0].split("{")[0] for r in found(target)}
    assert {"spend_5m", "latency_p95_5m", "error_rate_5m", "gpu_util_5m"} <= metrics, metrics

    def alerts(wh):
        return sorted(wh.con.execute(
            "SELECT CAST(labels AS VARCHAR), status, summary FROM alert_records WHERE source = 'anomaly'").fetchall())

    assert alerts(target) == alerts(ref) and alerts(target)
    target.close()
    ref.close()


def test_cli_drift_on_dask_writes_back_for_metrics_and_alerts(tmp_path, scheduler):
    lake = tmp_path / "lake"
    seal_two_nodes(drift_rows(), str(lake))
    db = tmp_path / "service.duckdb"
    env = {**NO_SERVICE, "INFERLEDGER_ANALYTICS__DRIFT__REFERENCE_WINDOW": "3d",
           "INFERLEDGER_ANALYTICS__DRIFT__MIN_ROWS": "50"}
    runner = CliRunner(env=env)
    dask_opts = ["--db", str(db), "--lake", str(lake), "--engine", "dask", "--scheduler", scheduler]
    r = runner.invoke(cli, [*dask_opts, "lake", "analyze", "--jobs", "drift", "--at", NOW.isoformat(), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)["drift"]
    assert "rag / gpt-4o:input_tokens" in summary["drifted"] and summary["alerts"] > 0
    r = runner.invoke(cli, [*dask_opts, "drift", "run", "--at", NOW.isoformat(), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert any(x["drifted"] and x["column"] == "input_tokens" and x["segment_label"] == "rag / gpt-4o" for x in rows)
    # what the service's /metrics serves: its warehouse collector over the file
    wh = open_warehouse(db, read_only=True)
    registry = CollectorRegistry()
    register_warehouse_collector(wh, DashboardSettings(), registry)
    metrics = generate_latest(registry).decode()
    detected = [line for line in metrics.splitlines() if line.startswith("inferledger_drift_detected{")]
    assert any('monitor="rag / gpt-4o"' in line and 'column="input_tokens"' in line and line.endswith(" 1.0")
               for line in detected), detected
    firing = wh.con.execute("SELECT count(DISTINCT fingerprint) FROM alert_records"
                            " WHERE source = 'drift' AND status = 'firing'").fetchall()[0][0]
    wh.close()
    assert firing == summary["alerts"]  # one alert per drifted (segment, column), whatever the runs


def test_slo_burn_on_dask_writes_the_state_and_alerts_the_single_node_writes(tmp_path, client):
    specs = parse_text("""
service: chat-api
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli: availability
  - name: latency
    objective: 99
    window: 28d
    sli: {type: latency, threshold_s: 2}
""")
    now = datetime(2026, 3, 4, 12, 0, 30)
    ref = open_warehouse(":memory:")
    insert_traffic(ref, now - timedelta(days=1), 24 * 60, 2, error_every=300, error_minutes=(1380, 1420),
                   slow_every=60, tag="a")
    lake = open_lake(str(tmp_path / "lake"))
    export_range(ref, lake, "n1", None, None, now=now)
    export_range(ref, lake, "n2", now - timedelta(hours=3), now + timedelta(hours=1), now=now)  # resent hours
    single = run_evaluation(ref, specs, now)
    target = open_warehouse(tmp_path / "service.duckdb")
    dask = run_evaluation_dask(client, lake.uri, target, specs, now)
    assert {k: v for k, v in dask.items() if k != "minutes_rolled_up"} == \
        {k: v for k, v in single.items() if k != "minutes_rolled_up"}
    assert single["page"] + single["ticket"] > 0  # a firing SLO is compared, not only quiet ones
    state_sql = "SELECT * EXCLUDE (evaluated_at) FROM slo_state ORDER BY slo_id"
    assert target.con.execute(state_sql).fetchall() == ref.con.execute(state_sql).fetchall()
    rec_sql = ("SELECT fingerprint, status, severity, summary, CAST(labels AS VARCHAR) FROM alert_records"
               " WHERE source = 'slo' ORDER BY ALL")
    assert target.con.execute(rec_sql).fetchall() == ref.con.execute(rec_sql).fetchall()
    assert target.con.execute(rec_sql).fetchall()
    target.close()
    ref.close()
