"""Budgets: weekday/weekend forecast by hand, threshold and forecast alert records, resolution."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from inferledger.analytics.alert_records import firing_fingerprints
from inferledger.analytics.cost.budgets import check_budgets, forecast_month_end
from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import Budget, CostSettings, PriceOverride
from tests.factories import insert_spans, span_row


def test_forecast_knows_weekdays_from_weekends():
    # November 2026: the 1st is a Sunday. History: weekdays $10, weekends $2.
    daily = {}
    d = date(2026, 10, 4)
    while d < date(2026, 11, 10):
        daily[d] = Decimal(10) if d.weekday() < 5 else Decimal(2)
        d += timedelta(days=1)
    now = datetime(2026, 11, 10)  # midnight: the 10th (Tuesday) has not started
    daily.pop(date(2026, 11, 10), None)
    fc = forecast_month_end(daily, now, 28)
    # spent 1..9 Nov: Sun 2, Mon-Fri 50, Sat 2, Sun 2, Mon 10 = 66.
    # rest 10..30 Nov: weekdays 10,11,12,13, 16-20, 23-27, 30 = 15 days -> 150; weekends 14,15,21,22,28,29 -> 12
    assert fc == Decimal(66 + 150 + 12)
    flat = sum(daily[date(2026, 11, 9) - timedelta(days=i)] for i in range(28)) / 28 * 30
    assert fc != flat  # a flat average would say otherwise


def test_forecast_extrapolates_the_first_day():
    now = datetime(2026, 11, 1, 6)
    fc = forecast_month_end({date(2026, 11, 1): Decimal(1)}, now, 28)
    assert fc == Decimal(4) * 30  # $1 in 6 h -> $4 a day


def _spend(wh, day: datetime, usd: Decimal, team="search"):
    # toy-priced spans: 1 output token = $1
    n = int(usd)
    insert_spans(wh, [span_row(day + timedelta(minutes=i), provider="openai", request_model="dollar-model",
                               response_model=None, input_tokens=0, output_tokens=1, team=team) for i in range(n)])


@pytest.mark.slow
def test_threshold_and_forecast_alerts_fire_once_and_resolve_next_month(warehouse):
    s = CostSettings(budgets=[Budget("search", monthly=100.0), Budget("search", "answers", 1000.0)],
                     overrides=[PriceOverride(model="dollar-model", input_cost_per_token=0, output_cost_per_token=1.0)])
    _spend(warehouse, datetime(2026, 11, 2, 9), Decimal(55))
    now = datetime(2026, 11, 2, 18)
    update_costs(warehouse, s, now)
    check_budgets(warehouse, s, now)
    firing = sorted(
        (l["alertname"], l.get("threshold", ""), l["feature"]) for l in firing_fingerprints(warehouse, "budget").values()
    )
    # 55% of the team budget, and $55 on day two of November forecasts far over $100
    assert firing == [("InferenceBudgetConsumed", "50%", "*"), ("InferenceBudgetForecastExceeded", "", "*"),
                      ("InferenceBudgetForecastExceeded", "", "answers")]
    check_budgets(warehouse, s, now)
    assert warehouse.con.execute("SELECT count(*) FROM alert_records WHERE source='budget'").fetchone()[0] == 3
    _spend(warehouse, datetime(2026, 11, 3, 9), Decimal(50))
    update_costs(warehouse, s, now + timedelta(days=1))
    check_budgets(warehouse, s, now + timedelta(days=1))
    # the highest threshold crossed replaces the lower one: one consumption alert per budget
    thresholds = [l.get("threshold") for l in firing_fingerprints(warehouse, "budget").values()
                  if l["alertname"] == "InferenceBudgetConsumed"]
    assert thresholds == ["100%"]
    status = warehouse.con.execute("SELECT spent, budget FROM budget_status WHERE feature = ''").fetchone()
    assert status == (Decimal("105"), Decimal("100"))
    # a new month: November's conditions resolve, December starts clean
    check_budgets(warehouse, s, datetime(2026, 12, 1, 1))
    assert firing_fingerprints(warehouse, "budget") == {}
    resolved = warehouse.con.execute(
        "SELECT count(*) FROM alert_records WHERE source='budget' AND status='resolved'").fetchone()[0]
    assert resolved == 4  # 50% (superseded by 100%), then 100% and both forecasts


@pytest.mark.slow
def test_a_spike_through_every_threshold_sends_one_consumption_alert(warehouse):
    s = CostSettings(budgets=[Budget("search", monthly=100.0)],
                     overrides=[PriceOverride(model="dollar-model", input_cost_per_token=0, output_cost_per_token=1.0)])
    _spend(warehouse, datetime(2026, 11, 20, 9), Decimal(120))
    now = datetime(2026, 11, 20, 18)
    update_costs(warehouse, s, now)
    check_budgets(warehouse, s, now)
    consumed = warehouse.con.execute(
        "SELECT labels->>'threshold' FROM alert_records WHERE source = 'budget' AND alertname = 'InferenceBudgetConsumed'"
    ).fetchall()
    assert consumed == [("100%",)]
