"""GPU cost allocation: each GPU's hourly bill split over the workloads that used it.

A GPU costs its rate whether busy or not. For every device (a whole GPU or a MIG
slice) and hour, the bill is reported time x rate x share (a MIG `3g.40gb` slice is
3/7 of the GPU; the parent of a sliced GPU only its unsliced remainder). Each sample
stands for the time until the device's next sample, up to `gpu_gap_factor` times
the interval learned from the device's own samples (a longer gap is recorded in
`gpu_coverage` as unobserved, not billed); in that time the pods on the device get
utilisation x time (split evenly when several pods report the same device) and the
rest is idle. The bill, in micro-dollars, is split by those weights with largest
remainder rounding, so workload lines plus the idle line equal the bill exactly.
With `spread_idle` the idle time is shared out over the workloads instead.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from inferledger.analytics.cost.largest_remainder import largest_remainder_frame
from inferledger.analytics.cost.pricing import MAX_TIME, MIN_TIME
from inferledger.analytics.cost.settings import CostSettings, parse_when
from inferledger.analytics.warehouse import Warehouse, utcnow

MIG_SLICES = 7  # A100 / H100 / H200 expose 7 compute slices
_MIG = re.compile(r"(\d+)g\.", re.I)
DEVICE = ["tenant", "host", "gpu_uuid", "gpu_index", "mig_instance"]
UNALLOCATED_TEAM = "unallocated"
# A pod's workload name: the pod without its ReplicaSet/pod hash or StatefulSet ordinal.
# Kubernetes Services are usually named after it, so it is also the first DNS label
# of the server.address clients call (vllm-llama-3-1-70b.inference.svc.cluster.local).
WORKLOAD_RE = r"^(.+?)(-[a-z0-9]{6,10}-[a-z0-9]{5}|-[0-9]+)$"
GPU_FEATURE = "(gpu)"
# Samples this far either side of an allocation window are read to learn intervals and edge gaps.
GAP_LOOKAROUND_S = 6 * 3600.0


def mig_share(profile: str | None) -> float:
    """Fraction of a whole GPU a MIG profile holds ('3g.40gb' -> 3/7); 1 without MIG."""
    if not profile:
        return 1.0
    m = _MIG.search(profile)
    if not m:
        raise ValueError(f"unrecognised MIG profile {profile!r} (expected like '3g.40gb')")
    return min(int(m.group(1)), MIG_SLICES) / MIG_SLICES


def sync_gpu_rates(wh: Warehouse, settings: CostSettings) -> None:
    """Replace the config-sourced rates; rows inserted by hand (source 'manual') stay."""
    wh.con.execute("DELETE FROM gpu_rates WHERE source = 'config'")
    wh.con.executemany(
        "INSERT INTO gpu_rates VALUES (?, ?, ?, ?, 'config')",
        [[r.gpu_model, Decimal(repr(r.usd_per_hour)), parse_when(r.valid_from, "valid_from") or MIN_TIME,
          parse_when(r.valid_to, "valid_to") or MAX_TIME] for r in settings.gpu_rates],
    )


def rate_for(gpu_model: str | None, at: datetime, rates: list[tuple[str, Decimal, datetime, datetime, str]]) -> Decimal | None:
    """The longest rate key found as a word in the GPU's model name, in force at `at`.

    Manual rows win over config rows for the same key.
    """
    if not gpu_model:
        return None
    best = None
    for key, rate, start, end, source in rates:
        if not (start <= at < end):
            continue
        if not re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", gpu_model, re.I):
            continue
        rank = (len(key), source == "manual")
        if best is None or rank > best[0]:
            best = (rank, rate)
    return best[1] if best else None


def learn_intervals(times: pl.DataFrame, fallback_s: float) -> pl.DataFrame:
    """Each device's own sampling interval: the median gap between its distinct sample times.

    A device with a single sample takes the median over the devices that have one
    (the fleet is usually scraped alike), else `fallback_s`.
    """
    med = times.group_by(DEVICE).agg(pl.col("__gap").filter(pl.col("__gap") > 0).median().alias("interval_s"))
    fleet = med["interval_s"].drop_nulls()
    default = float(fleet.median()) if fleet.len() else fallback_s
    return med.with_columns(pl.col("interval_s").fill_null(default))


def device_time(samples: pl.DataFrame, gap_factor: float, fallback_interval_s: float) -> pl.DataFrame:
    """Per sample row: the seconds it stands for (`dt`, split into `busy_s` / `idle_s`) and any gap after it.

    A sample stands for the time until its device's next sample; when that is more
    than `gap_factor` x the device's learned interval, it stands for one interval and
    the rest is a coverage gap (`gap_s`). The last sample stands for one interval.
    So the same hours sampled every 15, 60 or 600 s give the same device time.
    Pure: takes samples (plus some before and after the window, for the gaps).
    """
    ts = (
        samples.select([*DEVICE, "time"]).unique().sort([*DEVICE, "time"])
        .with_columns(
            ((pl.col("time").shift(-1).over(DEVICE) - pl.col("time")).dt.total_microseconds().cast(pl.Float64) / 1e6)
            .alias("__gap")
        )
    )
    ts = ts.join(learn_intervals(ts, fallback_interval_s), on=DEVICE, how="left", nulls_equal=True)
    gap = pl.col("__gap")
    is_gap = gap > pl.col("interval_s") * gap_factor
    ts = ts.with_columns(
        pl.when(gap.is_null() | is_gap).then(pl.col("interval_s")).otherwise(gap).alias("dt"),
        pl.when(is_gap).then(gap - pl.col("interval_s")).otherwise(0.0).alias("gap_s"),
        is_gap.fill_null(False).cast(pl.Int32).alias("gap_n"),
    ).drop("__gap")
    rows = samples.join(ts, on=[*DEVICE, "time"], how="left", nulls_equal=True)
    per_ts = pl.len().over([*DEVICE, "time"])
    u = pl.col("utilization").fill_null(0.0).clip(0.0, 1.0)
    return rows.with_columns(
        pl.col("time").dt.truncate("1h").alias("hour"),
        (pl.col("dt") / per_ts).alias("dev_s"),
        (pl.col("gap_s") / per_ts).alias("gap_s"),
        (pl.col("gap_n") / per_ts).alias("gap_n"),
        (u * pl.col("dt") / per_ts).alias("busy_s"),
        ((1.0 - u) * pl.col("dt") / per_ts).alias("idle_s"),
    )


def device_bills(rows: pl.DataFrame) -> pl.DataFrame:
    """Per device-hour: device seconds, gaps, model, and its share of a whole GPU.

    A MIG slice holds g/7 of its GPU. When slices of a GPU report in an hour, the
    parent device's own series (dcgm-exporter sends power and temperature for it)
    holds only the unsliced remainder, so slices and parent add up to one GPU;
    a fully sliced parent holds nothing and is dropped.
    """
    dev_hour = [*DEVICE, "hour"]
    bills = rows.group_by(dev_hour).agg(
        pl.col("gpu_model").drop_nulls().first(), pl.col("mig_profile").drop_nulls().first(),
        pl.col("dev_s").sum().alias("device_s"), pl.col("gap_s").sum(), pl.col("gap_n").sum().round(0).cast(pl.Int32),
        pl.col("interval_s").first(),
    ).with_columns(
        pl.col("mig_profile").map_elements(mig_share, return_dtype=pl.Float64).fill_null(1.0).alias("gpu_share")
    )
    gpu_hour = ["tenant", "host", "gpu_uuid", "gpu_index", "hour"]
    sliced = (
        bills.filter(pl.col("mig_instance").is_not_null())
        .group_by(gpu_hour).agg(pl.col("gpu_share").sum().alias("__sliced"))
    )
    bills = bills.join(sliced, on=gpu_hour, how="left", nulls_equal=True).with_columns(
        pl.when(pl.col("mig_instance").is_null() & pl.col("__sliced").is_not_null())
        .then((1.0 - pl.col("__sliced")).clip(0.0, 1.0))
        .otherwise(pl.col("gpu_share")).alias("gpu_share")
    ).drop("__sliced")
    return bills.filter(pl.col("gpu_share") > 1e-9)


def allocate(samples: pl.DataFrame, rates: list, settings: CostSettings, pod_models: dict[str, str],
             window: tuple[datetime, datetime] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Allocation lines (workload and idle) per device-hour, cost in integer micro-dollars, and coverage.

    `samples` may reach beyond `window` so that the gaps at its edges are known;
    only samples inside it are billed.
    """
    if samples.is_empty():
        return pl.DataFrame(), pl.DataFrame()
    rows = device_time(samples, settings.gpu_gap_factor, settings.gpu_sample_interval_s)
    if window is not None:
        rows = rows.filter((pl.col("time") >= window[0]) & (pl.col("time") < window[1]))
    if rows.is_empty():
        return pl.DataFrame(), pl.DataFrame()
    dev_hour = [*DEVICE, "hour"]
    bills = device_bills(rows)
    rows = rows.join(bills.select(dev_hour), on=dev_hour, how="semi", nulls_equal=True)
    rate_list = [
        rate_for(m, h, rates) for m, h in zip(bills["gpu_model"].to_list(), bills["hour"].to_list())
    ]
    bills = bills.with_columns(pl.Series("rate_per_hour", [float(r) if r is not None else None for r in rate_list],
                                         dtype=pl.Float64))
    # micro-dollars of the device-hour bill, rounded once
    bills = bills.with_columns(
        (pl.col("device_s") / 3600.0 * pl.col("rate_per_hour") * pl.col("gpu_share") * 1e6)
        .round(0).cast(pl.Int64).fill_null(0).alias("bill_micro")
    )
    coverage = bills.select(*dev_hour, "gpu_model", "mig_profile", "gpu_share", "device_s", "gap_s", "gap_n",
                            "interval_s")
    bills = bills.drop(["device_s", "gap_s", "gap_n", "interval_s"])
    work = (
        rows.group_by([*dev_hour, "k8s_namespace", "k8s_pod"])
        .agg(pl.col("busy_s").sum().alias("gpu_seconds"))
        .with_columns(pl.lit("workload").alias("line_kind"))
    )
    idle = rows.group_by(dev_hour).agg(pl.col("idle_s").sum().alias("gpu_seconds")).with_columns(
        pl.lit(None, dtype=pl.String).alias("k8s_namespace"), pl.lit(None, dtype=pl.String).alias("k8s_pod"),
        pl.lit("idle").alias("line_kind"),
    )
    lines = pl.concat([work, idle.select(work.columns)], how="vertical")
    if settings.spread_idle:
        busy_any = work.group_by(dev_hour).agg((pl.col("gpu_seconds").sum() > 0).alias("__busy"))
        lines = lines.join(busy_any, on=dev_hour, how="left", nulls_equal=True).filter(
            ~((pl.col("line_kind") == "idle") & pl.col("__busy").fill_null(False))
        ).drop("__busy")
        # spreading: workloads take the bill in proportion to their use; wall time kept on them
    lines = lines.join(bills, on=dev_hour, how="left", nulls_equal=True)
    lines = largest_remainder_frame(lines, dev_hour, "bill_micro", "gpu_seconds", "cost_micro")
    lines = lines.with_columns(
        pl.coalesce(
            pl.col("k8s_pod").replace_strict(pod_models, default=None, return_dtype=pl.String),
            pl.col("k8s_pod").str.replace(WORKLOAD_RE, "$1").replace_strict(pod_models, default=None, return_dtype=pl.String),
        ).alias("model")
    )
    return lines, coverage


def pod_models_from_spans(wh: Warehouse, start: datetime, end: datetime) -> dict[str, str]:
    """The model each pod (or service name clients call) served most often in the window."""
    rows = wh.con.execute(
        """
        SELECT key, arg_max(model, n) FROM (
            SELECT k8s_pod AS key, coalesce(response_model, request_model) AS model, count(*) AS n
            FROM spans WHERE k8s_pod IS NOT NULL AND start_time >= ? AND start_time < ?
              AND coalesce(response_model, request_model) IS NOT NULL
            GROUP BY ALL
            UNION ALL
            SELECT split_part(server_address, '.', 1), coalesce(response_model, request_model), count(*)
            FROM spans WHERE server_address IS NOT NULL AND start_time >= ? AND start_time < ?
              AND coalesce(response_model, request_model) IS NOT NULL
            GROUP BY ALL
        ) GROUP BY key
        """,
        [start, end, start, end],
    ).fetchall()
    return dict(rows)


def allocate_window(wh: Warehouse, settings: CostSettings, start: datetime, end: datetime, *,
                    samples: pl.DataFrame | None = None, pod_models: dict[str, str] | None = None,
                    usage: pl.DataFrame | None = None) -> int:
    """Recompute `gpu_allocations` and `gpu_team_costs` for whole hours in [start, end).

    `samples` (around the window), `pod_models` and `usage` (the span weights of
    `attribute_to_teams`) replace what is read from `wh` when given: the Dask engine
    gathers them from the lake (`analytics.lake.gpu`) and writes its lines here.
    """
    start = start.replace(minute=0, second=0, microsecond=0)
    sync_gpu_rates(wh, settings)
    rates = wh.con.execute("SELECT gpu_model, usd_per_hour, valid_from, valid_to, source FROM gpu_rates").fetchall()
    # samples around the window too: the gap after its last sample, and intervals to learn
    around = timedelta(seconds=max(GAP_LOOKAROUND_S, 2 * settings.gpu_gap_factor * settings.gpu_sample_interval_s))
    if samples is None:
        samples = pl.from_arrow(wh.con.sql(
            "SELECT time, tenant, host, gpu_uuid, gpu_index, gpu_model, mig_profile, mig_instance, k8s_namespace,"
            " k8s_pod, utilization FROM gpu_samples WHERE time >= ? AND time < ?",
            params=[start - around, end + around],
        ).to_arrow_table())
    for table in ("gpu_allocations", "gpu_team_costs", "gpu_coverage"):
        wh.con.execute(f"DELETE FROM {table} WHERE hour >= ? AND hour < ?", [start, end])
    if pod_models is None:
        pod_models = pod_models_from_spans(wh, start, end)
    lines, coverage = allocate(samples, rates, settings, pod_models, (start, end))
    if lines.is_empty():
        return 0
    wh.con.register("__cov", coverage.to_arrow())
    try:
        wh.con.execute(
            "INSERT INTO gpu_coverage SELECT hour, tenant, host, gpu_uuid, gpu_model, mig_profile, mig_instance,"
            " gpu_share, device_s, gap_s, gap_n, interval_s FROM __cov"
        )
    finally:
        wh.con.unregister("__cov")
    now = utcnow()
    out = lines.select(
        "hour", "tenant", "host", "gpu_uuid", "gpu_model", "mig_profile", "mig_instance", "gpu_share",
        "line_kind", "k8s_namespace", "k8s_pod", "model", "gpu_seconds",
        pl.col("rate_per_hour").fill_null(0.0), "cost_micro",
    )
    wh.con.register("__alloc", out.to_arrow())
    try:
        wh.con.execute(
            "INSERT INTO gpu_allocations SELECT hour, tenant, host, gpu_uuid, gpu_model, mig_profile, mig_instance,"
            " gpu_share, line_kind, k8s_namespace, k8s_pod, model, gpu_seconds,"
            " CAST(rate_per_hour AS DECIMAL(18, 6)), CAST(cost_micro AS DECIMAL(38, 6)) / 1000000, ? FROM __alloc",
            [now],
        )
    finally:
        wh.con.unregister("__alloc")
    attribute_to_teams(wh, lines, start, end, usage)
    return lines.height


def attribute_to_teams(wh: Warehouse, lines: pl.DataFrame, start: datetime, end: datetime,
                       usage: pl.DataFrame | None = None) -> None:
    """Split each pod-hour's GPU cost over the teams whose spans that pod served (by tokens).

    Idle lines follow the same teams in proportion to their workload on that device-hour,
    keeping `line_kind = idle`, so a team sees both what it used and the idle capacity
    it held. Cost with no span to follow goes to the pod's namespace, else 'unallocated'.
    """
    if usage is None:
        usage = pl.from_arrow(wh.con.sql(USAGE_SQL, params=[start, end]).to_arrow_table())
    _attribute(wh, lines, usage)


# The span weights GPU cost follows: tokens + 1 per span, per hour, pod / host / service and team.
USAGE_SQL = """
        SELECT date_trunc('hour', start_time) AS hour, tenant, k8s_pod, host_name AS host,
               split_part(server_address, '.', 1) AS service, team, feature,
               provider, coalesce(response_model, request_model) AS span_model,
               sum(coalesce(total_tokens, coalesce(input_tokens, 0) + coalesce(output_tokens, 0))::DOUBLE + 1) AS w
        FROM spans WHERE start_time >= ? AND start_time < ?
          AND (k8s_pod IS NOT NULL OR host_name IS NOT NULL OR server_address IS NOT NULL)
        GROUP BY ALL
        """


def _attribute(wh: Warehouse, lines: pl.DataFrame, usage: pl.DataFrame) -> None:
    dev_hour = [*DEVICE, "hour"]
    keep = ["__line", *dev_hour, "line_kind", "k8s_namespace", "k8s_pod", "gpu_seconds", "cost_micro"]
    span_cols = ["team", "feature", "provider", "span_model", "w"]
    lines = lines.with_row_index("__line")
    work = lines.filter(pl.col("line_kind") == "workload").select(keep)
    usage_pod = usage.filter(pl.col("k8s_pod").is_not_null()).group_by(
        ["hour", "tenant", "k8s_pod", "team", "feature", "provider", "span_model"],
    ).agg(pl.col("w").sum())
    usage_host = usage.filter(pl.col("host").is_not_null()).group_by(
        ["hour", "tenant", "host", "team", "feature", "provider", "span_model"],
    ).agg(pl.col("w").sum())
    usage_svc = usage.filter(pl.col("service").is_not_null() & (pl.col("service") != "")).group_by(
        ["hour", "tenant", "service", "team", "feature", "provider", "span_model"],
    ).agg(pl.col("w").sum())
    # spans of the serving pod itself, else (no pod label) of the host, else clients calling its service
    by_pod = work.filter(pl.col("k8s_pod").is_not_null()).join(usage_pod, on=["hour", "tenant", "k8s_pod"], how="inner")
    by_host = work.filter(pl.col("k8s_pod").is_null()).join(usage_host, on=["hour", "tenant", "host"], how="inner")
    by_svc = (
        work.filter(pl.col("k8s_pod").is_not_null() & ~pl.col("__line").is_in(by_pod["__line"].unique().implode()))
        .with_columns(pl.col("k8s_pod").str.replace(WORKLOAD_RE, "$1").alias("service"))
        .join(usage_svc, on=["hour", "tenant", "service"], how="inner")
    )
    matched = pl.concat([d.select(*keep, *span_cols) for d in (by_pod, by_host, by_svc)], how="vertical_relaxed")
    rest = work.filter(~pl.col("__line").is_in(matched["__line"].unique().implode())).with_columns(
        pl.coalesce(pl.col("k8s_namespace"), pl.lit(UNALLOCATED_TEAM)).alias("team"),
        pl.lit(GPU_FEATURE).alias("feature"), pl.lit(None, dtype=pl.String).alias("provider"),
        pl.lit(None, dtype=pl.String).alias("span_model"), pl.lit(1.0).alias("w"),
    ).select(*keep, *span_cols)
    workload = pl.concat([matched, rest], how="vertical_relaxed")
    workload = largest_remainder_frame(workload, ["__line"], "cost_micro", "w", "team_micro").with_columns(
        (pl.col("gpu_seconds") * pl.col("w") / pl.col("w").sum().over("__line")).alias("gpu_seconds")
    )
    idle = lines.filter(pl.col("line_kind") == "idle").select(["__line", *dev_hour, "gpu_seconds", "cost_micro"])
    shares = workload.group_by(
        [*dev_hour, "team", "feature", "provider", "span_model", "k8s_namespace", "k8s_pod"],
    ).agg(pl.col("gpu_seconds").sum().alias("w"))
    idle = idle.join(shares, on=dev_hour, how="left", nulls_equal=True).with_columns(
        pl.col("team").fill_null(UNALLOCATED_TEAM), pl.col("feature").fill_null(GPU_FEATURE),
        pl.col("w").fill_null(0.0), pl.lit("idle").alias("line_kind"),
    )
    idle = largest_remainder_frame(idle, ["__line"], "cost_micro", "w", "team_micro").with_columns(
        (pl.col("gpu_seconds") * pl.when(pl.col("w").sum().over("__line") > 0)
         .then(pl.col("w") / pl.col("w").sum().over("__line")).otherwise(1.0 / pl.len().over("__line"))).alias("gpu_seconds")
    )
    out_cols = ["hour", "tenant", "team", "feature", "provider", "span_model", "k8s_namespace", "k8s_pod", "line_kind"]
    team = pl.concat([workload.select(*out_cols, "gpu_seconds", "team_micro"),
                      idle.select(*out_cols, "gpu_seconds", "team_micro")], how="vertical_relaxed")
    if team.is_empty():
        return
    team = team.group_by(out_cols).agg(pl.col("gpu_seconds").sum(), pl.col("team_micro").sum())
    wh.con.register("__team", team.to_arrow())
    try:
        wh.con.execute(
            "INSERT INTO gpu_team_costs SELECT hour, tenant, team, feature, provider, span_model, k8s_namespace,"
            " k8s_pod, line_kind, gpu_seconds, CAST(team_micro AS DECIMAL(38, 6)) / 1000000 FROM __team"
        )
    finally:
        wh.con.unregister("__team")

