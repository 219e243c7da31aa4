"""On the Dask engine the single-node SLO, drift and anomaly jobs stand down for `lake.analyze`;
the GPU usage partials merge to the single node's weights and pod models."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from inferledger.analytics.anomaly.job import detect_job
from inferledger.analytics.cost.gpu import USAGE_SQL, pod_models_from_spans
from inferledger.analytics.drift.job import drift_job
from inferledger.analytics.jobs import JobContext
from inferledger.analytics.lake.gpu import USAGE_KEYS, merge_usage
from inferledger.analytics.lake.tasks import POD_MODEL_SQL
from inferledger.analytics.lake.writeback import analyze_job
from inferledger.analytics.slo.job import slo_job
from inferledger.config import Settings
from tests.factories import insert_spans, span_row

NOW = datetime(2026, 10, 2, 12)


def test_single_node_jobs_stand_down_on_the_dask_engine(warehouse, tmp_path):
    settings = Settings()
    ctx = JobContext(warehouse, settings, NOW)
    assert analyze_job(ctx) is None  # the default engine: lake.analyze does nothing
    settings.engine.kind = "dask"
    settings.lake.path = str(tmp_path / "lake")
    for job in (slo_job, drift_job, detect_job):
        assert "lake.analyze" in job(ctx)
    assert "scheduler" in analyze_job(ctx)  # no cluster of its own inside the service
    assert warehouse.con.execute("SELECT count(*) FROM alert_records").fetchall()[0][0] == 0


def test_usage_partials_merge_to_the_single_node_weights_and_pod_models(warehouse):
    rows = []
    for i in range(60):
        pod = ["vllm-a-7d9f8c6b5-x2k4q", "vllm-b-6c8d7e5f4-p9q8r", None][i % 3]
        model = ["llama", "qwen"][i % 7 == 0]
        rows.append(span_row(NOW + timedelta(minutes=7 * i), k8s_pod=pod, request_model=model, response_model=model,
                             team=["a", "b"][i % 2], input_tokens=100 + i, output_tokens=i,
                             server_address=None if pod else "vllm-a.llm.svc"))
    insert_spans(warehouse, rows)
    start, end = NOW, NOW + timedelta(hours=8)
    whole = pl.from_arrow(warehouse.con.sql(USAGE_SQL, params=[start, end]).to_arrow_table())
    # the same spans as three partitions (by hour), each summed on its own
    parts, pods = [], []
    for h in range(0, 8, 3):
        lo, hi = start + timedelta(hours=h), min(end, start + timedelta(hours=h + 3))
        parts.append(warehouse.con.sql(USAGE_SQL, params=[lo, hi]).to_arrow_table())
        pods.append(warehouse.con.sql(POD_MODEL_SQL, params=[lo, hi, lo, hi]).to_arrow_table())
    usage, models = merge_usage(parts, pods)
    assert usage.sort(USAGE_KEYS).to_dicts() == whole.group_by(USAGE_KEYS).agg(pl.col("w").sum()).sort(USAGE_KEYS).to_dicts()
    assert models == pod_models_from_spans(warehouse, start, end)
