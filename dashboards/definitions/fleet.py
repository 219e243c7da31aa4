"""Infrastructure dashboards: GPU fleet and allocation, ingest and pipeline health."""

from __future__ import annotations

from inferledger.dashboards.definitions import filters as f
from inferledger.dashboards.definitions import uids
from inferledger.dashboards.definitions.board import Board
from inferledger.dashboards.definitions.board import Target as T


def gpu_fleet() -> Board:
    b = Board(uids.GPU, "InferLedger / GPU fleet and allocation",
              "How busy the GPUs are and who pays for them: cost allocated to workloads vs idle.",
              variables=())
    b.row("Fleet")
    b.stat("GPUs reporting", [T("sum(inferledger_gpus)")])
    b.stat("Mean utilisation", [T("sum(inferledger_gpu_utilization_ratio * inferledger_gpus) / sum(inferledger_gpus)")],
           unit="percentunit")
    b.stat("Idle share of GPU cost",
           [T('sum(increase(inferledger_gpu_cost_usd_total{kind="idle"}[$__range])) / '
              "sum(increase(inferledger_gpu_cost_usd_total[$__range]))")], unit="percentunit")
    b.stat("Power draw", [T("sum(inferledger_gpu_power_watts)")], unit="watt")
    b.row("Utilisation")
    b.timeseries("Utilisation by host", [T("inferledger_gpu_utilization_ratio", "{{host}} {{gpu_model}}")],
                 unit="percentunit")
    b.timeseries("Memory used by host",
                 [T("inferledger_gpu_memory_used_bytes / inferledger_gpu_memory_total_bytes", "{{host}} {{gpu_model}}")],
                 unit="percentunit")
    b.row("Allocation")
    b.timeseries("GPU cost per hour by namespace and kind",
                 [T(f"sum by (namespace, kind) (rate(inferledger_gpu_cost_usd_total[$__rate_interval])) * {f.PER_HOUR}",
                    "{{namespace}} {{kind}}")], unit="currencyUSD", stacked=True)
    b.bars("GPU-hours by model and kind",
           [T("sum by (gpu_model, kind) (increase(inferledger_gpu_allocated_seconds_total[$__range])) / 3600",
              "{{gpu_model}} {{kind}}")])
    return b


def pipeline_health() -> Board:
    b = Board(uids.PIPELINE, "InferLedger / Ingest and pipeline health",
              "OTLP ingest, warehouse freshness, analytics jobs and alert delivery.",
              variables=(), annotation_sources=("ingest",))
    b.row("Ingest")
    b.timeseries("Items acknowledged per second", [T("sum by (signal) (rate(inferledger_ingest_spans_total[$__rate_interval]))",
                                                     "{{signal}}")], span=8)
    b.timeseries("Export requests per second by code",
                 [T("sum by (transport, code) (rate(inferledger_ingest_requests_total[$__rate_interval]))",
                    "{{transport}} {{code}}")], span=8)
    b.timeseries("Rejected per second by reason",
                 [T("sum by (reason) (rate(inferledger_ingest_rejected_total[$__rate_interval]))", "{{reason}}")], span=8)
    b.timeseries("Group commit p99",
                 [T("histogram_quantile(0.99, sum by (le) (rate(inferledger_ingest_commit_seconds_bucket[$__rate_interval])))",
                    "p99")], unit="s", span=8)
    b.timeseries("Ingest queue depth", [T("inferledger_ingest_queue_depth", "queue")], span=8)
    b.stat("Seconds since last span", [T('time() - inferledger_warehouse_last_ingest_timestamp_seconds{table="spans"}')],
           unit="s", span=8, height=8)
    b.row("Jobs")
    b.timeseries("Job runs per hour by outcome",
                 [T("sum by (job, status) (increase(inferledger_job_runs_total[1h]))", "{{job}} {{status}}")], span=12)
    b.table("Seconds since each job last succeeded",
            [T("time() - inferledger_job_last_success_timestamp_seconds", "Since last success"),
             T("inferledger_job_last_duration_seconds", "Last run took")],
            span=12)
    b.row("Alert delivery")
    b.timeseries("Outbox depth by receiver", [T("inferledger_alert_outbox_depth", "{{receiver}}")], span=8)
    b.timeseries("Notifications per hour by state",
                 [T("sum by (receiver, state) (increase(inferledger_alert_notifications_total[1h]))",
                    "{{receiver}} {{state}}")], span=8)
    b.bars("Firing alerts by source", [T("sum by (source) (inferledger_alerts_firing)", "{{source}}")], span=8)
    b.row("Exporter")
    b.table("Metric families up", [T("inferledger_exporter_family_up", "Up"),
                                   T("inferledger_exporter_family_duration_seconds", "Seconds")])
    return b
