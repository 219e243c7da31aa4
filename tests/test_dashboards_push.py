from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from grafana_client.client import GrafanaClientError

from inferledger.analytics.alert_records import AlertRecord, write_alert_records
from inferledger.analytics.warehouse import utcnow
from inferledger.dashboards.annotations import alert_annotations
from inferledger.dashboards.definitions import build_all
from inferledger.dashboards.push import PushError, explain, push
from inferledger.dashboards.settings import GrafanaSettings
from tests.fake_grafana import FakeGrafana

TOKENS = {"admin": "Admin", "editor": "Editor", "viewer": "Viewer"}


@pytest.fixture
def grafana():
    with FakeGrafana(tokens=TOKENS) as g:
        yield g


@pytest.mark.slow
def test_push_creates_everything_then_is_idempotent(grafana):
    cfg = GrafanaSettings(prometheus_url="http://prom:9090")
    first = push(grafana.url, "admin", cfg, create_datasource=True, message="v1")
    assert first.folder == "created" and first.datasource == "created"
    assert {d["status"] for d in first.dashboards} == {"created"}
    st = grafana.state
    assert st.folders["inferledger"]["title"] == "InferLedger"
    assert st.datasources["inferledger-prometheus"]["url"] == "http://prom:9090"
    assert set(st.dashboards) == set(build_all())
    assert all(e["folderUid"] == "inferledger" and e["messages"] == ["v1"] for e in st.dashboards.values())

    again = push(grafana.url, "admin", cfg, create_datasource=True, message="v2")
    assert (again.folder, again.datasource) == ("unchanged", "unchanged")
    assert {d["status"] for d in again.dashboards} == {"unchanged"}
    assert all(e["version"] == 1 for e in st.dashboards.values())

    changed = {uid: {**m, "description": "changed"} for uid, m in build_all().items()}
    third = push(grafana.url, "admin", cfg, dashboards=changed, message="v3")
    assert {d["status"] for d in third.dashboards} == {"updated"}
    assert all(e["version"] == 2 and e["messages"] == ["v1", "v3"] for e in st.dashboards.values())


def test_auth_failures_are_clear(grafana):
    cfg = GrafanaSettings()
    with pytest.raises(PushError, match="rejected the token \\(401"):
        push(grafana.url, "wrong", cfg)
    with pytest.raises(PushError, match="403 Forbidden.*Admin to create the datasource"):
        push(grafana.url, "editor", cfg, create_datasource=True)
    with pytest.raises(PushError, match="refused dashboard inferledger-cost \\(403 Forbidden"):
        push(grafana.url, "viewer", cfg)
    with pytest.raises(PushError, match="no Grafana token"):
        push(grafana.url, "", cfg)
    with pytest.raises(PushError, match="cannot reach Grafana"):
        push("http://127.0.0.1:1", "admin", GrafanaSettings(timeout_seconds=2))
    # An Editor can push everything but the datasource.
    assert len(push(grafana.url, "editor", cfg).dashboards) == 8


def test_version_failure_message():
    exc = GrafanaClientError(412, {"message": "The dashboard has been changed by someone else",
                                   "status": "version-mismatch"}, "Client Error 412")
    msg = explain(exc, "http://g", "dashboard inferledger-cost")
    assert "412" in msg and "version-mismatch" in msg and "dashboard inferledger-cost" in msg


@pytest.mark.slow
def test_alert_annotations_are_created_then_updated_not_duplicated(grafana, warehouse):
    start = utcnow() - timedelta(hours=1)
    fire = AlertRecord("slo", "SLOBurn", {"slo": "chat"}, "page", "firing", "burning fast", start)
    write_alert_records(warehouse, [fire])
    now = utcnow()
    anns = alert_annotations(warehouse, now=now)
    assert len(anns) == 1 and not anns[0].resolved
    r1 = push(grafana.url, "admin", GrafanaSettings(), annotations=anns)
    assert r1.annotations == {"created": 1, "updated": 0, "unchanged": 0}
    r2 = push(grafana.url, "admin", GrafanaSettings(), annotations=anns)
    assert r2.annotations == {"created": 0, "updated": 0, "unchanged": 1}

    end = utcnow()
    write_alert_records(warehouse, [AlertRecord("slo", "SLOBurn", {"slo": "chat"}, "page", "resolved",
                                                "burn over", start, ends_at=end)])
    anns = alert_annotations(warehouse)
    assert len(anns) == 1 and anns[0].resolved
    r3 = push(grafana.url, "admin", GrafanaSettings(), annotations=anns)
    assert r3.annotations["updated"] == 1
    stored = list(grafana.state.annotations.values())
    assert len(stored) == 1
    ann = stored[0]
    assert {"inferledger", "slo", "SLOBurn", f"fingerprint:{fire.fingerprint}"} <= set(ann["tags"])
    assert ann["timeEnd"] >= ann["time"] and ann["text"].startswith("[resolved] SLOBurn")
    assert "/d/inferledger-slo" in ann["text"]


@pytest.mark.slow
def test_fake_grafana_checks_request_shapes(grafana):
    h = {"Authorization": "Bearer admin"}
    r = httpx.post(f"{grafana.url}/api/dashboards/db", headers=h, json={"dashboard": {"title": "x"}, "folderUID": "a"})
    assert r.status_code == 400 and "folderUID" in r.json()["message"]
    r = httpx.post(f"{grafana.url}/api/dashboards/db", headers=h, json={"dashboard": {"title": ""}})
    assert r.status_code == 400
    r = httpx.post(f"{grafana.url}/api/annotations", headers=h, json={"text": "x", "time": "yesterday"})
    assert r.status_code == 400
    r = httpx.post(f"{grafana.url}/api/dashboards/db", headers=h, content=b'{"dashboard": {"title": "x"}}')
    assert r.status_code == 415
    r = httpx.post(f"{grafana.url}/api/dashboards/db", json={"dashboard": {"title": "x"}})
    assert r.status_code == 401
    ok = httpx.post(f"{grafana.url}/api/dashboards/db", headers=h, json={"dashboard": {"title": "x", "uid": "u"}})
    assert ok.json()["version"] == 1
    stale = httpx.post(f"{grafana.url}/api/dashboards/db", headers=h,
                       json={"dashboard": {"title": "x", "uid": "u", "version": 0}})
    assert stale.status_code == 412 and stale.json()["status"] == "version-mismatch"


@pytest.mark.slow
def test_cli_push_with_annotations_from_the_warehouse(grafana, tmp_path):
    from click.testing import CliRunner

    from inferledger.analytics.warehouse import open_warehouse
    from inferledger.cli import cli

    db = tmp_path / "w.duckdb"
    wh = open_warehouse(db)
    write_alert_records(wh, [AlertRecord("anomaly", "SpendSpike", {"team": "search"}, "ticket", "firing",
                                         "spend 9x expected", utcnow() - timedelta(minutes=5))])
    wh.close()
    args = ["--db", str(db), "grafana", "push", "--url", grafana.url, "--token", "admin", "--create-datasource",
            "--message", "from CI", "--json"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    out = __import__("json").loads(first.output)
    assert out["folder"] == "created" and out["datasource"] == "created"
    assert out["annotations"]["created"] == 1 and len(out["dashboards"]) == 8
    assert all(e["messages"] == ["from CI"] for e in grafana.state.dashboards.values())
    again = CliRunner().invoke(cli, args[:-1])
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output
    assert len(grafana.state.annotations) == 1

    denied = CliRunner().invoke(cli, ["--db", str(db), "grafana", "push", "--url", grafana.url, "--token", "nope"])
    assert denied.exit_code == 1
    assert "rejected the token (401 Unauthorized)" in denied.output


@pytest.mark.slow
def test_renamed_folder_and_changed_datasource_are_updated_in_place(grafana):
    h = {"Authorization": "Bearer admin"}
    assert httpx.post(f"{grafana.url}/api/folders", headers=h,
                      json={"uid": "inferledger", "title": "Old name"}).status_code == 200
    push(grafana.url, "admin", GrafanaSettings(prometheus_url="http://old:9090"), create_datasource=True)
    result = push(grafana.url, "admin", GrafanaSettings(folder_title="AI cost", prometheus_url="http://new:9090"),
                  create_datasource=True)
    assert (result.folder, result.datasource) == ("updated", "updated")
    assert grafana.state.folders["inferledger"]["title"] == "AI cost"
    assert grafana.state.datasources["inferledger-prometheus"]["url"] == "http://new:9090"
    assert len(grafana.state.folders) == 1 and len(grafana.state.datasources) == 1
