"""Anomaly detection on cost, token, latency and GPU series (issue 6).

`detectors` holds the configuration and the one-call scoring API, `series` pulls
the series out of the warehouse, `explain` finds the dimension that moved most,
and `job` is the scheduled job that writes anomalies and alert records.
"""
