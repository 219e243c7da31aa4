"""Reliability and model-behaviour dashboards: SLOs and error budgets, drift, anomalies.

SLO metric names follow Sloth's meaning with exporter spelling (Sloth's recording
rules `slo:sli_error:ratio_rate<window>`, `slo:error_budget:ratio`,
`slo:current_burn_rate:ratio`, `slo:objective:ratio` are rule names; the exporter
publishes the same quantities as `inferledger_slo_*` with the window as a label).
"""

from __future__ import annotations

from inferledger.dashboards.definitions import uids
from inferledger.dashboards.definitions.board import Board
from inferledger.dashboards.definitions.board import Target as T

SLO_SEL = 'slo=~"$slo"'


def alerts_firing(b: Board, source: str) -> Board:
    return b.table(f"Firing {source} alerts",
                   [T(f'sum by (alertname, severity) (inferledger_alerts_firing{{source="{source}"}})', "Firing")],
                   span=24, height=6)


def slo_budgets() -> Board:
    b = Board(uids.SLO, "InferLedger / SLOs and error budgets",
              "Error budget remaining and multiwindow burn rates of every inference SLO (SRE Workbook, Sloth names).",
              variables=("slo",), annotation_sources=("slo",))
    b.row("Budgets")
    b.bars("Error budget remaining", [T(f"inferledger_slo_error_budget_remaining_ratio{{{SLO_SEL}}}", "{{slo}}")],
           unit="percentunit", max_value=1.0, span=12)
    b.bars("Burn rate, 1h window", [T(f'inferledger_slo_burn_rate{{{SLO_SEL}, window="1h"}}', "{{slo}}")],
           span=12, description="1 means the budget lasts exactly the SLO period; 14.4 pages (2% in 1h).")
    b.row("Burn over time")
    b.timeseries("Burn rate by window",
                 [T(f"inferledger_slo_burn_rate{{{SLO_SEL}}}", "{{slo}} {{window}}")], span=12)
    b.timeseries("SLI error ratio (5m) vs allowed",
                 [T(f'inferledger_slo_sli_error_ratio{{{SLO_SEL}, window="5m"}}', "{{slo}} error ratio"),
                  T(f"1 - inferledger_slo_objective_ratio{{{SLO_SEL}}}", "{{slo}} allowed")],
                 unit="percentunit", span=12)
    b.table("SLO status",
            [T(f"inferledger_slo_objective_ratio{{{SLO_SEL}}}", "Objective"),
             T(f"inferledger_slo_error_budget_remaining_ratio{{{SLO_SEL}}}", "Budget remaining"),
             T(f'inferledger_slo_burn_rate{{{SLO_SEL}, window="6h"}}', "Burn rate 6h")])
    return alerts_firing(b, "slo")


def drift() -> Board:
    b = Board(uids.DRIFT, "InferLedger / Drift",
              "Distribution drift of prompts, outputs and usage against each monitor's reference window.",
              variables=(), annotation_sources=("drift",))
    b.row("Now")
    b.stat("Drifted columns", [T("sum(inferledger_drift_detected)")], span=6)
    b.bars("Drifted columns by monitor", [T("sum by (monitor) (inferledger_drift_detected)", "{{monitor}}")],
           span=18, description="Latest run per monitor (segment) and column.")
    b.table("Latest drift results",
            [T("inferledger_drift_score", "Score"), T("inferledger_drift_threshold", "Threshold"),
             T("inferledger_drift_detected", "Drifted")],
            description="ks, chisquare and z report p-values (drift below the threshold); the others distances "
                        "(drift above it).")
    b.row("Over time")
    b.timeseries("Drift score by column", [T("inferledger_drift_score", "{{monitor}} {{column}} ({{method}})")],
                 span=24)
    return alerts_firing(b, "drift")


def anomalies() -> Board:
    b = Board(uids.ANOMALY, "InferLedger / Anomalies",
              "Streaming anomaly scores (0-1) of cost, traffic, latency and error series.",
              variables=(), annotation_sources=("anomaly",))
    b.row("Now")
    b.stat("Series scoring above 0.9", [T("count(inferledger_anomaly_score > 0.9) or vector(0)")], span=6)
    b.bars("Highest scores", [T("topk(10, inferledger_anomaly_score)", "{{series}}")], max_value=1.0, span=18)
    b.row("Over time")
    b.timeseries("Anomaly score by series", [T("inferledger_anomaly_score", "{{series}}")], span=24)
    return alerts_firing(b, "anomaly")
