"""Benchmark: drift, anomaly scoring and GPU allocation on Dask over the lake vs the single node, same run.

    .venv/bin/python -m benchmarks.bench_lake_analytics --spans 400000 [--workers 2]

Generates eight days of spans (two tenants, four services x models, one segment's
prompts tripled on the last day) and one GPU's samples every 15 s straight into a
warehouse, and seals them into a lake as two nodes. Then it runs each job on the
warehouse (single node) and on a local Dask cluster of K worker processes over the
lake, and prints the times side by side with a check that the answers agree.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 20, 12, 0, 0)
SPANS_SQL = """
INSERT INTO spans BY NAME
SELECT CASE WHEN i % 3 = 0 THEN 'beta' ELSE 'acme' END AS tenant, printf('%032x', i) AS trace_id,
       printf('%016x', i) AS span_id, ts AS start_time, ts + INTERVAL 1 SECOND AS end_time,
       0.2 + (hash(i) % 3000) / 1000.0 AS duration_s, (hash(i + 7) % 200 = 0) AS is_error,
       ['chat-api', 'rag'][i % 2 + 1] AS service_name, ['search', 'ads', 'support'][i % 3 + 1] AS team,
       'answers' AS feature, 'openai' AS provider, ['gpt-4o', 'gpt-4o-mini'][(i // 2) % 2 + 1] AS request_model,
       ['gpt-4o-2024-08-06', 'gpt-4o-mini-2024-07-18'][(i // 2) % 2 + 1] AS response_model,
       CAST((500 + hash(i) % 1500) * CASE WHEN ts >= TIMESTAMP '{cur}' AND i % 4 = 1 THEN 3 ELSE 1 END AS BIGINT)
           AS input_tokens,
       CAST(50 + hash(i + 1) % 500 AS BIGINT) AS output_tokens, 'chat' AS operation, 'stop' AS finish_reason,
       CASE WHEN i % 5 = 0 THEN 'vllm-llama-7d9f8c6b5-x2k4q' END AS k8s_pod,
       'otel_genai' AS vocabulary, TIMESTAMP '{now}' AS ingested_at
FROM (SELECT i, TIMESTAMP '{start}' + to_microseconds(CAST(i * ({span_us} // {n}) AS BIGINT)) AS ts
      FROM range({n}) t(i))
"""
GPU_SQL = """
INSERT INTO gpu_samples BY NAME
SELECT TIMESTAMP '{start}' + to_microseconds(CAST(i * 15000000 AS BIGINT)) AS time, 'acme' AS tenant,
       'node-1' AS host, 'GPU-a' AS gpu_uuid, 0 AS gpu_index, 'NVIDIA H100 80GB HBM3' AS gpu_model,
       'llm' AS k8s_namespace, 'vllm-llama-7d9f8c6b5-x2k4q' AS k8s_pod, 0.2 + (hash(i) % 600) / 1000.0 AS utilization,
       'dcgm' AS vocabulary, TIMESTAMP '{now}' AS ingested_at
FROM range({n}) t(i)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from inferledger.analytics.anomaly.job import run_detection
    from inferledger.analytics.anomaly.settings import AnomalySettings
    from inferledger.analytics.cost.gpu import allocate_window
    from inferledger.analytics.cost.job import update_costs
    from inferledger.analytics.cost.settings import CostSettings, GpuRate
    from inferledger.analytics.drift.job import detect_drift
    from inferledger.analytics.drift.settings import DriftSettings
    from inferledger.analytics.lake.anomaly import run_detection_dask
    from inferledger.analytics.lake.drift import detect_drift_dask
    from inferledger.analytics.lake.engine import RunStats, dask_client
    from inferledger.analytics.lake.export import export_range
    from inferledger.analytics.lake.gpu import allocate_window_dask
    from inferledger.analytics.lake.store import open_lake
    from inferledger.analytics.warehouse import open_warehouse

    tmp = Path(tempfile.mkdtemp(prefix="bench_lake_analytics_"))
    start = NOW - timedelta(days=8)
    span_us = 8 * 86400 * 1_000_000
    ref = open_warehouse(tmp / "single.duckdb")
    _, t_gen = timed(lambda: ref.con.execute(SPANS_SQL.format(
        cur=NOW - timedelta(days=1), now=NOW, start=start, span_us=span_us, n=args.spans)))
    ref.con.execute(GPU_SQL.format(start=NOW - timedelta(days=1), now=NOW, n=86400 // 15))
    cs = CostSettings(gpu_rates=[GpuRate(gpu_model="H100", usd_per_hour=2.49)])
    _, t_cost = timed(lambda: update_costs(ref, cs, NOW))
    lake = open_lake(str(tmp / "lake"))
    _, t_seal = timed(lambda: export_range(ref, lake, "a", None, None, now=NOW + timedelta(days=1)))
    # a second node resent the last day
    export_range(ref, lake, "b", NOW - timedelta(days=1), NOW, now=NOW + timedelta(days=1))
    print(f"{args.spans:,} spans generated in {t_gen:.1f} s, priced in {t_cost:.1f} s, sealed in {t_seal:.1f} s"
          f" ({tmp}); figures from a shared, loaded 2-core machine")

    drift_cfg = DriftSettings()
    anomaly_cfg = AnomalySettings(lookback_hours=7 * 24)
    lo, hi = NOW - timedelta(days=1), NOW
    (win, single_drift), t_drift = timed(lambda: detect_drift(ref, drift_cfg, NOW))
    single_anom, t_anom = timed(lambda: run_detection(ref, anomaly_cfg, NOW))
    n_gpu, t_gpu = timed(lambda: allocate_window(ref, cs, lo, hi))
    single_bill = ref.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchall()[0][0]
    single_peak = peak_mb()
    target = open_warehouse(tmp / "dask.duckdb")
    with dask_client("", args.workers) as client:
        client.run(lambda: None)
        stats = RunStats()
        (dwin, dask_drift), d_drift = timed(lambda: detect_drift_dask(client, lake.uri, drift_cfg, NOW, cs, stats))
        d_gpu_n, d_gpu = timed(lambda: allocate_window_dask(client, lake.uri, target, cs, lo, hi, stats))
        dask_anom, d_anom = timed(lambda: run_detection_dask(client, lake.uri, target, anomaly_cfg, NOW, cs, stats))
    dask_bill = target.con.execute("SELECT sum(cost) FROM gpu_allocations").fetchall()[0][0]

    def verdicts(segs):
        return sorted((s.tenant, s.label, r.column, r.method, r.drifted) for s in segs for r in s.results)

    print(f"{'job':<10} {'single node':>12} {'dask x' + str(args.workers):>10}  same answer")
    print(f"{'drift':<10} {t_drift:>10.2f} s {d_drift:>8.2f} s  {verdicts(single_drift) == verdicts(dask_drift)}"
          f" ({sum(r.drifted for s in dask_drift for r in s.results)} drifted columns)")
    print(f"{'anomaly':<10} {t_anom:>10.2f} s {d_anom:>8.2f} s  "
          f"{(single_anom.series, single_anom.alarms) == (dask_anom.series, dask_anom.alarms)}"
          f" ({dask_anom.series} series, {dask_anom.alarms} alarms)")
    print(f"{'gpu':<10} {t_gpu:>10.2f} s {d_gpu:>8.2f} s  {single_bill == dask_bill} (bill {dask_bill} USD,"
          f" {d_gpu_n} lines)")
    s = stats.summary()
    print(f"dask: {s['tasks']} tasks, {s['bytes_read']:,} bytes of column chunks read, task seconds "
          f"{s['task_seconds_total']}, peak RSS per worker (MB) "
          f"{ {w: round(v / 2**20) for w, v in s['peak_rss_by_worker'].items()} }; single node peak {single_peak:.0f} MB")
    ref.close()
    target.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
