"""`inferledger drift compare / run / status / report` end to end (real files, real warehouse)."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from inferledger.analytics.warehouse import open_warehouse
from inferledger.cli import cli
from tests.test_drift_job import DRIFTED, NOW, _seed


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    ref = pl.DataFrame({"latency": rng.gamma(2.0, 1.0, 3000), "tokens": rng.poisson(400, 3000),
                        "model": rng.choice(["a", "b", "c"], 3000)})
    cur = pl.DataFrame({"latency": rng.gamma(2.0, 1.5, 2000), "tokens": rng.poisson(400, 2000),
                        "model": rng.choice(["a", "b", "c"], 2000)})
    ref.write_parquet(tmp_path / "ref.parquet")
    cur.write_csv(tmp_path / "cur.csv")
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def _run(args, tmp_path):
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), *args], catch_exceptions=False)


def test_compare_json_contract(files, tmp_path):
    ref, cur = files
    res = _run(["drift", "compare", str(ref), str(cur), "--json"], tmp_path)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["column"] for r in rows] == ["latency", "tokens", "model"]
    for r in rows:
        assert {"column", "method", "score", "threshold", "drifted"} <= set(r)
    by = {r["column"]: r for r in rows}
    assert by["latency"]["method"] == "wasserstein" and by["latency"]["drifted"] is True
    assert by["model"]["method"] == "jensenshannon" and by["model"]["drifted"] is False


def test_compare_options_and_errors(files, tmp_path):
    ref, cur = files
    res = _run(["drift", "compare", str(ref), str(cur), "--columns", "tokens", "--method", "tokens=ks",
                "--threshold", "tokens=0.01", "--json"], tmp_path)
    rows = json.loads(res.output)
    assert len(rows) == 1 and rows[0]["method"] == "ks" and rows[0]["threshold"] == 0.01
    res = _run(["drift", "compare", str(ref), str(cur), "--fail-on-drift"], tmp_path)
    assert res.exit_code == 1 and "latency" in res.output
    res = _run(["drift", "compare", str(ref), str(cur), "--method", "model=ks"], tmp_path)
    assert res.exit_code != 0 and "does not apply to a categorical column" in res.output
    res = _run(["drift", "compare", str(ref), str(tmp_path / "nope.csv")], tmp_path)
    assert res.exit_code != 0 and "no such file" in res.output
    res = _run(["drift", "compare", str(ref), str(cur), "--columns", "colour"], tmp_path)
    assert res.exit_code != 0 and "colour" in res.output


@pytest.mark.slow
def test_run_status_and_report_on_the_warehouse(tmp_path):
    wh = open_warehouse(tmp_path / "wh.duckdb")
    _seed(wh)
    wh.close()
    at = NOW.isoformat()
    res = _run(["drift", "run", "--at", at, "--json"], tmp_path)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    drifted = [r for r in rows if r["drifted"]]
    assert drifted and {(r["segment"]["service_name"], r["segment"]["model"]) for r in drifted} == {DRIFTED}
    res = _run(["drift", "status", "--json"], tmp_path)
    assert [r["column"] for r in json.loads(res.output)] == [r["column"] for r in drifted]

    out = tmp_path / "report.html"
    res = _run(["drift", "report", "--segment", f"service_name={DRIFTED[0]}", "--segment", f"model={DRIFTED[1]}",
                "--at", at, "--sample", "500", "--out", str(out)], tmp_path)
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert len(html) > 10_000 and "input_tokens" in html
    assert "left out time_to_first_token_s" not in res.output  # seeded spans all stream
    res = _run(["drift", "report", "--segment", "service_name=nobody", "--at", at], tmp_path)
    assert res.exit_code != 0 and "no spans" in res.output
    later = (NOW + timedelta(days=30)).isoformat()
    res = _run(["drift", "run", "--at", later], tmp_path)
    assert res.exit_code == 0 and "0 segment(s)" in res.output


@pytest.mark.slow
def test_compare_writes_evidently_report(files, tmp_path):
    ref, cur = files
    out = tmp_path / "cmp.html"
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "wh.duckdb"), "drift", "compare", str(ref), str(cur),
                                   "--report", str(out), "--sample", "800"])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 10_000 and "latency" in out.read_text()


def test_compare_skips_columns_drift_cannot_use(tmp_path):
    from datetime import datetime

    ref = pl.DataFrame({"ts": [datetime(2026, 1, 1)] * 50, "x": np.arange(50.0)})
    cur = pl.DataFrame({"ts": [datetime(2026, 1, 2)] * 50, "x": np.arange(50.0) + 10})
    ref.write_parquet(tmp_path / "r.parquet")
    cur.write_parquet(tmp_path / "c.parquet")
    res = _run(["drift", "compare", str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), "--json"], tmp_path)
    assert [r["column"] for r in json.loads(res.output)] == ["x"]
    res = _run(["drift", "compare", str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), "--columns", "ts"],
               tmp_path)
    assert res.exit_code != 0 and "drift needs a numeric or a categorical column" in res.output


@pytest.mark.slow
def test_status_shows_a_score_trend_per_column(tmp_path):
    wh = open_warehouse(tmp_path / "wh.duckdb")
    _seed(wh)
    wh.close()
    for hours in (2, 1, 0):
        at = (NOW - timedelta(hours=hours)).isoformat()
        assert _run(["drift", "run", "--at", at], tmp_path).exit_code == 0
    rows = json.loads(_run(["drift", "status", "--json", "--trend", "5"], tmp_path).output)
    assert rows and all(len(r["trend"]) == 3 and r["trend"][-1] == r["score"] for r in rows)
    res = _run(["drift", "status"], tmp_path)
    assert "DRIFT" in res.output and any(ch in res.output for ch in "▁▂▃▄▅▆▇█")
