from __future__ import annotations

import json
import re

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inferledger.dashboards.definitions import build_all
from inferledger.dashboards.definitions.uids import BY_ALERT_SOURCE
from inferledger.dashboards.exporter import register_warehouse_collector
from inferledger.dashboards.provisioning import CHECKED_IN_DIR, dashboard_text, export
from inferledger.dashboards.settings import DashboardSettings, GrafanaSettings
from tests.test_dashboards_prometheus import SERVICE_METRICS, panel_expressions, seed_all

METRIC_NAME = re.compile(r"\b(inferledger_[a-z0-9_]+)\b")


def test_checked_in_json_equals_freshly_generated_output():
    fresh = build_all()
    on_disk = {p.stem: p.read_text() for p in CHECKED_IN_DIR.glob("*.json")}
    assert sorted(on_disk) == sorted(fresh), "regenerate: inferledger grafana export, or write_dashboards(CHECKED_IN_DIR)"
    for uid, model in fresh.items():
        assert on_disk[uid] == dashboard_text(model), f"dashboards/json/{uid}.json is stale"


def test_dashboards_are_complete_and_linked():
    boards = build_all()
    assert len(boards) == 8
    assert set(BY_ALERT_SOURCE.values()) <= set(boards)
    for uid, model in boards.items():
        assert model["uid"] == uid and model["title"].startswith("InferLedger / ")
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids, uid
        names = [v["name"] for v in model["templating"]["list"]]
        assert names[0] == "datasource"
        links = model["links"]
        assert links and links[0]["tags"] == ["inferledger"] and links[0]["includeVars"] and links[0]["keepTime"]
        ann = model["annotations"]["list"][0]
        assert ann["target"]["tags"][0] == "inferledger"
        for panel in model["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            refs = [t["refId"] for t in panel["targets"]]
            assert refs and len(refs) == len(set(refs)) and all(refs)
    for uid in ("inferledger-cost", "inferledger-showback", "inferledger-unit-economics"):
        names = [v["name"] for v in boards[uid]["templating"]["list"]]
        assert names == ["datasource", "tenant", "team", "model", "environment"]
    assert "var-team=${__field.labels.team}" in json.dumps(boards["inferledger-cost"])


@pytest.mark.slow
def test_every_metric_a_panel_uses_is_exported(warehouse):
    """Catches a renamed metric: a panel may only use names /metrics actually serves."""
    seed_all(warehouse)
    reg = CollectorRegistry()
    register_warehouse_collector(warehouse, DashboardSettings(), reg)
    served = set()
    for fam in text_string_to_metric_families(generate_latest(reg).decode()):
        served.update(s.name for s in fam.samples)
    from inferledger.collector import telemetry  # the ingest families registered by the collector package

    served.update(m._name + sfx for m in vars(telemetry).values() if hasattr(m, "_name")
                  for sfx in ("", "_total", "_bucket", "_sum", "_count"))
    used = {name for _, _, expr in panel_expressions() for name in METRIC_NAME.findall(expr)}
    missing = sorted(n for n in used if n not in served)
    assert not missing, missing
    assert any(SERVICE_METRICS.match(n) for n in used)


def test_export_writes_dashboards_and_provisioning_yaml(tmp_path):
    cfg = GrafanaSettings(prometheus_url="http://prom:9090")
    written = export(tmp_path / "out", cfg, grafana_path="/var/lib/grafana/dashboards/inferledger")
    assert len(written["dashboards"]) == 8
    for path in written["dashboards"]:
        model = json.loads(open(path).read())
        assert model["uid"] in build_all()
    ds = yaml.safe_load(open(written["datasource_file"]))
    assert ds["apiVersion"] == 1
    assert {"type": "prometheus", "url": "http://prom:9090", "uid": cfg.datasource_uid}.items() <= ds["datasources"][0].items()
    prov = yaml.safe_load(open(written["provider_file"]))
    provider = prov["providers"][0]
    assert provider["type"] == "file" and provider["folderUid"] == "inferledger"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/inferledger"


def test_cli_export(tmp_path):
    from click.testing import CliRunner

    from inferledger.cli import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "w.duckdb"), "grafana", "export",
                                      str(tmp_path / "g"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert len(out["dashboards"]) == 8
    assert (tmp_path / "g" / "provisioning" / "dashboards" / "inferledger.yaml").exists()


def test_alert_links_open_the_right_dashboard_with_variables_set():
    from inferledger.dashboards.links import dashboard_url

    url = dashboard_url("budget", {"team": "search", "feature": "answers", "alertname": "BudgetOver"},
                        "https://grafana.example.com/")
    assert url == "https://grafana.example.com/d/inferledger-showback?var-team=search&from=now-6h&to=now"
    assert dashboard_url("slo", {"slo_id": "chat-availability"}).startswith("/d/inferledger-slo?var-slo=chat-availability")
    assert dashboard_url("something-new", {}).startswith("/d/inferledger-pipeline?")
    boards = build_all()
    for source in BY_ALERT_SOURCE:
        uid = dashboard_url(source, {}).split("?")[0].removeprefix("/d/")
        assert uid in boards
