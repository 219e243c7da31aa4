"""The pipeline inside the real service: job run over the admin API, silences, CLI through the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from inferledger.analytics.alert_records import AlertRecord, write_alert_records
from inferledger.analytics.warehouse import utcnow
from inferledger.demo.receiver import RecordingReceiver
from tests.harness import running_service, service_process

pytestmark = pytest.mark.server


def test_service_runs_pipeline_job_and_serves_alert_api(tmp_path):
    from inferledger.service import load_job_modules

    assert "alerts.pipeline" in load_job_modules()  # what the service does at start through JOB_MODULES
    rec = RecordingReceiver().start()
    try:
        with running_service(tmp_path / "svc.duckdb", **{
            "alerts.receivers": [{"name": "hook", "type": "webhook", "url": rec.url + "/in", "secret": "k"}],
            "alerts.routes": [{"receiver": "hook"}], "alerts.group_wait": 0.0,
        }) as (svc, eps):
            write_alert_records(svc.state.warehouse, [AlertRecord(
                "ingest", "IngestQueueFull", {"tenant": "default"}, "page", "firing", "ingest queue is full", utcnow())])
            out = httpx.post(f"{eps.admin}/admin/jobs/run", params={"name": "alerts.pipeline"}, json={}, timeout=60).json()
            assert out[0]["status"] == "ok" and "delivered=1" in out[0]["result"], out
            assert [r.json()["alerts"][0]["labels"]["alertname"] for r in rec.received] == ["IngestQueueFull"]
            view = httpx.get(f"{eps.admin}/admin/alerts", timeout=30).json()
            assert view["delivery"]["hook"]["delivered"] == 1
            assert view["alerts"][0]["state"] == "firing"
            resp = httpx.post(f"{eps.admin}/admin/alerts/silences", json={
                "matchers": ["alertname=IngestQueueFull"], "duration": "1h", "created_by": "t", "comment": "c"})
            assert resp.status_code == 201
            assert httpx.get(f"{eps.admin}/admin/alerts").json()["alerts"][0]["silenced_by"] == resp.json()["id"]
    finally:
        rec.stop()


def test_cli_uses_admin_api_when_service_holds_the_file(tmp_path):
    db = tmp_path / "held.duckdb"
    with service_process(db) as (proc, eps):
        env = {**os.environ, "INFERLEDGER_SERVER__ADMIN": eps.admin.removeprefix("http://")}
        base = [sys.executable, "-m", "inferledger", "--db", str(db), "alerts"]
        made = subprocess.run(base + ["silence", "create", "-m", "severity=page", "--duration", "15m",
                                      "--author", "ops", "--comment", "deploy", "--json"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stdout + made.stderr
        sid = json.loads(made.stdout)["id"]
        listed = subprocess.run(base + ["list", "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert [s["id"] for s in json.loads(listed.stdout)["silences"]] == [sid]
        gone = subprocess.run(base + ["silence", "expire", sid], env=env, capture_output=True, text=True, timeout=120)
        assert gone.returncode == 0 and "expired" in gone.stdout
