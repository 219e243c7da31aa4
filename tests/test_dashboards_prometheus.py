"""A real Prometheus scrapes the exporter; every PromQL expression of every panel returns data."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from inferledger.analytics.alert_records import SOURCES, AlertRecord, write_alert_records
from inferledger.analytics.warehouse import utcnow
from inferledger.dashboards.definitions import build_all
from inferledger.dashboards.exporter import register_warehouse_collector
from inferledger.dashboards.settings import DashboardSettings
from tests.factories import insert_gpu_samples, insert_spans, span_row

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
# Families the collector package registers on the service's registry (not the warehouse collector).
SERVICE_METRICS = re.compile(r"inferledger_ingest_\w+")
SUBSTITUTIONS = {"$__rate_interval": "1m", "$__range": "10m", "$tenant": ".*", "$team": ".*", "$model": ".*",
                 "$environment": ".*", "$slo": ".*"}


def _seed_spans(con, wh, now) -> None:
    insert_spans(wh, [span_row(now - timedelta(minutes=i), 0.5 + i % 3, team=f"team{i % 4}",
                               request_model=("gpt-4o", "claude-3-5-sonnet", "llama-3-70b")[i % 3],
                               is_error=(i % 7 == 0)) for i in range(60)])


def _seed_gpu_samples(con, wh, now) -> None:
    insert_gpu_samples(wh, [dict(time=now - timedelta(seconds=10), host=f"node-{h}", gpu_uuid=f"GPU-{h}-{g}",
                                 gpu_model="H100", utilization=0.3 + 0.1 * g, memory_used_bytes=4e10,
                                 memory_total_bytes=8e10, power_w=350.0) for h in range(2) for g in range(4)])


def _seed_cost_lines(con, wh, now) -> None:
    for i in range(6):
        con.execute(
            "INSERT INTO cost_lines (tenant, trace_id, span_id, start_time, team, feature, provider, model, is_error,"
            " status, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,"
            " above_200k, total_tokens, input_cost, cache_read_cost, cache_write_cost, output_cost, reasoning_cost,"
            " cost, computed_at) VALUES ('t', ?, ?, ?, ?, 'answers', 'openai', ?, false, ?, 100, 0, 0, 20, 0, false,"
            " 120, 0, 0, 0, 0, 0, ?, ?)",
            [f"tr{i}", f"sp{i}", now, f"team{i % 2}", "gpt-4o" if i else "mystery",
             "priced" if i else "unpriced", Decimal("0.01") * i, now],
        )


def _seed_cost_rollup_hourly(con, wh, now) -> None:
    # this hour and the last complete one (the spend-per-hour panels show the latter)
    for back in (0, 1):
        con.execute("INSERT INTO cost_rollup_hourly VALUES (date_trunc('hour', ?::TIMESTAMP), 't', 'team0', 'answers',"
                    " 'openai', 'gpt-4o-2024-08-06', 10, 9, 0, 1000, 200, 1200, 0.5, 0.1, 0.6, 'prod')",
                    [now - timedelta(hours=back)])


def _seed_gpu_allocations(con, wh, now) -> None:
    for kind in ("workload", "idle"):
        con.execute("INSERT INTO gpu_allocations VALUES (date_trunc('hour', ?::TIMESTAMP), 't', 'node-0', 'GPU-0-0',"
                    " 'H100', NULL, NULL, 1, ?, 'serving', 'vllm-0', 'llama-3-70b', 1800, 4.0, 2.0, ?)",
                    [now, kind, now])


def _seed_gpu_team_costs(con, wh, now) -> None:
    for kind in ("workload", "idle"):
        con.execute("INSERT INTO gpu_team_costs VALUES (date_trunc('hour', ?::TIMESTAMP), 't', 'team0', 'answers',"
                    " 'self', 'llama-3-70b', 'serving', 'vllm-0', ?, 1800, 2.0)", [now, kind])


def _seed_budget_status(con, wh, now) -> None:
    con.execute("INSERT INTO budget_status VALUES (date_trunc('month', ?::TIMESTAMP)::DATE, 'team0', 'answers',"
                " 100, 40, 95, ?)", [now, now])


def _seed_alert_outbox(con, wh, now) -> None:
    con.execute("INSERT INTO alert_outbox (idempotency_key, receiver, group_key, status, payload, state, attempts,"
                " next_attempt_at, created_at) VALUES ('k1', 'oncall', 'g', 'firing', '{}', 'pending', 0, ?, ?),"
                " ('k2', 'oncall', 'g', 'firing', '{}', 'delivered', 1, ?, ?)", [now] * 4)


def _seed_slo_state(con, wh, now) -> None:
    con.execute("INSERT INTO slo_state VALUES ('chat-availability', 'chat', 'availability', 'availability', 99.9,"
                " '30d', ?, [0.001, 0.002, 0.003, 0.001, 0.001, 0.0005, 0.0004], [1, 2, 3, 1, 1, 0.5, 0.4],"
                " [10, 20, 30, 40, 50, 60, 70], ?, 3, 3000, 0.0, NULL, [], false, false)", [now, now])


def _seed_drift_results(con, wh, now) -> None:
    con.execute("INSERT INTO drift_results VALUES (?, 't', '{}', 'chat-api / gpt-4o', 'input_tokens', 'numeric',"
                " 'ks', 0.01, 0.05, true, ?, ?, ?, ?, 100, 100, NULL)", [now] * 5)


def _seed_anomalies(con, wh, now) -> None:
    con.execute("INSERT INTO anomalies VALUES ('spend_5m{team=\"team0\"}', 'spend_5m', 'usd', '{}', ?, 300, 9.0,"
                " 1.0, 0.97, 'spike', 'team', 'team0', 9.0, 1.0, 1.0, ?)", [now, now])


def _seed_job_runs(con, wh, now) -> None:
    con.execute("INSERT INTO job_runs VALUES ('cost.price', ?, ?, 'ok', NULL), ('slo.evaluate', ?, ?, 'failed', 'x')",
                [now, now, now, now])


def _seed_alert_records(con, wh, now) -> None:
    seen = {r[0] for r in con.execute("SELECT DISTINCT source FROM alert_records").fetchall()}
    write_alert_records(wh, [AlertRecord(src, f"{src.title()}Alert", {"k": src}, "ticket", "firing", "seeded", now)
                             for src in SOURCES if src not in seen])


# Table -> seeder, in dependency order. The real-service test seeds only the tables the
# jobs left empty (a job that needs configuration, e.g. SLO specs, does nothing by default).
SEEDERS = {
    "spans": _seed_spans, "gpu_samples": _seed_gpu_samples, "cost_lines": _seed_cost_lines,
    "cost_rollup_hourly": _seed_cost_rollup_hourly, "gpu_allocations": _seed_gpu_allocations,
    "gpu_team_costs": _seed_gpu_team_costs, "budget_status": _seed_budget_status,
    "alert_outbox": _seed_alert_outbox, "slo_state": _seed_slo_state, "drift_results": _seed_drift_results,
    "anomalies": _seed_anomalies, "job_runs": _seed_job_runs, "alert_records": _seed_alert_records,
}


def seed_all(wh, only_empty: bool = False) -> list[str]:
    """Canonical facts plus one row in every derived table the dashboards read; returns the tables seeded."""
    now = utcnow()
    con = wh.con
    seeded = []
    for table, seed in SEEDERS.items():
        # the rollup too: a short backfill may not have completed an hour for the last-hour panels yet
        if only_empty and table not in ("alert_records", "cost_rollup_hourly") and con.execute(
            f"SELECT count(*) FROM {table}"  # table names come from SEEDERS, never from input
        ).fetchone()[0]:
            continue
        seed(con, wh, now)
        seeded.append(table)
    return seeded


def panel_expressions() -> list[tuple[str, str, str]]:
    out = []
    for uid, model in build_all().items():
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                out.append((uid, panel["title"], target["expr"]))
    return out


def substitute(expr: str) -> str:
    for var, value in sorted(SUBSTITUTIONS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


@pytest.fixture
def metrics_endpoint(warehouse):
    seed_all(warehouse)
    registry = CollectorRegistry()
    # cached across scrapes: on a loaded machine an uncached evaluation can outlast the 1 s scrape
    # timeout, and a failed scrape marks every series stale (panels then look empty)
    register_warehouse_collector(warehouse, DashboardSettings(metrics_cache_seconds=5.0), registry)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def run_prometheus(tmp_path, target: str):
    """A real Prometheus on loopback scraping `target` (host:port) every second."""
    from tests.harness import free_port  # the lead's helper; plain socket bind

    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "inferledger", "static_configs": [{"targets": [target]}]}],
    }))
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"prometheus exited: {proc.stderr.read().decode()[-2000:]}"
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        # Enough scrapes for rate() and increase() (two samples at least in every window).
        while True:
            r = httpx.get(f"{base}/api/v1/query", params={"query": 'count_over_time(up{job="inferledger"}[1m])'})
            result = r.json()["data"]["result"]
            if result and float(result[0]["value"][1]) >= 4:
                break
            assert time.monotonic() < deadline, f"no scrapes: {r.text}"
            time.sleep(0.5)
        up = httpx.get(f"{base}/api/v1/query", params={"query": 'up{job="inferledger"}'}).json()
        assert up["data"]["result"][0]["value"][1] == "1", up
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def check_every_panel(base: str, *, skip: re.Pattern | None = None) -> int:
    """Query every panel expression (variables substituted); returns how many were checked."""
    empty, checked = [], 0
    for uid, title, expr in panel_expressions():
        if skip is not None and skip.search(expr):
            continue
        r = httpx.get(f"{base}/api/v1/query", params={"query": substitute(expr)}, timeout=10)
        assert r.status_code == 200, f"{uid} / {title}: {expr}: {r.text}"
        body = r.json()
        assert body["status"] == "success", body
        checked += 1
        if not body["data"]["result"]:
            empty.append(f"{uid} / {title}: {expr}")
    assert not empty, "panels with no data:\n" + "\n".join(empty)
    for var in ("team", "model", "environment"):
        values = httpx.get(f"{base}/api/v1/label/{var}/values",
                           params={"match[]": "inferledger_requests_total"}).json()["data"]
        assert values, var
    slos = httpx.get(f"{base}/api/v1/label/slo/values",
                     params={"match[]": "inferledger_slo_objective_ratio"}).json()["data"]
    assert slos
    return checked


@pytest.mark.server
def test_every_panel_expression_returns_data_from_a_real_prometheus(tmp_path, metrics_endpoint):
    """The exporter alone, on a seeded warehouse (ingest families live on the service registry)."""
    with run_prometheus(tmp_path, metrics_endpoint) as base:
        checked = check_every_panel(base, skip=SERVICE_METRICS)
    total = len(panel_expressions())
    assert checked >= 60 and total - checked <= 5


@pytest.mark.server
@pytest.mark.slow
def test_a_running_inferledger_fed_with_demo_traffic_fills_every_panel(tmp_path):
    """The real service (OTLP receivers, ingest writer, admin /metrics), demo traffic through the
    OpenTelemetry SDK, every registered job run once; tables the jobs leave empty (they need
    configuration such as SLO specs) get one seeded row. Then every panel must return data."""
    from prometheus_client import REGISTRY

    from inferledger.analytics.jobs import JobContext, run_job
    from inferledger.demo.emit import backfill
    from inferledger.service import load_job_modules
    from tests.harness import running_service

    with running_service(tmp_path / "svc.duckdb") as (service, eps):
        report = backfill(eps.http, days=0.02, progress=False)
        assert report.spans_sent > 0
        # One undecodable export: the rejected-by-reason panel has a series.
        bad = httpx.post(f"{eps.http}/v1/traces", content=b"not protobuf",
                         headers={"Content-Type": "application/x-protobuf"})
        assert bad.status_code == 400
        wh = service.state.warehouse
        for job in load_job_modules().values():
            try:
                run_job(job, JobContext(warehouse=wh, settings=service.settings))
            except Exception:
                pass
        seeded = seed_all(wh, only_empty=True)
        assert "spans" not in seeded and "gpu_samples" not in seeded
        print("seeded because no job filled them:", seeded)
        # Until the service registers the warehouse collector itself (it replaces this one then).
        collector = register_warehouse_collector(wh, service.settings, REGISTRY)
        try:
            exposition = httpx.get(f"{eps.admin}/metrics", timeout=30).content
            assert b"inferledger_ingest_spans_total" in exposition and b"inferledger_cost_usd_total" in exposition
            assert b'inferledger_exporter_family_up{family="slo"} 1.0' in exposition
            promtool = shutil.which("promtool") or "/usr/bin/promtool"
            proc = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60)
            assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
            with run_prometheus(tmp_path, eps.admin.removeprefix("http://")) as base:
                checked = check_every_panel(base)
        finally:
            REGISTRY.unregister(collector)
    assert checked == len(panel_expressions())


def _panel(title: str) -> str:
    [expr] = [e for _, t, e in panel_expressions() if t == title][:1]
    return substitute(expr)


def _value(base: str, expr: str) -> float:
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert r["status"] == "success", r
    return sum(float(x["value"][1]) for x in r["data"]["result"])


@pytest.mark.server
def test_a_retention_delete_and_a_reprice_leave_no_spike(tmp_path, warehouse):
    """$600 an hour of spend; retention drops $300 of old cost lines and a re-price halves the
    last hour. Counters over what the warehouse holds turned that into a huge rate; the
    event-time gauges the panels read just move to the new truth."""
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    con = warehouse.con
    for back in (1, 2):
        con.execute("INSERT INTO cost_rollup_hourly VALUES (?, 't', 'team0', 'answers', 'openai', 'gpt-4o-2024-08-06',"
                    " 100, 100, 0, 1000, 200, 1200, 600, 0, 600, 'prod')", [hour - timedelta(hours=back)])
    old = now - timedelta(days=40)
    for i in range(3):  # $300 of cost lines past retention
        con.execute(
            "INSERT INTO cost_lines (tenant, trace_id, span_id, start_time, team, feature, provider, model, is_error,"
            " status, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,"
            " above_200k, total_tokens, input_cost, cache_read_cost, cache_write_cost, output_cost, reasoning_cost,"
            " cost, computed_at) VALUES ('t', ?, 's', ?, 'team0', 'answers', 'openai', 'gpt-4o-2024-08-06', false,"
            " 'priced', 1, 0, 0, 1, 0, false, 2, 0, 0, 0, 100, 0, 100, ?)", [f"old{i}", old, now])
    registry = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(metrics_cache_seconds=0.2), registry)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    per_hour = _panel("Spend per hour by team")
    try:
        with run_prometheus(tmp_path, f"127.0.0.1:{server.server_address[1]}") as base:
            assert _value(base, per_hour) == pytest.approx(600)
            # retention (cost lines older than the window) and a re-price that halves the last hour
            con.execute("DELETE FROM cost_lines WHERE start_time < ?", [now - timedelta(days=30)])
            con.execute("UPDATE cost_rollup_hourly SET token_cost = 300, cost = 300 WHERE hour = ?",
                        [hour - timedelta(hours=1)])
            deadline = time.monotonic() + 30
            while _value(base, per_hour) != pytest.approx(300):
                assert time.monotonic() < deadline, "the panel never showed the re-priced hour"
                time.sleep(0.5)
            time.sleep(3)  # a few more scrapes after the change
            peak = _value(base, f"max_over_time(({per_hour})[1m:1s])")
            assert peak == pytest.approx(600), f"spend-per-hour panel peaked at {peak} (a spike)"
            assert _value(base, per_hour) == pytest.approx(300)
            mtd = _value(base, _panel("Token spend, month to date"))
            in_month = sum(600 if (hour - timedelta(hours=b)).month == now.month else 0 for b in (1, 2)) - (
                300 if (hour - timedelta(hours=1)).month == now.month else 0)
            assert mtd == pytest.approx(in_month)
    finally:
        server.shutdown()
        server.server_close()
