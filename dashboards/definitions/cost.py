"""Money dashboards: cost overview, team showback, model unit economics."""

from __future__ import annotations

from inferledger.dashboards.definitions import filters as f
from inferledger.dashboards.definitions import uids
from inferledger.dashboards.definitions.board import Board
from inferledger.dashboards.definitions.board import Target as T

S = "inferledger_spend_window_usd"  # event-time window gauges (dashboards.families.spend)


def cost_overview() -> Board:
    b = Board(uids.COST, "InferLedger / Cost overview",
              "Where inference money goes: token spend by team, model and provider, GPU cost, unpriced traffic.",
              annotation_sources=("unpriced",))
    b.row("Month to date (event time, as in the showback)")
    b.stat("Token spend, month to date",
           [T(f'sum({S}{{{f.MTD}, cost_kind="tokens", {f.COST}}})')], unit="currencyUSD", decimals=2)
    b.stat("GPU cost, month to date", [T(f'sum({S}{{{f.MTD}, cost_kind="gpu", {f.COST}}})')],
           unit="currencyUSD", decimals=2,
           description="Whole-GPU cost attributed to teams, workload use plus the idle capacity they held.")
    b.row("Over the selected range")
    b.stat("Requests", [T(f"sum(increase(inferledger_requests_total{{{f.SPANS}}}[$__range]))")])
    b.stat("Tokens", [T(f'sum(increase(inferledger_tokens_total{{{f.SPANS}, type=~"input|output"}}[$__range]))')])
    b.row("Spend per hour (the last complete hour, by event time)")
    b.timeseries("Spend per hour by team",
                 [T(f"sum by (team) ({S}{{{f.LAST_HOUR}, {f.COST}}})", "{{team}}")],
                 unit="currencyUSD", stacked=True,
                 links=[("Team showback", f.link_to(uids.SHOWBACK, team="team"))])
    b.timeseries("Spend per hour by model",
                 [T(f"sum by (model) ({S}{{{f.LAST_HOUR}, {f.COST}}})", "{{model}}")],
                 unit="currencyUSD", stacked=True,
                 links=[("Unit economics", f.link_to(uids.UNIT_ECONOMICS, model="model"))])
    b.timeseries("Spend per hour by provider",
                 [T(f"sum by (provider) ({S}{{{f.LAST_HOUR}, {f.COST}}})", "{{provider}}")],
                 unit="currencyUSD", stacked=True)
    b.timeseries("GPU cost per hour: allocated vs idle",
                 [T(f"sum by (kind) (rate(inferledger_gpu_cost_usd_total[$__rate_interval])) * {f.PER_HOUR}",
                    "{{kind}}")], unit="currencyUSD", stacked=True,
                 links=[("GPU fleet", f.link_to(uids.GPU))])
    b.row("Who and what")
    b.bars("Top teams by spend, month to date",
           [T(f"topk(10, sum by (team) ({S}{{{f.MTD}, {f.COST}}}))", "{{team}}")],
           unit="currencyUSD", links=[("Team showback", f.link_to(uids.SHOWBACK, team="team"))])
    b.bars("Unpriced requests by model",
           [T(f"sum by (model) (increase(inferledger_unpriced_requests_total{{{f.COST}}}[$__range]))", "{{model}}")],
           description="Models with no price in the catalog: their cost is missing from every figure here.")
    return b


def team_showback() -> Board:
    b = Board(uids.SHOWBACK, "InferLedger / Team showback",
              "What each team spent, on which models, against its monthly budget.",
              annotation_sources=("budget",))
    b.row("Selected teams, month to date (event time, as in the showback)")
    b.stat("Token spend", [T(f'sum({S}{{{f.MTD}, cost_kind="tokens", {f.COST}}})')],
           unit="currencyUSD", decimals=2)
    b.stat("GPU cost attributed", [T(f'sum({S}{{{f.MTD}, cost_kind="gpu", {f.COST}}})')],
           unit="currencyUSD", decimals=2)
    b.stat("Requests", [T(f"sum(increase(inferledger_requests_total{{{f.SPANS}}}[$__range]))")])
    b.stat("Error ratio",
           [T(f"sum(increase(inferledger_request_errors_total{{{f.SPANS}}}[$__range])) / "
              f"sum(increase(inferledger_requests_total{{{f.SPANS}}}[$__range]))")], unit="percentunit")
    b.row("Budget (current month)")
    b.bars("Budget used",
           [T(f"sum by (team, feature) (inferledger_budget_spent_usd{{{f.TEAM}}}) / "
              f"sum by (team, feature) (inferledger_budget_usd{{{f.TEAM}}})", "{{team}} / {{feature}}")],
           unit="percentunit", max_value=1.0)
    b.bars("Forecast at month end vs budget",
           [T(f"sum by (team, feature) (inferledger_budget_forecast_usd{{{f.TEAM}}}) / "
              f"sum by (team, feature) (inferledger_budget_usd{{{f.TEAM}}})", "{{team}} / {{feature}}")],
           unit="percentunit", max_value=1.5)
    b.row("Spend")
    b.timeseries("Spend per hour by model",
                 [T(f"sum by (model) ({S}{{{f.LAST_HOUR}, {f.COST}}})", "{{model}}")],
                 unit="currencyUSD", stacked=True)
    b.timeseries("GPU cost per hour by team",
                 [T(f"sum by (team, kind) (rate(inferledger_gpu_team_cost_usd_total{{{f.TEAM}}}[$__rate_interval]))"
                    f" * {f.PER_HOUR}", "{{team}} {{kind}}")], unit="currencyUSD", stacked=True)
    b.table("Spend by team and model, month to date",
            [T(f"sum by (team, model) ({S}{{{f.MTD}, {f.COST}}})", "Spend month to date (USD)"),
             T(f"sum by (team, model) (increase(inferledger_requests_total{{{f.SPANS}}}[$__range]))",
               "Requests")],
            unit="short")
    return b


def unit_economics() -> Board:
    b = Board(uids.UNIT_ECONOMICS, "InferLedger / Model unit economics",
              "Cost per request and per million tokens by model, next to latency and errors.")
    b.row("Unit cost (trailing window of the exporter)")
    b.bars("Cost per million tokens", [T(f"inferledger_cost_per_million_tokens_usd{{{f.MODEL}}}", "{{model}}")],
           unit="currencyUSD", span=8)
    b.bars("Cost per request", [T(f"inferledger_cost_per_request_usd{{{f.MODEL}}}", "{{model}}")],
           unit="currencyUSD", span=8)
    b.bars("Cost per successful request",
           [T(f"inferledger_cost_per_successful_request_usd{{{f.MODEL}}}", "{{model}}")], unit="currencyUSD", span=8)
    b.row("Usage and quality")
    b.timeseries("Tokens per second by model and type",
                 [T(f"sum by (model, type) (rate(inferledger_tokens_total{{{f.SPANS}}}[$__rate_interval]))",
                    "{{model}} {{type}}")])
    b.timeseries("Mean latency by model",
                 [T(f"sum by (model) (rate(inferledger_request_duration_seconds_sum{{{f.SPANS}}}[$__rate_interval]))"
                    f" / sum by (model) (rate(inferledger_request_duration_seconds_count{{{f.SPANS}}}"
                    "[$__rate_interval]))", "{{model}}")], unit="s")
    b.timeseries("Error ratio by model",
                 [T(f"sum by (model) (rate(inferledger_request_errors_total{{{f.SPANS}}}[$__rate_interval]))"
                    f" / sum by (model) (rate(inferledger_requests_total{{{f.SPANS}}}[$__rate_interval]))",
                    "{{model}}")], unit="percentunit")
    b.timeseries("Tokens per request by model",
                 [T(f"sum by (model) (increase(inferledger_tokens_total{{{f.SPANS}, type=~\"input|output\"}}[$__range]))"
                    f" / sum by (model) (increase(inferledger_requests_total{{{f.SPANS}}}[$__range]))", "{{model}}")])
    return b
