"""`inferledger demo` end to end: SDK exporters -> service -> warehouse -> jobs -> alerts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from inferledger.analytics.warehouse import open_warehouse
from tests.harness import free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_demo_backfills_runs_jobs_and_delivers_alerts(tmp_path):
    db = tmp_path / "demo.duckdb"
    env = {
        **os.environ,
        "INFERLEDGER_SERVER__OTLP_HTTP": f"127.0.0.1:{free_port()}",
        "INFERLEDGER_SERVER__OTLP_GRPC": f"127.0.0.1:{free_port()}",
        "INFERLEDGER_SERVER__ADMIN": f"127.0.0.1:{free_port()}",
        "COLUMNS": "200",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "inferledger", "--db", str(db), "demo", "--days", "1.5", "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    sent, landed = map(lambda s: int(s.replace(",", "")), re.search(r"spans\s*[│|]\s*([\d,]+)\s*[│|]\s*([\d,]+)", out).groups())
    assert sent == landed > 1000
    runs = re.search(r"job runs: (\d+) \((\d+) failed\)", out)
    assert int(runs.group(1)) >= 5 and runs.group(2) == "0", out[-4000:]
    assert "notifications received by the demo webhook" in out and "[FIRING" in out
    assert (tmp_path / "out" / "grafana" / "provisioning").is_dir()
    # FinOps at work: the fleet's own inventory reconciles, the spike breaches the budget once
    assert "every pool's GPU time is covered" in out and "warning:" not in out, out[-6000:]
    assert len(re.findall(r"\[FIRING\s*\] \w+ InferenceBudgetConsumed", out)) == 1, out[-6000:]
    # the cost spike pages, led by the spend of the spike's own team, feature or model
    # (which of them is most unusual depends on the hour the demo runs: its history ends now)
    assert re.search(r'InferenceAnomaly: spend_\w+\{(team="growth"|feature="campaign-copy"|model="gpt-4o[-\d]*")\}', out), out[-6000:]

    # The "next" commands work as printed, from where the demo ran, once it has exited.
    printed = out.split("next (after the demo exits):\n", 1)[1].splitlines()
    nexts = [line.strip() for line in printed if line.startswith("  ")]
    assert len(nexts) >= 3 and all(f"--db {db}" in c for c in nexts), nexts
    for command in nexts:
        ran = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=600)
        assert ran.returncode == 0, f"{command}\n{ran.stdout[-2000:]}{ran.stderr[-2000:]}"

    wh = open_warehouse(db)
    con = wh.con
    assert con.execute("SELECT count(*) FROM spans").fetchone()[0] == landed
    vocabularies = {v for (v,) in con.execute("SELECT DISTINCT vocabulary FROM spans").fetchall()}
    assert {"otel_genai", "otel_genai_deprecated", "openinference", "openllmetry_0.4", "openllmetry_0.5", "openlit"} <= vocabularies
    assert con.execute("SELECT count(DISTINCT gpu_uuid) FROM gpu_samples").fetchone()[0] >= 8
    assert con.execute("SELECT count(*) FROM spans WHERE team = 'unassigned'").fetchone()[0] == 0
    # 16 H100s at the default $2.99 for the 1.5 days the backfill covers, MIG GPU billed once
    gpu_cost = float(con.execute("SELECT sum(cost) FROM gpu_allocations").fetchone()[0])
    assert gpu_cost == pytest.approx(16 * 36 * 2.99, rel=0.01)
    wh.close()
