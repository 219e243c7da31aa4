"""Monthly budgets per team (optionally per feature): consumption, forecast, alert records.

Inference spend is strongly weekly (weekday traffic, quiet weekends), so the month-end
forecast learns a weekday rate and a weekend rate from the last
`forecast_lookback_days` complete days and applies each to the days left of its kind;
a flat daily average would overshoot every Friday and undershoot every Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from inferledger.analytics.alert_records import AlertRecord, firing_fingerprints, resolved_records, write_alert_records
from inferledger.analytics.cost.settings import Budget, CostSettings
from inferledger.analytics.warehouse import Warehouse

SOURCE = "budget"


def month_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, 1)
    end = datetime(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return start, end


def forecast_month_end(daily: dict[date, Decimal], now: datetime, lookback_days: int) -> Decimal:
    """Month-to-date spend plus the expected spend of the rest of the month.

    `daily` maps each day to its spend (today's entry is today so far). Weekday and
    weekend rates come from the complete days in the lookback window; a kind of day
    with no history borrows the other kind's rate.
    """
    today = now.date()
    m_start, m_end = month_bounds(today)
    spent = sum((v for d, v in daily.items() if m_start.date() <= d <= today), Decimal(0))
    history = [today - timedelta(days=i) for i in range(1, lookback_days + 1)]
    # days before the first recorded spend are not zero-spend days, just no data
    first_seen = min(daily) if daily else today
    wk = [daily.get(d, Decimal(0)) for d in history if d.weekday() < 5 and d >= first_seen]
    we = [daily.get(d, Decimal(0)) for d in history if d.weekday() >= 5 and d >= first_seen]
    wk_rate = sum(wk, Decimal(0)) / len(wk) if wk else None
    we_rate = sum(we, Decimal(0)) / len(we) if we else None
    if wk_rate is None and we_rate is None:
        # no complete day yet: extrapolate today's pace
        elapsed = Decimal((now - datetime.combine(today, datetime.min.time())).total_seconds()) / 86400
        rate = daily.get(today, Decimal(0)) / elapsed if elapsed > 0 else Decimal(0)
        wk_rate = we_rate = rate
    wk_rate = wk_rate if wk_rate is not None else we_rate
    we_rate = we_rate if we_rate is not None else wk_rate
    rest_of_today = 1 - Decimal((now - datetime.combine(today, datetime.min.time())).total_seconds()) / 86400
    remaining = (wk_rate if today.weekday() < 5 else we_rate) * rest_of_today
    d = today + timedelta(days=1)
    while d < m_end.date():
        remaining += wk_rate if d.weekday() < 5 else we_rate
        d += timedelta(days=1)
    return spent + remaining


@dataclass
class BudgetState:
    team: str
    feature: str
    budget: Decimal
    spent: Decimal
    forecast: Decimal

    @property
    def consumed(self) -> float:
        return float(self.spent / self.budget)


def daily_spend(wh: Warehouse, budget: Budget, start: datetime, end: datetime) -> dict[date, Decimal]:
    sql = "SELECT CAST(hour AS DATE), sum(cost) FROM cost_rollup_hourly WHERE team = ? AND hour >= ? AND hour < ?"
    params: list = [budget.team, start, end]
    if budget.feature:
        sql += " AND feature = ?"
        params.append(budget.feature)
    rows = wh.con.execute(sql + " GROUP BY 1", params).fetchall()
    return {d: Decimal(v) for d, v in rows}


def evaluate_budgets(wh: Warehouse, settings: CostSettings, now: datetime) -> list[BudgetState]:
    """Spend and forecast of every configured budget for the month of `now`; stores `budget_status`."""
    m_start, m_end = month_bounds(now.date())
    states = []
    for b in settings.budgets:
        daily = daily_spend(wh, b, min(m_start, now - timedelta(days=settings.forecast_lookback_days + 1)), m_end)
        spent = sum((v for d, v in daily.items() if d >= m_start.date()), Decimal(0))
        fc = forecast_month_end(daily, now, settings.forecast_lookback_days)
        budget = Decimal(repr(b.monthly))
        states.append(BudgetState(b.team, b.feature, budget, spent, fc))
        wh.con.execute(
            "INSERT OR REPLACE INTO budget_status VALUES (?, ?, ?, ?, ?, ?, ?)",
            [m_start.date(), b.team, b.feature, budget, spent, fc, now],
        )
    return states


def highest_crossed(state: BudgetState, thresholds: list[float]) -> float | None:
    """The highest threshold (fraction of the budget) the spend has reached, None below all."""
    crossed = [t for t in thresholds if state.spent >= state.budget * Decimal(repr(t))]
    return max(crossed) if crossed else None


def budget_alerts(states: list[BudgetState], settings: CostSettings, now: datetime,
                  firing: dict[str, dict]) -> list[AlertRecord]:
    """Records to write: new threshold crossings and forecasts, resolutions of cleared ones."""
    month = now.strftime("%Y-%m")
    wanted: dict[str, AlertRecord] = {}
    for s in states:
        base = {"team": s.team, "feature": s.feature or "*", "month": month}
        money = {"budget": str(s.budget), "spent": str(s.spent.quantize(Decimal("0.01"))),
                 "forecast": str(s.forecast.quantize(Decimal("0.01"))), "consumed": round(s.consumed, 4)}
        who = s.team + (f"/{s.feature}" if s.feature else "")
        # the highest threshold crossed only: a spike through 50, 80 and 100 % is one alert, not three
        crossed = highest_crossed(s, settings.budget_thresholds)
        if crossed is not None:
            pct = f"{round(crossed * 100)}%"
            r = AlertRecord(
                SOURCE, "InferenceBudgetConsumed", {**base, "threshold": pct},
                "ticket" if crossed >= 1 else "info", "firing",
                f"{who} has used {s.consumed:.0%} of its {month} inference budget ({pct} threshold)",
                now, description=f"spent {money['spent']} of {s.budget} {settings.currency}", values=money,
            )
            wanted[r.fingerprint] = r
        # once the budget is spent, "forecast to exceed" says nothing new: the consumption alert stands
        if s.forecast > s.budget and s.spent < s.budget:
            r = AlertRecord(
                SOURCE, "InferenceBudgetForecastExceeded", base, "ticket", "firing",
                f"{who} is forecast to spend {money['forecast']} {settings.currency} in {month}, over its budget of {s.budget}",
                now, values=money,
            )
            wanted[r.fingerprint] = r
    return [r for fp, r in wanted.items() if fp not in firing] + resolved_records(
        SOURCE, firing, wanted, now, severity="info",
        summary=lambda labels: f"budget condition cleared for {labels.get('team')} ({labels.get('month')})",
    )


def check_budgets(wh: Warehouse, settings: CostSettings, now: datetime) -> dict:
    states = evaluate_budgets(wh, settings, now)
    records = budget_alerts(states, settings, now, firing_fingerprints(wh, SOURCE))
    write_alert_records(wh, records)
    return {"budgets": len(states), "alert_records": len(records)}

