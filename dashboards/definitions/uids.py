"""Stable dashboard uids: links between dashboards, alert `dashboard_url`s and the push use them.

Alert jobs (analytics/) cannot import this package; they build URLs as
`{grafana public_url}/d/{uid}` with the uids listed here (also in the README).
"""

COST = "inferledger-cost"
SHOWBACK = "inferledger-showback"
UNIT_ECONOMICS = "inferledger-unit-economics"
SLO = "inferledger-slo"
DRIFT = "inferledger-drift"
ANOMALY = "inferledger-anomaly"
GPU = "inferledger-gpu"
PIPELINE = "inferledger-pipeline"

# Which dashboard an alert of each `alert_records.source` links to.
BY_ALERT_SOURCE = {
    "slo": SLO,
    "budget": SHOWBACK,
    "unpriced": COST,
    "anomaly": ANOMALY,
    "drift": DRIFT,
    "ingest": PIPELINE,
}
