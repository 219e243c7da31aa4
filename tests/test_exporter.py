from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inferledger.analytics.alert_records import AlertRecord, write_alert_records
from inferledger.analytics.jobs import REGISTRY as JOBS
from inferledger.analytics.jobs import JobContext, register_job, run_job
from inferledger.analytics.warehouse import utcnow
from inferledger.config import ConfigError, load_settings
from inferledger.dashboards.cardinality import OTHER, bound_cardinality
from inferledger.dashboards.exporter import WarehouseCollector, register_warehouse_collector
from inferledger.dashboards.families.base import CORE_FAMILIES, Family
from inferledger.dashboards.settings import DashboardSettings
from tests.factories import insert_gpu_samples, insert_spans, span_row


def samples(registry) -> dict[tuple[str, tuple], float]:
    text = generate_latest(registry).decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def by_name(found: dict, name: str) -> dict[tuple, float]:
    return {labels: v for (n, labels), v in found.items() if n == name}


def seed_spans(wh, teams: int = 10, per_team: int | None = None):
    now = utcnow()
    rows = []
    for t in range(teams):
        for i in range(per_team or (t + 1)):
            rows.append(span_row(now - timedelta(minutes=i), 0.25, team=f"team{t:02d}", request_model=f"m{i % 3}",
                                 is_error=(i % 4 == 0), input_tokens=100, output_tokens=10, reasoning_tokens=2))
    insert_spans(wh, rows)
    return rows


# --- cardinality ------------------------------------------------------------------------------


def test_bound_cardinality_keeps_top_n_and_sums_the_rest_into_other():
    df = pl.DataFrame({"team": ["a", "b", "c", "d", None], "v": [10.0, 5.0, 1.0, 2.0, 7.0]})
    out = bound_cardinality(df, ["team"], {"v": "sum"}, n=2)
    got = dict(zip(out["team"], out["v"]))
    assert got == {"a": 10.0, "unknown": 7.0, OTHER: 8.0}
    assert sum(got.values()) == df["v"].sum()


def test_bound_cardinality_per_label_and_max_aggregation():
    df = pl.DataFrame({"team": ["a", "a", "b", "c"], "model": ["x", "y", "x", "z"],
                       "n": [5.0, 4.0, 3.0, 1.0], "peak": [0.1, 0.9, 0.5, 0.7]})
    out = bound_cardinality(df, ["team", "model"], {"n": "sum", "peak": "max"}, n=1, rank_by="n")
    rows = {(r["team"], r["model"]): (r["n"], r["peak"]) for r in out.iter_rows(named=True)}
    assert rows == {("a", "x"): (5.0, 0.1), ("a", OTHER): (4.0, 0.9), (OTHER, "x"): (3.0, 0.5),
                    (OTHER, OTHER): (1.0, 0.7)}


def test_bound_cardinality_rejects_bad_input():
    df = pl.DataFrame({"team": ["a"], "v": [1.0]})
    with pytest.raises(ValueError, match="top-N must be >= 1"):
        bound_cardinality(df.vstack(pl.DataFrame({"team": ["b"], "v": [2.0]})), ["team"], {"v": "sum"}, n=0)
    with pytest.raises(ValueError, match="not in frame"):
        bound_cardinality(df, ["model"], {"v": "sum"}, n=1)
    with pytest.raises(ValueError, match="unknown aggregation"):
        bound_cardinality(df, ["team"], {"v": "mean"}, n=1)


# --- the collector ----------------------------------------------------------------------------


@pytest.mark.slow
def test_span_families_match_the_warehouse_and_are_bounded(warehouse):
    rows = seed_spans(warehouse, teams=10)
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(metrics_top_n=3), reg)
    found = samples(reg)
    requests = by_name(found, "inferledger_requests_total")
    teams = {dict(labels)["team"] for labels in requests}
    assert teams == {"team09", "team08", "team07", OTHER}
    assert sum(requests.values()) == len(rows)
    other = sum(v for labels, v in requests.items() if dict(labels)["team"] == OTHER)
    assert other == sum(1 for r in rows if r["team"] not in ("team09", "team08", "team07"))
    errors = by_name(found, "inferledger_request_errors_total")
    assert sum(errors.values()) == sum(r["is_error"] for r in rows)
    tokens = by_name(found, "inferledger_tokens_total")
    assert sum(v for k, v in tokens.items() if dict(k)["type"] == "input") == 100 * len(rows)
    assert sum(v for k, v in tokens.items() if dict(k)["type"] == "reasoning") == 2 * len(rows)
    durations = by_name(found, "inferledger_request_duration_seconds_sum")
    assert sum(durations.values()) == pytest.approx(0.25 * len(rows))
    assert found[("inferledger_exporter_family_up", (("family", "spans"),))] == 1.0


@pytest.mark.slow
def test_gpu_jobs_and_alert_families(warehouse):
    now = utcnow()
    insert_gpu_samples(warehouse, [
        dict(time=now - timedelta(seconds=s), host="node-1", gpu_uuid=f"GPU-{g}", gpu_model="H100",
             utilization=0.2 + 0.2 * g, memory_used_bytes=1e9, memory_total_bytes=8e10, power_w=100.0 * (g + 1))
        for g in range(2) for s in (5, 20)
    ] + [dict(time=now - timedelta(hours=2), host="old", gpu_uuid="GPU-x", gpu_model="A10", utilization=1.0)])
    register_job("test.ok", every_seconds=60)(lambda ctx: "done")
    register_job("test.bad", every_seconds=60)(lambda ctx: 1 / 0)
    try:
        ctx = JobContext(warehouse=warehouse, settings=None)
        run_job(JOBS["test.ok"], ctx)
        with pytest.raises(ZeroDivisionError):
            run_job(JOBS["test.bad"], ctx)
    finally:
        JOBS.pop("test.ok"), JOBS.pop("test.bad")
    write_alert_records(warehouse, [
        AlertRecord("slo", "SLOBurn", {"slo": "chat"}, "page", "firing", "burning", now),
        AlertRecord("drift", "Drift", {"column": "x"}, "ticket", "firing", "drifted", now),
        AlertRecord("drift", "Drift", {"column": "x"}, "ticket", "resolved", "over", now),
    ])
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(), reg)
    found = samples(reg)
    key = (("gpu_model", "H100"), ("host", "node-1"))
    assert found[("inferledger_gpus", key)] == 2
    assert found[("inferledger_gpu_utilization_ratio", key)] == pytest.approx(0.3)
    assert found[("inferledger_gpu_power_watts", key)] == 300.0
    assert ("inferledger_gpus", (("gpu_model", "A10"), ("host", "old"))) not in found  # outside the window
    assert found[("inferledger_job_runs_total", (("job", "test.bad"), ("status", "failed")))] == 1
    assert found[("inferledger_job_runs_total", (("job", "test.bad"), ("status", "ok")))] == 0
    assert found[("inferledger_job_runs_total", (("job", "test.ok"), ("status", "ok")))] == 1
    assert ("inferledger_job_last_success_timestamp_seconds", (("job", "test.bad"),)) not in found
    firing = by_name(found, "inferledger_alerts_firing")
    assert firing == {(("alertname", "SLOBurn"), ("severity", "page"), ("source", "slo")): 1.0,
                      (("alertname", "Drift"), ("severity", "ticket"), ("source", "drift")): 0.0}


@pytest.mark.slow
def test_cost_families_from_cost_tables(warehouse):
    now = utcnow()
    con = warehouse.con
    for i, (team, model, cost, status) in enumerate(
        [("a", "gpt-4o", "0.5", "priced"), ("a", "gpt-4o", "0.25", "priced"), ("b", "mystery", "0", "unpriced")]
    ):
        con.execute(
            "INSERT INTO cost_lines (tenant, trace_id, span_id, start_time, team, feature, provider, model, is_error,"
            " status, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,"
            " above_200k, total_tokens, input_cost, cache_read_cost, cache_write_cost, output_cost, reasoning_cost,"
            " cost, computed_at) VALUES (?, ?, ?, ?, ?, 'f', 'openai', ?, false, ?,"
            " 10, 0, 0, 5, 0, false, 15, 0, 0, 0, 0, 0, ?, ?)",
            ["t", f"tr{i}", f"sp{i}", now, team, model, status, Decimal(cost), now],
        )
    con.execute(
        "INSERT INTO cost_rollup_hourly VALUES (date_trunc('hour', ?::TIMESTAMP), 't', 'a', 'f', 'openai', 'gpt-4o',"
        " 4, 2, 0, 1000, 1000, 2000, 1.0, 0, 1.0, 'prod')", [now],
    )
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(), reg)
    found = samples(reg)
    spend = by_name(found, "inferledger_cost_usd_total")
    assert spend[(("environment", "unknown"), ("model", "gpt-4o"), ("model_version", "gpt-4o"), ("provider", "openai"),
                  ("team", "a"), ("tenant", "t"))] == pytest.approx(0.75)
    assert by_name(found, "inferledger_unpriced_requests_total")[
        (("environment", "unknown"), ("model", "mystery"), ("model_version", "mystery"), ("provider", "openai"),
         ("team", "b"), ("tenant", "t"))] == 1
    key = (("model", "gpt-4o"), ("provider", "openai"), ("tenant", "t"))
    assert found[("inferledger_cost_per_request_usd", key)] == pytest.approx(0.25)
    assert found[("inferledger_cost_per_successful_request_usd", key)] == pytest.approx(0.5)
    assert found[("inferledger_cost_per_million_tokens_usd", key)] == pytest.approx(500.0)


def test_a_missing_table_or_a_failing_family_never_breaks_the_scrape(warehouse):
    seed_spans(warehouse, teams=2)

    def missing(con, cfg, now):
        con.execute("SELECT * FROM table_from_a_future_migration").fetchall()
        return []

    def broken(con, cfg, now):
        raise RuntimeError("bug")

    fams = [Family("future", ("table_from_a_future_migration",), missing), Family("broken", (), broken),
            *CORE_FAMILIES]
    reg = CollectorRegistry()
    reg.register(WarehouseCollector(warehouse, DashboardSettings(), families=fams))
    found = samples(reg)
    assert found[("inferledger_exporter_family_up", (("family", "future"),))] == 0
    assert found[("inferledger_exporter_family_up", (("family", "broken"),))] == 0
    assert sum(by_name(found, "inferledger_requests_total").values()) == 3


@pytest.mark.slow
def test_results_are_cached_for_metrics_cache_seconds(warehouse):
    seed_spans(warehouse, teams=1, per_team=2)
    clock = [1000.0]
    reg = CollectorRegistry()
    reg.register(WarehouseCollector(warehouse, DashboardSettings(metrics_cache_seconds=10), clock=lambda: clock[0]))
    total = lambda: sum(by_name(samples(reg), "inferledger_requests_total").values())
    assert total() == 2
    insert_spans(warehouse, [span_row(utcnow(), 1.0)])
    clock[0] += 5
    assert total() == 2
    clock[0] += 6
    assert total() == 3


@pytest.mark.slow
def test_registering_twice_replaces_the_previous_collector(warehouse):
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(), reg)
    register_warehouse_collector(warehouse, DashboardSettings(), reg)  # e.g. a service restarted in-process
    seed_spans(warehouse, teams=1, per_team=1)
    assert sum(by_name(samples(reg), "inferledger_requests_total").values()) == 1


def test_settings_are_validated_and_name_the_field():
    with pytest.raises(ConfigError, match="metrics_top_n"):
        load_settings(None, environ={}, overrides={"dashboards.metrics_top_n": 0})
    with pytest.raises(ConfigError, match="dashboards.grafana.nope"):
        load_settings(None, environ={}, overrides={"dashboards.grafana.nope": 1})
    s = load_settings(None, environ={"INFERLEDGER_DASHBOARDS__GRAFANA__TOKEN": "tok"})
    assert s.dashboards.grafana.token == "tok"


@pytest.mark.server
def test_exporter_output_passes_promtool_check_metrics(warehouse):
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    seed_spans(warehouse, teams=5)
    insert_gpu_samples(warehouse, [dict(time=utcnow(), host="h", gpu_uuid="g", gpu_model="L4", utilization=0.5)])
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(), reg)
    text = generate_latest(reg)
    assert b"inferledger_requests_total" in text
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


@pytest.mark.slow
def test_slo_drift_anomaly_budget_gpu_cost_and_outbox_families(warehouse):
    from tests.test_dashboards_prometheus import SEEDERS

    con, now = warehouse.con, utcnow()
    for table in ("slo_state", "drift_results", "anomalies", "budget_status", "alert_outbox", "gpu_allocations",
                  "gpu_team_costs"):
        SEEDERS[table](con, warehouse, now)
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(), reg)
    found = samples(reg)
    slo = (("slo", "chat-availability"),)
    assert found[("inferledger_slo_objective_ratio", slo)] == pytest.approx(0.999)
    assert found[("inferledger_slo_error_budget_remaining_ratio", slo)] == 0.0
    assert found[("inferledger_slo_burn_rate", slo + (("window", "1h"),))] == 3.0
    assert found[("inferledger_slo_sli_error_ratio", slo + (("window", "3d"),))] == pytest.approx(0.0004)
    assert len(by_name(found, "inferledger_slo_burn_rate")) == 7
    drift = (("column", "input_tokens"), ("method", "ks"), ("monitor", "chat-api / gpt-4o"))
    assert found[("inferledger_drift_score", drift)] == pytest.approx(0.01)
    assert found[("inferledger_drift_detected", drift)] == 1.0
    assert found[("inferledger_anomaly_score", (("series", 'spend_5m{team="team0"}'),))] == pytest.approx(0.97)
    assert found[("inferledger_anomalies_total", (("kind", "spike"), ("metric", "spend_5m")))] == 1.0
    budget = (("feature", "answers"), ("team", "team0"))
    assert (found[("inferledger_budget_usd", budget)], found[("inferledger_budget_spent_usd", budget)],
            found[("inferledger_budget_forecast_usd", budget)]) == (100.0, 40.0, 95.0)
    assert found[("inferledger_alert_outbox_depth", (("receiver", "oncall"),))] == 1.0
    assert found[("inferledger_alert_notifications_total", (("receiver", "oncall"), ("state", "delivered")))] == 1.0
    gpu = by_name(found, "inferledger_gpu_cost_usd_total")
    assert gpu == {(("gpu_model", "H100"), ("kind", "allocated"), ("namespace", "serving"), ("tenant", "t")): 2.0,
                   (("gpu_model", "H100"), ("kind", "idle"), ("namespace", "serving"), ("tenant", "t")): 2.0}
    assert by_name(found, "inferledger_gpu_team_cost_usd_total")[
        (("kind", "idle"), ("team", "team0"), ("tenant", "t"))] == 2.0
    ups = by_name(found, "inferledger_exporter_family_up")
    assert all(ups[(("family", f),)] == 1.0 for f in ("slo", "drift", "anomaly", "budget", "outbox", "gpu_cost"))
    assert ups[(("family", "cost"),)] == 1.0  # table present, empty: emits empty families, not an error
