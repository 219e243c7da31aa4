"""Anomaly detection on cost, token, latency and GPU series.

- `settings`: the detector's parameters and the `[analytics.anomaly]` section;
- `detectors`: the scoring API over the numba kernel (`analytics/kernels/anomaly_*.py`);
- `series`: the watched series, pulled out of the warehouse;
- `explain`: which team, model or feature moved most;
- `job`: the scheduled job writing `anomalies` rows and alert records;
- `csv_score` / `chart`: `inferledger anomaly score` (NAB results format, SVG picture);
- `store` / `routes`: reading stored anomalies, locally or over the admin API.
"""
