"""`inferledger alerts ...` commands and the admin API for silences."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from inferledger.alerts.delivery import deliver_due
from inferledger.alerts.pipeline import evaluate
from inferledger.alerts.routes import ROUTES
from inferledger.analytics.alert_records import AlertRecord, write_alert_records
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.cli import cli
from inferledger.config import load_settings
from inferledger.demo.receiver import RecordingReceiver, Reply


def _config(tmp_path, url: str) -> str:
    path = tmp_path / "inferledger.toml"
    path.write_text(f"""
[alerts]
group_wait = 0.0

[[alerts.receivers]]
name = "hook"
type = "webhook"
url = "{url}/hooks/SECRETPATHTOKEN"
secret = "s3cr3t"

[[alerts.routes]]
receiver = "hook"
""")
    return str(path)


def _run(tmp_path, url, *args):
    db = str(tmp_path / "wh.duckdb")
    if not (tmp_path / "wh.duckdb").exists():  # commands never create a warehouse; serve does
        open_warehouse(db).close()
    res = CliRunner().invoke(cli, ["--config", _config(tmp_path, url), "--db", db, *args], catch_exceptions=False)
    return res


@pytest.mark.slow
def test_list_shows_alerts_silences_and_delivery(tmp_path):
    rec = RecordingReceiver().start()
    try:
        rec.script = [Reply(503, b"down")]
        wh = open_warehouse(tmp_path / "wh.duckdb")
        now = utcnow()
        write_alert_records(wh, [AlertRecord("budget", "BudgetExceeded", {"team": "ml"}, "ticket", "firing",
                                             "team ml is at 104% of its monthly budget", now)])
        cfg = load_settings(_config(tmp_path, rec.url), environ={}).alerts
        evaluate(wh, cfg, now)
        deliver_due(wh, cfg, now)  # 503: stays pending
        wh.close()

        res = _run(tmp_path, rec.url, "alerts", "list", "--json")
        assert res.exit_code == 0, res.output
        data = json.loads(res.output)
        assert [(a["alertname"], a["state"], a["severity"]) for a in data["alerts"]] == [
            ("BudgetExceeded", "firing", "ticket")]
        assert data["delivery"]["hook"]["pending"] == 1
        assert data["outbox"][0]["attempts"] == 1 and "HTTP 503" in data["outbox"][0]["last_error"]
        assert "SECRETPATHTOKEN" not in res.output

        res = _run(tmp_path, rec.url, "alerts", "list")
        assert res.exit_code == 0 and "BudgetExceeded" in res.output and "SECRETPATHTOKEN" not in res.output
    finally:
        rec.stop()


@pytest.mark.slow
def test_silence_create_list_expire(tmp_path):
    url = "http://127.0.0.1:9"
    res = _run(tmp_path, url, "alerts", "silence", "create", "-m", "team=ml", "-m", "alertname=~Budget.*",
               "--duration", "2h", "--author", "alice", "--comment", "known overspend", "--json")
    assert res.exit_code == 0, res.output
    sil = json.loads(res.output)
    assert sil["matchers"] == ["team=ml", "alertname=~Budget.*"] and sil["state"] == "active"
    listed = json.loads(_run(tmp_path, url, "alerts", "silence", "list", "--json").output)
    assert [s["id"] for s in listed] == [sil["id"]]
    res = _run(tmp_path, url, "alerts", "silence", "expire", sil["id"])
    assert res.exit_code == 0 and "expired" in res.output
    assert json.loads(_run(tmp_path, url, "alerts", "silence", "list", "--json").output) == []
    res = _run(tmp_path, url, "alerts", "silence", "expire", sil["id"])
    assert res.exit_code != 0 and "already expired" in res.output
    res = _run(tmp_path, url, "alerts", "silence", "create", "-m", "team ml", "--comment", "x")
    assert res.exit_code != 0 and "bad matcher" in res.output


@pytest.mark.slow
def test_test_command_sends_and_reports(tmp_path):
    rec = RecordingReceiver().start()
    try:
        res = _run(tmp_path, rec.url, "alerts", "test", "hook", "--resolve", "--json")
        assert res.exit_code == 0, res.output
        out = json.loads(res.output)
        assert [(r["status"], r["ok"]) for r in out] == [("firing", True), ("resolved", True)]
        bodies = [r.json() for r in rec.received]
        assert [b["status"] for b in bodies] == ["firing", "resolved"]
        assert bodies[0]["alerts"][0]["labels"]["alertname"] == "InferLedgerTestAlert"
        rec.default = Reply(500, b"no")
        res = _run(tmp_path, rec.url, "alerts", "test", "hook")
        assert res.exit_code == 1 and "FAILED" in res.output and "SECRETPATHTOKEN" not in res.output
        res = _run(tmp_path, rec.url, "alerts", "test", "nobody")
        assert res.exit_code != 0 and "unknown receiver 'nobody'" in res.output
    finally:
        rec.stop()


def test_admin_api_silences(warehouse):
    app = Starlette(routes=ROUTES)
    app.state.warehouse = warehouse
    client = TestClient(app)
    resp = client.post("/admin/alerts/silences", json={"matchers": ["severity=page"], "duration": "30m",
                                                       "created_by": "bob", "comment": "deploy"})
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    assert [s["id"] for s in client.get("/admin/alerts/silences").json()] == [sid]
    assert client.get("/admin/alerts").json()["silences"][0]["matchers"] == ["severity=page"]
    bad = client.post("/admin/alerts/silences", json={"matchers": ["severity"], "created_by": "b", "comment": "c"})
    assert bad.status_code == 400 and "bad matcher" in bad.json()["error"]
    assert client.post("/admin/alerts/silences", content=b"nope").status_code == 400
    assert client.delete(f"/admin/alerts/silences/{sid}").status_code == 200
    assert client.delete(f"/admin/alerts/silences/{sid}").status_code == 409
    assert client.delete("/admin/alerts/silences/unknown").status_code == 404
    assert client.get("/admin/alerts/silences").json() == []
    assert len(client.get("/admin/alerts/silences?all=1").json()) == 1


def test_list_goes_through_admin_api_when_service_holds_the_file(tmp_path, monkeypatch):
    """DuckDB allows one process per file: when the service holds it, the CLI asks the service."""
    import os

    from starlette.responses import JSONResponse
    from starlette.routing import Route

    db = tmp_path / "wh.duckdb"
    wh = open_warehouse(db)

    async def held(request):
        return JSONResponse({"path": str(db.resolve()), "warehouse_id": wh.warehouse_id, "pid": os.getpid(),
                             "ready": True})

    app = Starlette(routes=[*ROUTES, Route("/admin/warehouse", held)])
    app.state.warehouse = wh
    client = TestClient(app, base_url="http://127.0.0.1:9464")

    def no_local_open(*a, **k):
        raise AssertionError("the CLI opened the file the service holds")

    monkeypatch.setattr("inferledger.analytics.warehouse.open_warehouse", no_local_open)
    monkeypatch.setattr("httpx.get", lambda url, timeout=None, headers=None: client.get(url.replace("http://127.0.0.1:9464", "")))
    monkeypatch.setattr("httpx.request", lambda method, url, json=None, timeout=None, headers=None:
                        client.request(method, url.replace("http://127.0.0.1:9464", ""), json=json))
    res = _run(tmp_path, "http://127.0.0.1:9", "alerts", "silence", "create", "-m", "team=ml", "--comment", "via api",
               "--author", "carol", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["created_by"] == "carol"
    from inferledger.alerts.silences import list_silences

    assert [s.comment for s in list_silences(wh)] == ["via api"]
    wh.close()
