"""The admin API and the scheduler registry of the running service."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from inferledger.analytics.jobs import REGISTRY, Job, JobContext, run_job
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.cli import cli
from inferledger.collector.unmapped import upsert_unmapped
from inferledger.service import load_job_modules
from tests.harness import free_port, running_service
from tests.otlp_payloads import genai_spans


@pytest.mark.slow
def test_health_stats_metrics_and_job_runs(tmp_path):
    with running_service(tmp_path / "w.duckdb") as (service, eps):
        assert httpx.get(f"{eps.admin}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{eps.admin}/readyz").status_code == 200
        assert OTLPSpanExporter(endpoint=f"{eps.http}/v1/traces").export(genai_spans(12)) == SpanExportResult.SUCCESS
        stats = httpx.get(f"{eps.admin}/admin/stats").json()
        assert stats["tables"]["spans"] == 12 and stats["spans_by_vocabulary"] == {"otel_genai": 12}
        metrics = httpx.get(f"{eps.admin}/metrics").text
        assert 'inferledger_ingest_requests_total{code="200",signal="traces",transport="http"}' in metrics
        load_job_modules()
        ran = httpx.post(f"{eps.admin}/admin/jobs/run", params={"name": "warehouse.retention"}, json={}, timeout=60).json()
        assert ran == [{"job": "warehouse.retention", "status": "ok", "result": ran[0]["result"]}]
        assert "'spans': 0" in ran[0]["result"]  # nothing is older than the retention period
        assert httpx.post(f"{eps.admin}/admin/jobs/run", params={"name": "no.such.job"}, json={}).status_code == 404
        runs = service.state.warehouse.cursor().execute("SELECT job, status FROM job_runs").fetchall()
        assert ("warehouse.retention", "ok") in runs


def test_failed_job_is_recorded(warehouse, settings):
    def boom(ctx: JobContext) -> None:
        raise RuntimeError("disk on fire")

    job = Job("test.boom", boom, "interval", {"seconds": 60})
    with pytest.raises(RuntimeError):
        run_job(job, JobContext(warehouse=warehouse, settings=settings))
    row = warehouse.con.execute("SELECT status, detail FROM job_runs WHERE job = 'test.boom'").fetchone()
    assert row == ("failed", "RuntimeError: disk on fire")


def test_every_registered_job_has_a_valid_trigger():
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    jobs = load_job_modules()
    assert "warehouse.retention" in jobs and jobs is not REGISTRY
    for job in jobs.values():
        trigger = {"interval": IntervalTrigger, "cron": CronTrigger}[job.trigger]
        trigger(**job.trigger_args)  # raises on a bad trigger


@pytest.mark.slow
def test_ingest_unmapped_cli_reads_the_file_when_no_service_runs(tmp_path):
    db = tmp_path / "w.duckdb"
    wh = open_warehouse(db)
    upsert_unmapped(wh.con, Counter({("default", "ai.model.id"): 3}), utcnow())
    wh.close()
    result = CliRunner().invoke(cli, ["--db", str(db), "ingest", "unmapped", "--json"],
                                env={"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"})
    assert result.exit_code == 0, result.output
    assert '"key": "ai.model.id"' in result.output and '"spans": 3' in result.output


@pytest.mark.server
def test_address_in_use_is_a_clear_error_before_the_warehouse_is_touched(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        db = tmp_path / "w.duckdb"
        proc = subprocess.run(
            [sys.executable, "-m", "inferledger", "--db", str(db), "serve", "--no-jobs",
             "--otlp-http", f"127.0.0.1:{port}", "--otlp-grpc", f"127.0.0.1:{free_port()}",
             "--admin", f"127.0.0.1:{free_port()}"],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 1
    assert f"cannot listen for OTLP/HTTP on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr and not db.exists()
