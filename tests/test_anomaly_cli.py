"""`inferledger anomaly score / list` and the `[analytics.anomaly]` settings."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from inferledger.cli import cli
from inferledger.config import ConfigError, load_settings


def _series_csv(path, n=2000, spike_at=1500):
    rng = np.random.default_rng(0)
    ts = pd.date_range("2024-03-01", periods=n, freq="5min")
    values = rng.normal(100, 2, n).round(2)
    values[spike_at] = 180
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(path, index=False)
    return values


def _run(tmp_path, *args):
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), *args], catch_exceptions=False)


@pytest.mark.slow
def test_score_writes_nab_results_format(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    values = _series_csv(src)
    svg = tmp_path / "plot.svg"
    res = _run(tmp_path, "anomaly", "score", str(src), "--out", str(out), "--plot", str(svg))
    assert res.exit_code == 0, res.output
    picture = svg.read_text()
    assert picture.startswith("<svg") and picture.count("<circle") == 1  # the one alarm, marked
    df = pd.read_csv(out)
    assert list(df.columns) == ["timestamp", "value", "anomaly_score"]
    assert len(df) == len(values) and np.allclose(df["value"], values)
    assert df["anomaly_score"].between(0, 1).all()
    assert df["anomaly_score"].idxmax() == 1500 and df["anomaly_score"][1500] >= 0.5


def test_score_to_stdout_and_json(tmp_path):
    src = tmp_path / "in.csv"
    _series_csv(src, n=600, spike_at=500)
    res = _run(tmp_path, "anomaly", "score", str(src))
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    assert lines[0] == "timestamp,value,anomaly_score" and len(lines) == 601
    res = _run(tmp_path, "anomaly", "score", str(src), "--json")
    doc = json.loads(res.output)
    assert doc["rows"] == 600
    assert [a["row"] for a in doc["alarms"]] == [500]
    assert doc["alarms"][0]["kind"] == "spike" and doc["alarms"][0]["expected"] == pytest.approx(100, abs=3)


def test_score_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,value\n2024-01-01,1\n")
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), "anomaly", "score", str(bad)])
    assert res.exit_code != 0 and "missing column 'timestamp'" in res.output
    bad.write_text("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,abc\n")
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), "anomaly", "score", str(bad)])
    assert res.exit_code != 0 and "'value' is not a number at data row 2" in res.output
    bad.write_text("timestamp,value\nyesterday-ish,1\n")
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), "anomaly", "score", str(bad)])
    assert res.exit_code != 0 and "'timestamp'" in res.output
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), "anomaly", "score", str(tmp_path / "nope.csv")])
    assert res.exit_code != 0 and "no such file" in res.output


def test_detector_config_comes_from_settings(tmp_path):
    src = tmp_path / "in.csv"
    _series_csv(src, n=600, spike_at=500)
    cfg = tmp_path / "c.toml"
    # z_alarm is the spike threshold until the peaks-over-threshold fit has its exceedances,
    # pot_z_min the floor of the fitted one: both out of reach, and no shift or range alarm either
    cfg.write_text("[analytics.anomaly.detector]\nz_alarm = 1000.0\npot_z_min = 1000.0\nrange_margin = 0.0\n"
                   "cusum_h = 1000.0\n")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "--db", str(tmp_path / "wh.duckdb"),
                                   "anomaly", "score", str(src), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["alarms"] == []


@pytest.mark.slow
def test_list_reads_stored_anomalies(tmp_path):
    from inferledger.analytics.anomaly.job import run_detection
    from inferledger.analytics.warehouse import open_warehouse
    from tests.test_anomaly_job import NOW, fleet, insert_spans

    wh = open_warehouse(tmp_path / "wh.duckdb")
    insert_spans(wh, [r for r in fleet() if r["start_time"] >= NOW - timedelta(hours=30)])
    settings = load_settings(None, environ={})
    assert run_detection(wh, settings.analytics.anomaly, NOW).new_anomalies > 0
    wh.close()
    res = _run(tmp_path, "anomaly", "list", "--hours", "100000", "--json")
    rows = json.loads(res.output)
    assert rows and {"series_key", "observed", "expected", "moved_dimension"} <= set(rows[0])
    res = _run(tmp_path, "anomaly", "list", "--hours", "100000")
    assert res.exit_code == 0 and "spend_5m" in res.output


def test_settings_validate_and_name_the_field():
    s = load_settings(None, environ={"INFERLEDGER_ANALYTICS__ANOMALY__DETECTOR__Z_ALARM": "7"})
    assert s.analytics.anomaly.detector.z_alarm == 7.0
    with pytest.raises(ConfigError, match="analytics.anomaly.detector.nope"):
        load_settings(None, environ={}, overrides={"analytics.anomaly.detector.nope": 1})
    with pytest.raises(ConfigError, match="alpha_fast"):
        load_settings(None, environ={}, overrides={"analytics.anomaly.detector.alpha_fast": 2.0})
    with pytest.raises(ConfigError, match="unknown series kind 'cpu'"):
        load_settings(None, environ={}, overrides={"analytics.anomaly.series": ["cpu"]})
    with pytest.raises(ConfigError, match="severity"):
        load_settings(None, environ={}, overrides={"analytics.anomaly.severity": "loud"})


def test_admin_route_lists_anomalies(tmp_path):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from inferledger.analytics.anomaly.routes import ROUTES
    from inferledger.analytics.warehouse import open_warehouse, utcnow

    wh = open_warehouse(tmp_path / "wh.duckdb")
    wh.con.execute(
        "INSERT INTO anomalies VALUES (?, 'spend_5m', 'usd', ?, ?, 300, 9.0, 1.0, 0.9, 'spike', 'model', 'gpt-4o',"
        " 8.5, 0.5, 0.95, ?)",
        ['spend_5m{team="ads"}', json.dumps({"team": "ads"}), utcnow() - timedelta(hours=1), utcnow()])
    app = Starlette(routes=ROUTES)
    app.state.warehouse = wh
    app.state.settings = load_settings(None, environ={})
    client = TestClient(app)
    rows = client.get("/admin/anomaly/list", params={"hours": 2}).json()
    assert len(rows) == 1 and rows[0]["moved_value"] == "gpt-4o" and rows[0]["observed"] == 9.0
    assert client.get("/admin/anomaly/list", params={"hours": "0"}).status_code == 400
    assert client.get("/admin/anomaly/list", params={"min_score": "x"}).status_code == 400
    assert client.get("/admin/anomaly/list", params={"kind": "x"}).status_code == 400
    assert client.get("/admin/anomaly/list", params={"team": "nobody"}).json() == []
    (inc,) = client.get("/admin/anomaly/list", params={"hours": 2, "incidents": "1"}).json()
    assert inc["incident"] == "cost" and inc["moved_value"] == "gpt-4o"
    wh.close()


def _insert(wh, key, metric, labels, at, score, kind, moved=(None, None)):
    from inferledger.analytics.warehouse import utcnow

    wh.con.execute("INSERT INTO anomalies VALUES (?, ?, 'usd', ?, ?, 300, 9.0, 1.0, ?, ?, ?, ?, 8.5, 0.5, 0.95, ?)",
                   [key, metric, json.dumps(labels), at, score, kind, moved[0], moved[1], utcnow()])


@pytest.mark.slow
def test_list_filters_by_series_team_model_kind_score_time_and_groups_incidents(tmp_path):
    from inferledger.analytics.warehouse import open_warehouse, utcnow

    wh = open_warehouse(tmp_path / "wh.duckdb")
    t = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    _insert(wh, 'spend_5m{team="ads"}', "spend_5m", {"team": "ads"}, t, 0.9, "spike", ("model", "gpt-4o"))
    _insert(wh, "spend_5m{}", "spend_5m", {}, t + timedelta(minutes=5), 0.6, "level_shift", ("team", "ads"))
    _insert(wh, 'latency_p95_5m{model="llama"}', "latency_p95_5m", {"model": "llama"}, t, 0.7, "spike")
    _insert(wh, 'spend_5m{team="search"}', "spend_5m", {"team": "search"}, t - timedelta(hours=9), 0.55, "spike")
    wh.close()

    def keys(*args):
        res = _run(tmp_path, "anomaly", "list", "--json", *args)
        assert res.exit_code == 0, res.output
        return sorted(r["series_key"] for r in json.loads(res.output))

    assert keys("--team", "ads") == ["spend_5m{team=\"ads\"}", "spend_5m{}"]   # own label, or moved most
    assert keys("--model", "gpt-4o") == ['spend_5m{team="ads"}']
    assert keys("--model", "llama") == ['latency_p95_5m{model="llama"}']
    assert keys("--kind", "level_shift") == ["spend_5m{}"]
    assert keys("--min-score", "0.8") == ['spend_5m{team="ads"}']
    assert keys("--series", "latency") == ['latency_p95_5m{model="llama"}']
    assert len(keys("--hours", "5")) == 3 and len(keys("--hours", "24")) == 4
    res = _run(tmp_path, "anomaly", "list", "--json", "--incidents")
    inc = json.loads(res.output)
    assert [(i["incident"], i["alarms"], i["top_series"]) for i in inc] == [
        ("cost", 2, 'spend_5m{team="ads"}'), ("performance", 1, 'latency_p95_5m{model="llama"}'),
        ("cost", 1, 'spend_5m{team="search"}')]
    assert inc[0]["series"] == ['spend_5m{team="ads"}', "spend_5m{}"]
    assert _run(tmp_path, "anomaly", "list", "--incidents").exit_code == 0
    assert _run(tmp_path, "anomaly", "list", "--kind", "nope").exit_code != 0
