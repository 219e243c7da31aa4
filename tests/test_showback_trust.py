"""Showback a person can trust: month to date compares like with like, an empty month says so,
money is exact decimals, idle GPU cost is shown by pool, axes use round ticks."""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings, GpuPool, GpuRate, PriceOverride
from inferledger.analytics.cost.showback.build import build_showback
from inferledger.analytics.cost.showback.charts import nice_ticks
from inferledger.analytics.warehouse import open_warehouse
from inferledger.cli import cli
from tests.factories import insert_gpu_samples, insert_spans, span_row

NO_SERVICE = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}
DOLLAR = [PriceOverride(model="dollar-model", input_cost_per_token=0, output_cost_per_token=1.0)]
# a float sum of these is 1285.9499999999998; the exact sum is 1285.95
CENTS = [Decimal("0.1"), Decimal("0.2"), Decimal("1285.65")]


@pytest.mark.slow
def test_month_in_progress_is_month_to_date_against_the_same_days(warehouse, tmp_path):
    # $10 every day of November, $12 on December 1st (one span each, $1 an output token)
    insert_spans(warehouse, [span_row(datetime(2026, 11, d, 8), provider="openai", request_model="dollar-model",
                                      response_model=None, input_tokens=0, output_tokens=10, team="search")
                             for d in range(1, 31)]
                 + [span_row(datetime(2026, 12, 1, 8), provider="openai", request_model="dollar-model",
                             response_model=None, input_tokens=0, output_tokens=12, team="search")])
    s = CostSettings(overrides=DOLLAR)
    now = datetime(2026, 12, 1, 20)
    update_costs(warehouse, s, now)
    sb = build_showback(warehouse, s, "2026-12", tmp_path / "dec", now=now)
    [team] = sb.teams
    # $12 on Dec 1 against Nov 1 until 20:00 ($10), not against the whole of November ($300)
    assert team.total == 12 and team.previous == 10 and team.mom == 0.2
    html = (tmp_path / "dec" / "showback.html").read_text()
    assert "month to date, as of 2026-12-01 20:00 UTC" in html
    assert "same 0.8 days of the previous month" in html
    closed = build_showback(warehouse, s, "2026-11", None, now=now)
    assert closed.as_of is None and closed.teams[0].total == 300 and closed.period_label == "whole month"


@pytest.mark.slow
def test_empty_month_says_no_data_and_strict_exits_non_zero(tmp_path):
    db = str(tmp_path / "w.duckdb")
    open_warehouse(db).close()  # an empty warehouse, as `serve` leaves it (a missing one is an error)
    runner = CliRunner()
    res = runner.invoke(cli, ["--db", db, "report", "showback", "--month", "2026-03", "--out", str(tmp_path / "o")],
                        env=NO_SERVICE)
    assert res.exit_code == 0 and "no data for 2026-03" in res.output
    assert "No data for 2026-03" in (tmp_path / "o" / "showback.html").read_text()
    strict = runner.invoke(cli, ["--db", db, "report", "showback", "--month", "2026-03", "--strict",
                                 "--out", str(tmp_path / "o")], env=NO_SERVICE)
    assert strict.exit_code == 1 and "no data for 2026-03" in strict.output


@pytest.mark.slow
def test_money_in_csv_and_focus_is_exact_decimals(warehouse, tmp_path):
    # one span per amount, output tokens priced at $0.05: exact in decimal, noisy in binary
    insert_spans(warehouse, [span_row(datetime(2026, 10, 3, 9 + i), provider="openai", request_model="nickel-model",
                                      response_model=None, input_tokens=0, output_tokens=int(c / Decimal("0.05")),
                                      team="search") for i, c in enumerate(CENTS)])
    insert_gpu_samples(warehouse, [dict(time=datetime(2026, 10, 3, 9) + timedelta(seconds=15 * i), host="n",
                                        gpu_uuid="G", gpu_index=0, gpu_model="NVIDIA H100", k8s_namespace="llm",
                                        k8s_pod="vllm-0", utilization=0.37) for i in range(333)])
    s = CostSettings(overrides=[PriceOverride(model="nickel-model", input_cost_per_token=0, output_cost_per_token=0.05)],
                     gpu_rates=[GpuRate("H100", 2.99)], gpu_pools=[GpuPool("h100", "H100", 1)])
    update_costs(warehouse, s, datetime(2026, 11, 1))
    sb = build_showback(warehouse, s, "2026-10", tmp_path / "o", now=datetime(2026, 11, 1))
    noise = re.compile(r"\d\.\d*(?:9999999|0000001)\d*$")
    for name in ("showback.csv", "focus.csv"):
        for row in csv.DictReader((tmp_path / "o" / name).open()):
            for col, v in row.items():
                assert not noise.search(v.rstrip("0")), f"{name} {col} = {v}: float noise"
    token = sum((Decimal(r["token_cost"]) for r in csv.DictReader((tmp_path / "o" / "showback.csv").open())), Decimal(0))
    assert token == sum(CENTS)
    html = (tmp_path / "o" / "showback.html").read_text()
    assert 'id="reconciliation"' in html and "idle cost" in html
    [pool] = sb.pools
    assert pool.idle_cost > 0 and pool.allocated_cost == sum(
        (Decimal(r["gpu_cost"]) for r in csv.DictReader((tmp_path / "o" / "showback.csv").open())), Decimal(0))


def test_axis_ticks_are_round():
    for v, want in [(589.55, [0, 200, 400, 600]), (1285.95, [0, 500, 1000, 1500]), (7.3, [0, 2, 4, 6, 8]),
                    (3725.61, [0, 1000, 2000, 3000, 4000])]:
        assert nice_ticks(v) == want
    for v in (0.013, 3.3, 47, 12345.6):
        ticks = nice_ticks(v)
        step = ticks[1]
        assert ticks[-1] >= v and len(ticks) <= 6
        assert re.fullmatch(r"[125]0*|0\.0*[125]", f"{step:g}".replace("e-0", "e-")) or f"{step:g}" in ("0.005",)
