"""`inferledger slo rules / evaluate / status` and the admin route, through the real CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from inferledger.analytics.slo.job import run_evaluation
from inferledger.analytics.slo.routes import ROUTES
from inferledger.analytics.slo.rules import render_rules
from inferledger.analytics.slo.spec import load_spec_file, parse_text
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.cli import cli
from tests.slo_helpers import insert_traffic

CONFIG_SPEC = "slos: [{name: availability, service: chat-api, objective: 99.9, sli: availability}]"
SLOTH = "tests/promtool/sloth_availability_slo.yaml"
CONFIG = """
[analytics.slo]
specs = [{ name = "availability", service = "chat-api", objective = 99.9, sli = "availability" }]
"""


def test_rules_prints_sloth_rules():
    res = CliRunner().invoke(cli, ["slo", "rules", SLOTH])
    assert res.exit_code == 0, res.output
    assert res.output == render_rules(load_spec_file(SLOTH))
    assert yaml.safe_load(res.output)["groups"][0]["rules"][0]["record"] == "slo:sli_error:ratio_rate5m"
    res = CliRunner().invoke(cli, ["slo", "rules", "--json", SLOTH])
    assert json.loads(res.output)["groups"][2]["rules"][0]["alert"] == "MyServiceHighErrorRate"


def test_rules_invalid_spec_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("slos: [{name: a, service: s, objective: 120, sli: availability}]")
    res = CliRunner().invoke(cli, ["slo", "rules", str(bad)])
    assert res.exit_code != 0
    assert f"{bad}.slos[0].objective" in res.output


@pytest.mark.slow
def test_evaluate_then_status(tmp_path):
    db = tmp_path / "wh.duckdb"
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    wh = open_warehouse(db)
    start = (utcnow() - timedelta(minutes=90)).replace(second=0, microsecond=0)
    insert_traffic(wh, start, 90, 50, error_every=50)  # 2 % errors: page + ticket
    wh.close()
    base = ["--config", str(cfg), "--db", str(db), "slo"]
    res = CliRunner().invoke(cli, [*base, "evaluate", "--json"], env={})
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["page"] == 1
    res = CliRunner().invoke(cli, [*base, "status", "--json"])
    (row,) = json.loads(res.output)["slos"]
    assert row["slo_id"] == "chat-api-availability" and row["page"] and row["ticket"]
    assert row["burn_rates"][2] == pytest.approx(20.0, rel=1e-9)  # 2 % / 0.1 %
    res = CliRunner().invoke(cli, [*base, "status"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "PAGE" in res.output and "chat-api/availability" in res.output


@pytest.mark.slow
def test_admin_route_serves_state(tmp_path):
    wh = open_warehouse(tmp_path / "wh.duckdb")
    app = Starlette(routes=ROUTES)
    app.state.warehouse = wh
    client = TestClient(app)
    assert client.get("/admin/slo/status").json() == {"slos": []}
    now = utcnow()
    insert_traffic(wh, now - timedelta(minutes=30), 30, 10)
    run_evaluation(wh, parse_text(CONFIG_SPEC), now)
    (row,) = client.get("/admin/slo/status").json()["slos"]
    assert row["slo_id"] == "chat-api-availability" and row["budget_remaining"] == 1.0 and not row["page"]
    wh.close()


@pytest.mark.slow
def test_replay_command(tmp_path):
    db = tmp_path / "wh.duckdb"
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    wh = open_warehouse(db)
    start = (utcnow() - timedelta(minutes=180)).replace(second=0, microsecond=0)
    insert_traffic(wh, start, 175, 20, error_minutes=(100, 105))
    wh.close()
    base = ["--config", str(cfg), "--db", str(db), "slo", "replay", "--hours", "4"]
    res = CliRunner().invoke(cli, [*base, "--json"])
    assert res.exit_code == 0, res.output
    (slo,) = json.loads(res.output)["slos"]
    assert [e["severity"] for e in slo["episodes"]].count("page") == 1
    res = CliRunner().invoke(cli, base, env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "PAGE" in res.output
