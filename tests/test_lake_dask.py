"""Dask over the lake equals the single-node warehouse: showback (HTML, CSV, FOCUS) and SLO burn,
with a real `dask scheduler` and two `dask worker` processes, on a local directory and through
an S3 API server; and two `serve` nodes sealing into one lake with spans resent across them."""

from __future__ import annotations

import csv
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.cost.showback.build import build_showback
from inferledger.analytics.lake.engine import RunStats
from inferledger.analytics.lake.export import export_range
from inferledger.analytics.lake.showback import showback_dask
from inferledger.analytics.lake.slo import evaluate_dask
from inferledger.analytics.lake.store import open_lake
from inferledger.analytics.slo.engine import evaluate
from inferledger.analytics.slo.job import run_evaluation
from inferledger.analytics.slo.spec import parse_text
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.cli import cli
from tests.factories import insert_spans, span_row
from tests.harness import service_process
from tests.slo_helpers import insert_traffic

pytestmark = [pytest.mark.server, pytest.mark.slow]
NO_SERVICE = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}


def month_spans() -> tuple[list[dict], list[dict]]:
    """Two nodes' spans for October 2026 (and September, for month over month); 30 spans reached both."""
    rows = []
    start = datetime(2026, 10, 1)
    for i in range(200):
        t = start + timedelta(hours=i * 1.1)
        k = i % 5
        tenant = "acme" if i % 3 else "beta"
        if k == 0:
            tier = {"openai.response.service_tier": "priority"} if i % 4 == 0 else {}
            rows.append(span_row(t, tenant=tenant, team="search", feature="answers", input_tokens=1000 + i,
                                 output_tokens=100, cache_read_tokens=200, attributes=tier))
        elif k == 1:
            rows.append(span_row(t, tenant=tenant, team="support", feature="chat", provider="anthropic",
                                 request_model="claude-sonnet-4-5", response_model="claude-sonnet-4-5-20250929",
                                 input_tokens=9000, cache_read_tokens=6000, cache_write_tokens=1000,
                                 output_tokens=300 + i))
        elif k == 2:
            rows.append(span_row(t, tenant=tenant, team="ads", feature="copy", request_model="gpt-4o-mini",
                                 response_model="gpt-4o-mini-2024-07-18", input_tokens=2000, output_tokens=400))
        elif k == 3:
            rows.append(span_row(t, tenant=tenant, team="ads", feature="copy", request_model="no-such-model",
                                 response_model=None))
        else:
            rows.append(span_row(t, tenant=tenant, team="search", feature="rerank", total_tokens=900,
                                 input_tokens=None, output_tokens=None))
    rows += [span_row(datetime(2026, 9, 20, h), team="search", feature="answers") for h in range(10)]
    return rows[:130], rows[100:]


def sorted_csv(path: Path) -> list[list[str]]:
    with path.open() as fh:
        r = list(csv.reader(fh))
    return [r[0], *sorted(r[1:])]


def build_reference_and_lake(tmp_path: Path, lake_uri: str) -> tuple[Path, CostSettings]:
    """Node a and b seal into the lake; the reference warehouse holds their union, each span once."""
    node_a, node_b = month_spans()
    lake = open_lake(lake_uri)
    for node, rows in (("a", node_a), ("b", node_b)):
        w = open_warehouse(":memory:")
        insert_spans(w, rows)
        export_range(w, lake, node, None, None)
        w.close()
    ref = open_warehouse(":memory:")
    insert_spans(ref, node_a + node_b)  # INSERT OR IGNORE: the resent 30 once
    assert ref.con.execute("SELECT count(*) FROM spans").fetchall()[0][0] == 210
    cs = CostSettings()
    update_costs(ref, cs, datetime(2026, 11, 15))
    build_showback(ref, cs, "2026-10", tmp_path / "single")
    ref.close()
    return tmp_path / "single", cs


def assert_same_showback(single: Path, other: Path) -> None:
    # the single node orders its CSV by day, team, feature, provider, model: tenants in any order
    assert sorted_csv(single / "showback.csv") == sorted_csv(other / "showback.csv")
    assert (single / "showback.html").read_text() == (other / "showback.html").read_text()
    # FOCUS rows carry no defined order: the same rows, every column to the last decimal
    assert sorted_csv(single / "focus.csv") == sorted_csv(other / "focus.csv")
    a, b = pq.read_table(single / "focus.parquet"), pq.read_table(other / "focus.parquet")
    assert a.schema == b.schema and sorted(map(str, a.to_pylist())) == sorted(map(str, b.to_pylist()))


@pytest.mark.parametrize("where", ["local", "s3"])
def test_showback_on_dask_equals_single_node(tmp_path, client, s3_lake, where):
    uri = str(tmp_path / "lake") if where == "local" else s3_lake.replace("/lake?", f"/{tmp_path.name}?")
    single, cs = build_reference_and_lake(tmp_path, uri)
    stats = RunStats()
    sb = showback_dask(client, uri, cs, "2026-10", tmp_path / "dask", stats)
    assert_same_showback(single, tmp_path / "dask")
    assert sb.total > 0 and len(sb.teams) == 3
    assert len(stats.peak_rss_by_worker) == 2  # both worker processes took partitions
    # the keys pass counts every copy it read (240), the cost pass each span once (210)
    assert stats.bytes_read > 0 and stats.rows == 240 + 210


def test_cli_contract_export_then_showback_on_dask(tmp_path, scheduler):
    node_a, node_b = month_spans()
    db = tmp_path / "wh.duckdb"
    w = open_warehouse(db)
    insert_spans(w, node_a + node_b)
    w.close()
    lake = tmp_path / "lake"
    runner = CliRunner(env=NO_SERVICE)
    r = runner.invoke(cli, ["--db", str(db), "--lake", str(lake), "lake", "export"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["--db", str(db), "report", "showback", "--month", "2026-10", "--out", str(tmp_path / "single"),
                            "--json"])
    assert r.exit_code == 0, r.output
    single_total = json.loads(r.output)["total"]
    r = runner.invoke(cli, ["--lake", str(lake), "--engine", "dask", "--scheduler", scheduler, "report", "showback",
                            "--month", "2026-10", "--out", str(tmp_path / "dask"), "--json"])
    assert r.exit_code == 0, r.output
    dask_summary = json.loads(r.output)
    assert dask_summary["total"] == single_total
    assert dask_summary["teams"] and dask_summary["files"]["html"].startswith(str(tmp_path / "dask"))
    assert_same_showback(tmp_path / "single", tmp_path / "dask")


def test_slo_burn_on_dask_equals_single_node(tmp_path, client):
    specs = parse_text("""
service: chat-api
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli: availability
    filters: {model: gpt-4o}
  - name: latency
    objective: 99
    window: 28d
    sli: {type: latency, threshold_s: 2}
  - name: mini-availability
    objective: 99.5
    window: 30d
    sli: availability
    filters: {model: gpt-4o-mini}
""")
    now = datetime(2026, 3, 4, 12, 0, 30)
    ref = open_warehouse(":memory:")
    # two days of traffic, an outage 3 h before now, slow calls, a second model
    insert_traffic(ref, now - timedelta(days=2), 2 * 24 * 60, 3, error_every=200, error_minutes=(2700, 2720),
                   slow_every=50, tag="a")
    insert_traffic(ref, now - timedelta(hours=30), 30 * 60, 1, error_every=7, model="gpt-4o-mini", tag="b")
    lake = open_lake(str(tmp_path / "lake"))
    export_range(ref, lake, "n1", None, None, now=now)
    # the open hour and one already sealed, as a second node that got them resent would seal them
    export_range(ref, lake, "n2", now - timedelta(hours=2, seconds=30), now + timedelta(hours=1), now=now)
    single = run_evaluation(ref, specs, now)
    assert single["slos"] == 3
    ref_states = {s.spec.id: s for s in evaluate(ref, specs, now)}
    stats = RunStats()
    states = evaluate_dask(client, lake.uri, specs, now, stats)
    assert len(states) == 3
    fired = 0
    for st in states:
        r = ref_states[st.spec.id]
        assert st.window_events == r.window_events
        assert st.burn_rates == r.burn_rates
        assert (st.period_bad, st.period_total, st.budget_remaining) == (r.period_bad, r.period_total, r.budget_remaining)
        assert (st.page, st.ticket, st.tiers) == (r.page, r.ticket, r.tiers)
        fired += st.page or st.ticket
    assert fired  # the comparison covers a firing SLO, not only quiet ones
    # three tenant-days; the hours both nodes sealed are read twice and counted once
    assert stats.tasks == 3 and stats.rows == 2 * 24 * 60 * 3 + 30 * 60


def test_two_serve_nodes_seal_into_one_lake_and_resent_spans_count_once(tmp_path):
    from tests.otlp_builders import span, traces

    lake = tmp_path / "lake"
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    t0 = int((start - datetime(1970, 1, 1)).total_seconds() * 1e9)
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
             "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
    batch = [span(attrs, start=t0 + i * 60_000_000_000) for i in range(50)]
    extra_a = [span(attrs, start=t0 + i * 61_000_000_000) for i in range(5)]
    extra_b = [span(attrs, start=t0 + i * 62_000_000_000) for i in range(7)]
    for node, extra in (("node-a", extra_a), ("node-b", extra_b)):
        env = {**NO_SERVICE, "INFERLEDGER_LAKE__PATH": str(lake), "INFERLEDGER_LAKE__NODE_ID": node}
        env.pop("INFERLEDGER_SERVER__ADMIN")
        with service_process(tmp_path / f"{node}.duckdb", env) as (_, eps):
            for body in (traces(batch), traces(batch[:20]), traces(extra)):  # a resend within the node, too
                r = httpx.post(f"{eps.http}/v1/traces", content=body.SerializeToString(),
                               headers={"Content-Type": "application/x-protobuf"})
                assert r.status_code == 200
            for _ in range(100):
                if httpx.get(f"{eps.admin}/admin/stats").json()["tables"]["spans"] >= 50 + len(extra):
                    break
                time.sleep(0.1)
            r = httpx.post(f"{eps.admin}/admin/jobs/run", params={"name": "lake.seal"}, json={}, timeout=60)
            (res,) = r.json()
            assert res["status"] == "ok", res
    files = sorted(p.name for p in lake.rglob("*.parquet"))
    assert any(f.endswith(".node-a.parquet") for f in files) and any(f.endswith(".node-b.parquet") for f in files)
    rows, distinct = duckdb.sql(
        f"SELECT count(*), count(DISTINCT (tenant, trace_id, span_id)) FROM read_parquet('{lake}/spans/**/*.parquet')"
    ).fetchall()[0]
    assert rows == 2 * 50 + 5 + 7  # each node sealed its own copy of the resent 50
    assert distinct == 50 + 5 + 7  # a reader deduping on the key counts them once
    r = CliRunner(env=NO_SERVICE).invoke(cli, ["--lake", str(lake), "lake", "status", "--json"])
    assert sorted(n["node"] for n in json.loads(r.output)["nodes"]) == ["node-a", "node-b"]
