"""Worker tasks of drift, anomaly scoring and GPU allocation over one tenant-day partition of the lake.

Like `analytics.lake.partials`, each task reads only the columns it needs, keeps one
copy of each span (or GPU sample) resent to two collectors, prices the spans with
the client's price tables when the job needs cost, and hands back small Arrow
tables the client merges exactly:

- drift: the feature rows of the reference and current windows (the statistics need
  the values themselves; a KS test or a quantile bin edge has no additive summary);
- anomaly: sums per (bucket, team, feature, model) for the additive series (cost in
  exact decimals, tokens as integer-valued doubles), and for p95 latency, error
  rate and GPU utilisation the per-row values, because a quantile or a floating
  mean is only exact from the values;
- GPU allocation: the deduplicated samples, and the span weights and pod-model
  counts of `analytics.cost.gpu`, summed per group.

The worker warehouse is private to this module and runs single-threaded, so the
rows of a partition come back in the order of its (sorted) files.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pyarrow as pa

from inferledger.analytics.lake.partials import COST_COLUMNS, KEY_COLUMNS, _timed, read_files
from inferledger.analytics.warehouse import Warehouse, open_warehouse

DRIFT_COLUMNS = sorted(set(COST_COLUMNS + [
    "service_name", "operation", "server_address", "duration_s", "finish_reason", "error_type",
]))
ANOMALY_COLUMNS = sorted(set(COST_COLUMNS + ["duration_s"]))
GPU_SPAN_COLUMNS = sorted(set(KEY_COLUMNS + [
    "start_time", "k8s_pod", "host_name", "server_address", "team", "feature", "provider", "response_model",
    "request_model", "total_tokens", "input_tokens", "output_tokens",
]))
GPU_SAMPLE_COLUMNS = ["time", "tenant", "host", "gpu_uuid", "gpu_index", "gpu_model", "mig_profile", "mig_instance",
                      "k8s_namespace", "k8s_pod", "utilization"]
_local = threading.local()


def _warehouse() -> Warehouse:
    wh = getattr(_local, "wh", None)
    if wh is None:
        wh = _local.wh = open_warehouse(":memory:")
        wh.con.execute("SET threads = 1")  # partition rows keep their file order
    return wh


def _load(lake_uri: str, files: list[str], columns: list[str], prices: dict[str, pa.Table] | None,
          start: datetime, end: datetime) -> tuple[Warehouse, int, int]:
    """The partition's spans, one per key and sorted as the lake sorts them, priced when `prices` is given."""
    from inferledger.analytics.cost.lines import compute_cost_lines

    data, read = read_files(lake_uri, files, columns)
    wh = _warehouse()
    con = wh.con
    con.register("lake_part", data)
    try:
        con.execute("DROP TABLE IF EXISTS spans")
        con.execute("CREATE TABLE spans AS SELECT * FROM (SELECT DISTINCT ON (tenant, trace_id, span_id) *"
                    " FROM lake_part) ORDER BY start_time, trace_id, span_id")
    finally:
        con.unregister("lake_part")
    con.execute("DELETE FROM cost_lines")
    if prices:
        for name, table in prices.items():
            con.execute(f"DELETE FROM {name}")
            con.register("p", table)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM p")
            con.unregister("p")
        compute_cost_lines(wh, start=start, end=end)
    n = con.execute("SELECT count(*) FROM spans").fetchall()[0][0]
    return wh, read, n


@_timed
def drift_features(lake_uri: str, files: list[str], prices: dict[str, pa.Table] | None,
                   windows: list[tuple[datetime, datetime]], segment_keys: list[str],
                   attribute_columns: list[str], numeric_attribute_columns: list[str]) -> dict:
    """Per window: the feature rows of `analytics.drift.features` (unsampled), as Arrow."""
    from inferledger.analytics.drift.features import read_features

    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    wh, read, n = _load(lake_uri, files, DRIFT_COLUMNS, prices, lo, hi)
    out = []
    for start, end in windows:
        fs = read_features(wh, start, end, segment_keys=segment_keys, attribute_columns=attribute_columns,
                           numeric_attribute_columns=numeric_attribute_columns, max_rows=None)
        out.append((fs.frame.to_arrow(), fs.kinds))
    return {"partial": out, "bytes_read": read, "rows": n}


# The spans' model dimension (analytics.anomaly.series.SPAN_DIMS) computed once on the worker;
# the client keeps it in `request_model`, so the series' own SQL reads it unchanged.
_SPAN_MODEL = "coalesce(request_model, response_model, '')"


@_timed
def anomaly_parts(lake_uri: str, files: list[str], prices: dict[str, pa.Table] | None, start: datetime,
                  end: datetime, kinds: list[str]) -> dict:
    """The partition's contribution to every watched series in [start, end)."""
    from inferledger.analytics.anomaly.series import COST_SUM, SQUARES_EXPR, TOKENS_EXPR

    wh, read, n = _load(lake_uri, files, ANOMALY_COLUMNS, prices, start, end)
    con = wh.con
    out: dict[str, pa.Table] = {}
    span_window = "start_time >= ? AND start_time < ?"
    if {"spend_5m", "spend_1h"} & set(kinds):
        out["cost"] = con.sql(
            "SELECT time_bucket(INTERVAL 300 SECOND, start_time, TIMESTAMP '1970-01-01') AS start_time, team,"
            f" feature, coalesce(model, '') AS model, sum(cost) AS cost, count(*) AS n,"
            f" {SQUARES_EXPR[COST_SUM]}::DOUBLE AS sq FROM cost_lines WHERE {span_window}"
            " GROUP BY ALL", params=[start, end]).to_arrow_table()
        if out["cost"].num_rows == 0:
            # the instrumentation's own cost, used only when no partition has cost lines
            out["client_cost"] = con.sql(
                f"SELECT start_time, team, feature, {_SPAN_MODEL} AS request_model,"
                " NULL::VARCHAR AS response_model, client_cost_usd FROM spans"
                f" WHERE {span_window}", params=[start, end]).to_arrow_table()
    if {"spend_5m", "spend_1h", "tokens_1m"} & set(kinds):
        # integer-valued doubles: their sums are exact in any order (below 2**53)
        per_row = TOKENS_EXPR[len("sum("):-1]
        out["tokens"] = con.sql(
            "SELECT time_bucket(INTERVAL 60 SECOND, start_time, TIMESTAMP '1970-01-01') AS start_time, team,"
            f" feature, {_SPAN_MODEL} AS request_model, NULL::VARCHAR AS response_model, sum({per_row}) AS tokens,"
            f" count(*) AS n, {SQUARES_EXPR[TOKENS_EXPR]}::DOUBLE AS sq FROM spans WHERE {span_window} GROUP BY ALL",
            params=[start, end]).to_arrow_table()
    if {"latency_p95_5m", "error_rate_5m"} & set(kinds):
        out["spans"] = con.sql(
            f"SELECT start_time, team, feature, {_SPAN_MODEL} AS request_model, NULL::VARCHAR AS response_model,"
            f" duration_s, is_error FROM spans WHERE {span_window}", params=[start, end]).to_arrow_table()
    return {"partial": out, "bytes_read": read, "rows": n}


@_timed
def gpu_samples(lake_uri: str, files: list[str], start: datetime, end: datetime) -> dict:
    """The partition's GPU samples in [start, end), a sample resent to two collectors once."""
    data, read = read_files(lake_uri, files, GPU_SAMPLE_COLUMNS)
    con = _warehouse().cursor()
    try:
        con.register("g", data)
        rows = con.sql("SELECT DISTINCT * FROM g WHERE time >= ? AND time < ? ORDER BY ALL",
                       params=[start, end]).to_arrow_table()
    finally:
        con.close()
    return {"partial": rows, "bytes_read": read, "rows": rows.num_rows}


# Spans per (pod or service, model): `analytics.cost.gpu.pod_models_from_spans` before its arg_max.
POD_MODEL_SQL = """
        SELECT 'pod' AS via, k8s_pod AS key, coalesce(response_model, request_model) AS model, count(*) AS n
        FROM spans WHERE k8s_pod IS NOT NULL AND start_time >= ? AND start_time < ?
          AND coalesce(response_model, request_model) IS NOT NULL
        GROUP BY ALL
        UNION ALL
        SELECT 'service', split_part(server_address, '.', 1), coalesce(response_model, request_model), count(*)
        FROM spans WHERE server_address IS NOT NULL AND start_time >= ? AND start_time < ?
          AND coalesce(response_model, request_model) IS NOT NULL
        GROUP BY ALL
        """


@_timed
def gpu_span_usage(lake_uri: str, files: list[str], start: datetime, end: datetime) -> dict:
    """The span side of GPU allocation, summed per group: team weights and pod-model counts."""
    from inferledger.analytics.cost.gpu import USAGE_SQL

    wh, read, n = _load(lake_uri, files, GPU_SPAN_COLUMNS, None, start, end)
    con = wh.con
    usage = con.sql(USAGE_SQL, params=[start, end]).to_arrow_table()
    pods = con.sql(POD_MODEL_SQL, params=[start, end, start, end]).to_arrow_table()
    return {"partial": (usage, pods), "bytes_read": read, "rows": n}
