"""Showback: totals equal the sum of lines; FOCUS 1.2 columns, types and invariants; HTML; CLI."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings, GpuRate
from inferledger.analytics.cost.showback.build import build_showback, parse_month
from inferledger.analytics.cost.showback.focus import MANDATORY, TIME_COLUMNS
from inferledger.analytics.warehouse import open_warehouse
from tests.factories import insert_spans, span_row

# never talk to a service another test may have up on the default admin port
NO_SERVICE = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
FOCUS_USED = ["ConsumedQuantity", "ConsumedUnit", "ResourceId", "ResourceName", "ResourceType", "SkuId", "SkuPriceId",
              "SkuMeter", "ListUnitPrice", "SubAccountId", "SubAccountName", "Tags", "ServiceSubcategory",
              "ChargeFrequency"]


def seed(wh) -> None:
    rows = []
    start = datetime(2026, 10, 1)
    for i in range(400):
        t = start + timedelta(hours=i * 1.7)
        k = i % 5
        if k == 0:
            tier = {"openai.response.service_tier": "priority"} if i % 3 == 0 else {}
            rows.append(span_row(t, team="search", feature="answers", input_tokens=1000 + i, output_tokens=100,
                                 cache_read_tokens=200, attributes=tier))
        elif k == 1:
            rows.append(span_row(t, team="support", feature="chat", provider="anthropic", request_model="claude-sonnet-4-5",
                                 response_model="claude-sonnet-4-5-20250929", input_tokens=9000, cache_read_tokens=6000,
                                 cache_write_tokens=1000, output_tokens=300 + i))
        elif k == 2:
            rows.append(span_row(t, team="search", feature="rerank", provider="vllm", request_model="llama-3-8b",
                                 response_model=None, k8s_pod="vllm-0", input_tokens=500, output_tokens=50))
        elif k == 3:
            rows.append(span_row(t, team="ads", feature="copy", request_model="gpt-4o-mini",
                                 response_model="gpt-4o-mini-2024-07-18", input_tokens=2000, output_tokens=400,
                                 reasoning_tokens=0))
        else:
            rows.append(span_row(t, team="ads", feature="copy", request_model="no-such-model", response_model=None))
    # September, for month-over-month
    rows += [span_row(datetime(2026, 9, 20, h), team="search", feature="answers") for h in range(10)]
    insert_spans(wh, rows)
    g = [dict(time=start + timedelta(minutes=10 * i), host="node-1", gpu_uuid="GPU-1", gpu_index=0,
              gpu_model="NVIDIA H100 80GB HBM3", k8s_namespace="llm", k8s_pod="vllm-0", utilization=(i % 10) / 10)
         for i in range(6 * 24 * 31)]
    # bulk insert: a month of samples through executemany would dominate the test's time
    frame = pl.DataFrame(g).with_columns(pl.lit("default").alias("tenant"), pl.lit("dcgm").alias("vocabulary"),
                                         pl.lit(datetime(2026, 11, 1)).alias("ingested_at"))
    wh.con.register("__g", frame.to_arrow())
    wh.con.execute("INSERT INTO gpu_samples BY NAME SELECT * FROM __g")
    wh.con.unregister("__g")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Seeded, priced and reported once for the module: the report tests only read it."""
    tmp_path = tmp_path_factory.mktemp("showback")
    warehouse = open_warehouse(tmp_path / "test.duckdb")
    seed(warehouse)
    s = CostSettings(gpu_rates=[GpuRate("H100", 2.5)])
    update_costs(warehouse, s, datetime(2026, 11, 1))
    sb = build_showback(warehouse, s, "2026-10", tmp_path / "out")
    yield warehouse, sb, tmp_path / "out"
    warehouse.close()


def read_focus_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_totals_equal_the_sum_of_lines(built):
    wh, sb, out = built
    lines = wh.con.execute(
        "SELECT sum(cost) FROM cost_lines WHERE start_time >= '2026-10-01' AND start_time < '2026-11-01'").fetchone()[0]
    gpu = wh.con.execute(
        "SELECT sum(cost) FROM gpu_allocations WHERE hour >= '2026-10-01' AND hour < '2026-11-01'").fetchone()[0]
    assert sb.total == lines + gpu
    assert gpu == Decimal("2.5") * 24 * 31  # every hour of the month sampled
    focus = read_focus_csv(out / "focus.csv")
    assert sum(Decimal(r["BilledCost"]) for r in focus) == sb.total
    for team in sb.teams:
        assert sum(Decimal(r["BilledCost"]) for r in focus if r["SubAccountId"] == team.team) == team.total
        assert team.gpu_allocated + team.gpu_idle <= team.total
    with open(out / "showback.csv", newline="") as fh:
        assert sum(Decimal(r["cost"]) for r in csv.DictReader(fh)) == sb.total
    search = next(t for t in sb.teams if t.team == "search")
    assert search.previous > 0 and search.mom is not None


def test_focus_columns_types_and_invariants(built):
    _, sb, out = built
    focus = read_focus_csv(out / "focus.csv")
    assert focus, "no FOCUS rows"
    header = set(focus[0])
    assert set(MANDATORY) <= header and set(FOCUS_USED) <= header
    base = {*MANDATORY, *FOCUS_USED}
    assert all(c in base or c.startswith("x_") for c in header), header - base
    for r in focus:
        for c in TIME_COLUMNS:
            assert ISO_Z.match(r[c]), (c, r[c])
        cps, cpe = (datetime.fromisoformat(r[c][:-1]) for c in ("ChargePeriodStart", "ChargePeriodEnd"))
        bps, bpe = (datetime.fromisoformat(r[c][:-1]) for c in ("BillingPeriodStart", "BillingPeriodEnd"))
        assert cpe == cps + timedelta(days=1)  # exclusive end
        assert (bps, bpe) == (datetime(2026, 10, 1), datetime(2026, 11, 1)) and bps <= cps < cpe <= bpe
        assert Decimal(r["ListCost"]) == Decimal(r["ListUnitPrice"]) * Decimal(r["PricingQuantity"])
        assert r["ChargeCategory"] == "Usage" and r["ChargeClass"] == ""
        assert r["ServiceCategory"] == "AI and Machine Learning" and r["ServiceSubcategory"] == "Generative AI"
        assert r["ChargeFrequency"] == "Usage-Based" and r["BillingCurrency"] == "USD"
        assert r["PricingUnit"] in ("Tokens", "GPU-Hours") and r["ConsumedUnit"] == r["PricingUnit"]
        assert Decimal(r["BilledCost"]) == Decimal(r["EffectiveCost"]) == Decimal(r["ContractedCost"])
        assert Decimal(r["BilledCost"]) >= 0 and Decimal(r["PricingQuantity"]) >= 0
        if r["PricingUnit"] == "Tokens":
            assert Decimal(r["ListCost"]) == Decimal(r["BilledCost"])  # list price is what was billed
        else:
            assert abs(Decimal(r["ListCost"]) - Decimal(r["BilledCost"])) < Decimal("1e-6")
        for c in ("BillingAccountId", "InvoiceIssuerName", "ProviderName", "PublisherName", "ServiceName",
                  "ChargeDescription", "SubAccountId", "SkuId"):
            assert r[c], c
        json.loads(r["Tags"])
    assert {r["x_ChargeClass"] for r in focus} >= {"input", "cache_read", "cache_write", "output", "gpu_workload", "gpu_idle"}
    assert {r["x_ServiceTier"] for r in focus} == {"", "priority"}
    assert not any(r["ResourceId"] == "no-such-model" for r in focus)  # unpriced is never a $0 cost row
    table = pq.read_table(out / "focus.parquet")
    assert table.num_rows == len(focus)
    for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice", "PricingQuantity"):
        assert pa.types.is_decimal(table.schema.field(c).type), c
    for c in TIME_COLUMNS:
        t = table.schema.field(c).type
        assert pa.types.is_timestamp(t) and t.tz == "UTC", (c, t)
    assert sum(Decimal(v) for v in table.column("BilledCost").to_pylist()) == sb.total


def test_html_has_a_page_per_team_with_charts_and_unpriced(built):
    _, sb, out = built
    html = (out / "showback.html").read_text()
    for team in ("search", "support", "ads"):
        assert f"<h2>{team}</h2>" in html
    assert html.count("<svg") >= 1 + 3 * len(sb.teams)
    assert "no-such-model" in html and "Unpriced usage" in html
    assert "GPU: allocated vs idle" in html and "http" not in html.split("</style>")[0]  # self-contained
    ads = next(t for t in sb.teams if t.team == "ads")
    assert ads.unpriced and ads.unpriced[0]["spans"] == 80


def test_month_is_validated():
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month("2026-13")
    assert parse_month("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))


@pytest.mark.slow
def test_cli_report_and_prices_check(tmp_path):
    from inferledger.cli import cli

    db = tmp_path / "wh.duckdb"
    wh = open_warehouse(db)
    seed(wh)
    wh.close()
    runner = CliRunner()
    res = runner.invoke(cli, ["--db", str(db), "report", "showback", "--month", "2026-10", "--out",
                              str(tmp_path / "r"), "--json"], env=NO_SERVICE)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["focus_rows"] > 0 and (tmp_path / "r" / "focus.parquet").exists()
    assert Decimal(summary["total"]) == sum(Decimal(t["total"]) for t in summary["teams"])
    res = runner.invoke(cli, ["--db", str(db), "prices", "check", "--json"], env=NO_SERVICE)
    assert res.exit_code == 0, res.output
    check = json.loads(res.output)
    assert [(u["provider"], u["model"], u["spans"]) for u in check["unpriced"]] == [("openai", "no-such-model", 80)]
    assert check["ok"] is False and check["catalog"]["models"] > 1000
    res = runner.invoke(cli, ["--db", str(db), "report", "showback", "--month", "2026-1"], env=NO_SERVICE)
    assert res.exit_code != 0 and "YYYY-MM" in res.output


@pytest.mark.slow
def test_cli_reprice_dry_run_then_real(tmp_path):
    from inferledger.cli import cli

    db = tmp_path / "wh.duckdb"
    wh = open_warehouse(db)
    seed(wh)
    wh.close()
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[analytics.cost.overrides]]\nmodel = "no-such-model"\ninput_cost_per_token = 1e-6\n'
                   'output_cost_per_token = 1e-6\n')
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(db), "prices", "check", "--json"], env=NO_SERVICE).exit_code == 0
    dry = runner.invoke(cli, ["--config", str(cfg), "--db", str(db), "prices", "reprice", "--dry-run", "--json"], env=NO_SERVICE)
    assert dry.exit_code == 0, dry.output
    d = json.loads(dry.output)
    [change] = d["changes"]
    assert change["model"] == "no-such-model" and Decimal(change["new_cost"]) == Decimal("0.096")  # 80 x 1200 tokens
    real = runner.invoke(cli, ["--config", str(cfg), "--db", str(db), "prices", "reprice", "--json"], env=NO_SERVICE)
    assert json.loads(real.output)["new_total"] == d["new_total"]
    check = json.loads(runner.invoke(cli, ["--config", str(cfg), "--db", str(db), "prices", "check", "--json"], env=NO_SERVICE).output)
    assert check["unpriced"] == []


@pytest.mark.slow
def test_admin_routes_answer_like_the_cli(warehouse, tmp_path, settings):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from inferledger.analytics.cost.routes import ROUTES

    seed(warehouse)
    app = Starlette(routes=ROUTES)
    app.state.warehouse, app.state.settings = warehouse, settings
    client = TestClient(app)
    check = client.get("/admin/cost/check").json()
    assert [u["model"] for u in check["unpriced"]] == ["no-such-model"]
    r = client.post("/admin/cost/showback", json={"month": "2026-10", "out": str(tmp_path / "sb")})
    assert r.status_code == 200 and (tmp_path / "sb" / "showback.html").exists()
    assert client.post("/admin/cost/showback", json={"month": "Oct"}).status_code == 400
    dry = client.post("/admin/cost/reprice", json={"dry_run": True}).json()
    assert dry["dry_run"] is True and dry["old_total"] == dry["new_total"]


@pytest.mark.slow
def test_monthly_job_writes_last_months_report(built, settings, tmp_path):
    from inferledger.analytics.jobs import REGISTRY, JobContext, run_job

    wh, sb, _ = built
    settings.analytics.cost.showback_dir = str(tmp_path / "reports")  # else beside the warehouse
    out = run_job(REGISTRY["cost.showback"], JobContext(wh, settings, now=datetime(2026, 11, 1, 2, 30)))
    assert out == str(tmp_path / "reports" / "2026-10") and (tmp_path / "reports" / "2026-10" / "focus.csv").exists()
    nothing = run_job(REGISTRY["cost.showback"], JobContext(wh, settings, now=datetime(2026, 8, 1, 2, 30)))
    assert nothing.startswith("no cost data for 2026-07")


@pytest.mark.server
def test_cli_asks_the_running_service(tmp_path):
    from inferledger.cli import cli
    from tests.harness import running_service

    db = tmp_path / "svc.duckdb"
    wh = open_warehouse(db)
    seed(wh)
    wh.close()
    with running_service(db) as (service, eps):
        env = {"INFERLEDGER_SERVER__ADMIN": eps.admin.removeprefix("http://")}
        runner = CliRunner()
        res = runner.invoke(cli, ["--db", str(db), "report", "showback", "--month", "2026-10", "--out",
                                  str(tmp_path / "r"), "--json"], env=env)
        assert res.exit_code == 0, res.output
        assert (tmp_path / "r" / "focus.parquet").exists() and json.loads(res.output)["focus_rows"] > 0
        res = runner.invoke(cli, ["--db", str(db), "prices", "check", "--json"], env=env)
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["unpriced"][0]["model"] == "no-such-model"
        res = runner.invoke(cli, ["--db", str(db), "prices", "reprice", "--dry-run", "--json"], env=env)
        assert res.exit_code == 0 and json.loads(res.output)["dry_run"] is True


def test_default_report_folder_is_beside_the_warehouse(tmp_path):
    s = CostSettings()
    assert s.report_dir(str(tmp_path / "wh.duckdb"), "2026-10") == tmp_path / "showback" / "2026-10"
    assert CostSettings(showback_dir="/srv/r").report_dir("x.duckdb", "2026-10") == Path("/srv/r/2026-10")
