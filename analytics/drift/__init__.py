"""Drift detection with Evidently 0.7's numbers, computed by numba kernels.

profile.py   fit-once summaries (sorted sample, std, counts) of a reference / window
methods.py   Evidently's default test choice, thresholds, binning; one scorer per method
compare.py   two tables -> per-column results (the `drift compare` path)
features.py  per-span features from the warehouse
job.py       the scheduled job: per segment, results + alert records
store.py     SQL on drift_results
report.py    Evidently's own HTML report for one segment, on a sample
"""
