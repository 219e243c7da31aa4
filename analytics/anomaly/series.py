"""The watched series, pulled out of the warehouse as regular bucketed time series.

Spend comes from the cost engine's `cost_lines` when it has rows for the window;
before the cost engine has run (or on a warehouse without prices) it falls back to
the instrumentation's own `client_cost_usd`, then to token counts, and says so in
the series' unit. Additive series (spend, tokens) are dense: a bucket with no
traffic is a real zero. Ratio series (p95 latency, error rate, GPU utilisation)
have a point only where there was data; the detector treats the rest as gaps.

Only complete buckets are returned (a bucket still filling would look like a drop).

A ratio of few requests carries sampling error that the detector cannot see: the p95
of ten requests is the second-slowest of them, so one timed-out request makes a "p95
spike", and one failure in five requests is a 20 % error rate. Both series therefore
report a one-sided `CONFIDENCE_Z` lower confidence bound rather than the raw estimate:
for the p95 the order statistic at rank 0.95 n - z sqrt(0.95 * 0.05 n) (distribution
free), for the error rate the Wilson score lower bound. With many requests the bound
is the estimate; with few it moves only when most of the bucket moved.
Column names below come from fixed tables in this module, never from input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from inferledger.analytics.warehouse import Warehouse


@dataclass(frozen=True)
class Series:
    metric: str
    unit: str
    labels: dict[str, str]
    bucket_seconds: int
    ts: np.ndarray       # int64 epoch seconds of bucket starts, ascending
    values: np.ndarray   # float64
    # error-rate series: requests and failed requests per bucket (the counts behind the ratio)
    trials: np.ndarray | None = None
    events: np.ndarray | None = None
    # request sums (spend, tokens): sum of squared per-request values per bucket (requests in `trials`)
    squares: np.ndarray | None = None

    @property
    def key(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.metric}{{{inner}}}"

    @property
    def labels_json(self) -> str:
        return json.dumps(self.labels, sort_keys=True)


# dimension name -> column, per source table
SPAN_DIMS = {"team": "team", "feature": "feature", "model": "coalesce(request_model, response_model, '')"}
COST_DIMS = {"team": "team", "feature": "feature", "model": "coalesce(model, '')"}
BUCKETS = {"spend_5m": 300, "spend_1h": 3600, "tokens_1m": 60, "latency_p95_5m": 300,
           "error_rate_5m": 300, "gpu_util_5m": 300, "gpu_idle_cost_1h": 3600}
GPU_DIMS = {"pool": "coalesce(gpu_model, 'unknown')"}
ADDITIVE_DIMS = (None, "team", "model", "feature")


def floor_time(t: datetime, seconds: int) -> datetime:
    epoch = int((t - datetime(1970, 1, 1)).total_seconds())
    return datetime(1970, 1, 1) + timedelta(seconds=epoch - epoch % seconds)


def query_pl(wh: Warehouse, sql: str, params: list) -> pl.DataFrame:
    """Run a parameterised query and hand back a polars frame (through Arrow)."""
    return pl.from_arrow(wh.con.sql(sql, params=params).to_arrow_table())


def _has_rows(wh: Warehouse, table: str, time_col: str, start: datetime, end: datetime, extra: str = "") -> bool:
    if not wh.table_exists(table):
        return False
    sql = f"SELECT 1 FROM {table} WHERE {time_col} >= ? AND {time_col} < ? {extra} LIMIT 1"
    return len(wh.con.execute(sql, [start, end]).fetchall()) > 0


def spend_source(wh: Warehouse, start: datetime, end: datetime) -> tuple[str, str, dict[str, str], str]:
    """(table, value expression, dimension columns, unit) for spend in [start, end)."""
    if _has_rows(wh, "cost_lines", "start_time", start, end):
        return "cost_lines", COST_SUM, COST_DIMS, "usd"
    if _has_rows(wh, "spans", "start_time", start, end, "AND client_cost_usd IS NOT NULL"):
        return "spans", CLIENT_COST_SUM, SPAN_DIMS, "usd"
    return "spans", TOKENS_EXPR, SPAN_DIMS, "tokens"


COST_SUM = "sum(cost)::DOUBLE"
CLIENT_COST_SUM = "sum(coalesce(client_cost_usd, 0))::DOUBLE"


# one-sided 95 %: the ratio series report the value they exceed with that confidence
CONFIDENCE_Z = 1.645
_Z2 = CONFIDENCE_Z * CONFIDENCE_Z
# p95 lower confidence bound: the order statistic whose rank is that many standard errors below 0.95 n
P95_LOWER_EXPR = ("list_sort(list(duration_s))[greatest(1, floor(0.95 * count(*)"
                  f" - {CONFIDENCE_Z} * sqrt(0.0475 * count(*)))::BIGINT)]::DOUBLE")
# Wilson score lower bound of the error proportion
_ERR = "avg(CASE WHEN is_error THEN 1.0 ELSE 0.0 END)"
ERROR_RATE_LOWER_EXPR = (f"greatest(0.0, ({_ERR} + {_Z2 / 2} / count(*) - {CONFIDENCE_Z} * sqrt({_ERR} * (1 - {_ERR})"
                         f" / count(*) + {_Z2 / 4} / (count(*) * count(*)))) / (1 + {_Z2} / count(*)))::DOUBLE")

# Summed as DOUBLE: a BIGINT sum overflows on one stored span with INT64_MAX tokens.
TOKENS_ROW = ("coalesce(input_tokens, 0)::DOUBLE + coalesce(output_tokens, 0)::DOUBLE"
              " + CASE WHEN input_tokens IS NULL AND output_tokens IS NULL THEN coalesce(total_tokens, 0)::DOUBLE"
              " ELSE 0 END")
TOKENS_EXPR = f"sum({TOKENS_ROW})"
# per-request sums whose squares are summed too: a bucket's sampling noise (one row per request)
# (squared as DOUBLE: a DECIMAL(38, 18) product overflows from 10 USD up)
SQUARES_EXPR = {COST_SUM: "sum(cost::DOUBLE * cost::DOUBLE)", CLIENT_COST_SUM: "sum(coalesce(client_cost_usd, 0) ^ 2)",
                TOKENS_EXPR: f"sum(({TOKENS_ROW}) ^ 2)"}


def _grouped(wh: Warehouse, table: str, time_col: str, value_expr: str, dim_col: str | None,
             step: int, start: datetime, end: datetime, where: str = "", events_expr: str = "0",
             squares_expr: str = "0", count_expr: str = "count(*)") -> pl.DataFrame:
    dim = dim_col if dim_col is not None else "''"
    sql = (
        f"SELECT {dim} AS dim, time_bucket(to_seconds(?), {time_col}, TIMESTAMP '1970-01-01') AS bucket,"
        f" {value_expr} AS value, {count_expr} AS n, {events_expr}::DOUBLE AS k,"
        f" {squares_expr}::DOUBLE AS sq FROM {table}"
        f" WHERE {time_col} >= ? AND {time_col} < ? {where} GROUP BY ALL ORDER BY dim, bucket"
    )
    return query_pl(wh, sql, [step, start, end])


def _to_series(df: pl.DataFrame, metric: str, unit: str, dim_name: str | None, step: int,
               start: datetime, end: datetime, dense: bool, min_rows: int = 1,
               counts: bool = False, squares: bool = False) -> list[Series]:
    out = []
    if not dense and min_rows > 1:
        # a p95 or an error rate of three requests is noise: such buckets become gaps
        df = df.filter(pl.col("n") >= min_rows)
    if df.is_empty():
        return out
    df = df.with_columns(pl.col("bucket").cast(pl.Datetime("us")))
    for (dim_value,), part in df.group_by(["dim"], maintain_order=True):
        part = part.sort("bucket")
        if dense:
            grid = pl.DataFrame({"bucket": pl.datetime_range(part["bucket"][0], end - timedelta(seconds=step),
                                                           timedelta(seconds=step), time_unit="us", eager=True)})
            part = grid.join(part.select("bucket", "value", "n", "k", "sq"), on="bucket", how="left").with_columns(
                pl.col("value").fill_null(0.0), pl.col("n").fill_null(0), pl.col("k").fill_null(0.0),
                pl.col("sq").fill_null(0.0))
        ts = part["bucket"].cast(pl.Int64).to_numpy() // 1_000_000
        values = part["value"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        labels = {} if dim_name is None else {dim_name: "" if dim_value is None else str(dim_value)}
        trials = part["n"].cast(pl.Float64).to_numpy() if counts or squares else None
        events = part["k"].cast(pl.Float64).to_numpy() if counts else None
        sq = part["sq"].cast(pl.Float64).to_numpy() if squares else None
        out.append(Series(metric, unit, labels, step, ts.astype(np.int64), values, trials, events, sq))
    return out


@dataclass(frozen=True)
class Source:
    """Where a series kind is computed from: table, time column, value expression, dimensions."""

    table: str
    time_col: str
    value_expr: str
    dims: dict[str, str]    # dimension name -> column expression
    unit: str
    additive: bool          # sums (spend, tokens) are dense and explained by deltas of sums
    where: str = ""         # row filter ("AND ...", fixed text)
    requests: bool = False  # one row per request: ratio buckets below `min_requests` become gaps
    count_expr: str = "count(*)"    # requests per group (a sum of counts over pre-aggregated rows)
    squares_expr: str | None = None  # per-request sums: sum of squared per-request values per group


def source_for(wh: Warehouse, kind: str, start: datetime, end: datetime) -> Source | None:
    if kind in ("spend_5m", "spend_1h"):
        table, expr, dims, unit = spend_source(wh, start, end)
        return Source(table, "start_time", expr, dims, unit, True, squares_expr=SQUARES_EXPR[expr])
    if kind == "tokens_1m":
        return Source("spans", "start_time", TOKENS_EXPR, SPAN_DIMS, "tokens", True,
                      squares_expr=SQUARES_EXPR[TOKENS_EXPR])
    if kind == "latency_p95_5m":
        return Source("spans", "start_time", P95_LOWER_EXPR, SPAN_DIMS, "seconds", False, requests=True)
    if kind == "error_rate_5m":
        return Source("spans", "start_time", ERROR_RATE_LOWER_EXPR, SPAN_DIMS, "ratio", False, requests=True)
    if kind == "gpu_util_5m":
        return Source("gpu_samples", "time", "avg(utilization)::DOUBLE", GPU_DIMS, "ratio", False,
                      where="AND utilization IS NOT NULL")
    if kind == "gpu_idle_cost_1h":
        if not _has_rows(wh, "gpu_allocations", "hour", start, end):
            return None
        return Source("gpu_allocations", "hour", "sum(cost)::DOUBLE", GPU_DIMS, "usd", True,
                      where="AND line_kind = 'idle'")
    raise ValueError(f"unknown series kind {kind!r}")


SERIES_DIMS = {"spend_5m": ADDITIVE_DIMS, "spend_1h": ADDITIVE_DIMS, "tokens_1m": (None, "team", "model"),
               "latency_p95_5m": ("model",), "error_rate_5m": ("model",), "gpu_util_5m": ("pool",),
               "gpu_idle_cost_1h": ("pool",)}
# series that carry their counts (requests, failed requests) for the count significance test
EVENTS_EXPR = {"error_rate_5m": "sum(CASE WHEN is_error THEN 1 ELSE 0 END)"}
# where a series kind is read from: (database, source) for [start, end), or None when it has no data
Resolver = Callable[[str, datetime, datetime], "tuple[Warehouse, Source] | None"]


def load_series(wh: Warehouse, kinds: list[str], now: datetime, lookback_hours: int,
                min_requests: int = 1) -> list[Series]:
    """Every watched series over [now - lookback, last complete bucket).

    Ratio series computed from spans (p95 latency, error rate) keep only buckets with
    at least `min_requests` requests.
    """
    def resolve(kind: str, start: datetime, end: datetime) -> tuple[Warehouse, Source] | None:
        src = source_for(wh, kind, start, end)
        return None if src is None else (wh, src)

    return load_series_from(resolve, kinds, now, lookback_hours, min_requests)[0]


def load_series_from(resolve: Resolver, kinds: list[str], now: datetime, lookback_hours: int,
                     min_requests: int = 1) -> tuple[list[Series], dict[str, tuple[Warehouse, Source]]]:
    """`load_series` over the sources `resolve` names (the lake's client tables read the same way);
    also each kind's database and source, for the explanations."""
    out: list[Series] = []
    sources: dict[str, tuple[Warehouse, Source]] = {}
    for kind in kinds:
        step = BUCKETS[kind]
        end = floor_time(now, step)
        start = floor_time(end - timedelta(hours=lookback_hours), step)
        if end <= start:
            continue
        found = resolve(kind, start, end)
        if found is None:
            continue
        db, src = found
        sources[kind] = found
        for d in SERIES_DIMS[kind]:
            df = _grouped(db, src.table, src.time_col, src.value_expr, None if d is None else src.dims[d],
                          step, start, end, src.where, EVENTS_EXPR.get(kind, "0"), src.squares_expr or "0",
                          src.count_expr)
            out += _to_series(df, kind, src.unit, d, step, start, end, dense=src.additive,
                              min_rows=min_requests if src.requests else 1, counts=kind in EVENTS_EXPR,
                              squares=src.squares_expr is not None)
    return out, sources


# tables of one row per span that the p95 count test may read (the warehouse's, the lake client's)
SPAN_TABLES = ("spans", "lk_spans")


def p95_exceedances(wh: Warehouse, model: str, bucket: datetime, step: int,
                    baseline_hours: int, table: str = "spans") -> tuple[int, int]:
    """(requests, requests slower than the model's p95 of the `baseline_hours` before) in one bucket.

    If the bucket is like its past, the second count is Binomial(requests, 0.05): a count
    test of a p95 alarm that needs no model of the latency distribution.
    """
    if table not in SPAN_TABLES:
        raise ValueError(f"not a span table: {table!r}")
    model_col = SPAN_DIMS["model"]
    sql = (f"WITH b AS (SELECT quantile_cont(duration_s, 0.95) AS q FROM {table} WHERE {model_col} = ?"
           f" AND start_time >= ? AND start_time < ? AND duration_s IS NOT NULL)"
           f" SELECT count(*), count(*) FILTER (WHERE duration_s > (SELECT q FROM b)) FROM {table}"
           f" WHERE {model_col} = ? AND start_time >= ? AND start_time < ? AND duration_s IS NOT NULL")
    end = bucket + timedelta(seconds=step)
    (n, k), = wh.con.execute(sql, [model, bucket - timedelta(hours=baseline_hours), bucket,
                                   model, bucket, end]).fetchall()
    return int(n or 0), int(k or 0)
