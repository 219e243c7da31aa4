"""GPU cost allocation on Dask over the lake, equal to the single-node `allocate_window`.

Workers read their partitions of `gpu_samples` (one copy of a sample resent to two
collectors) and of `spans`, where they sum the weights GPU cost follows (tokens + 1
per span, per hour, pod, host, service and team) and count the model each pod
served. Those sums merge exactly (integer-valued doubles, counts). A device's
timeline needs its neighbouring samples and the fleet's learned intervals, so the
client runs `analytics.cost.gpu.allocate` over the gathered samples: its input is
the GPU samples (a few per device-minute), not the spans. The lines are written
to `gpu_allocations`, `gpu_team_costs` and `gpu_coverage` of the warehouse the
service reads, in micro-dollars exactly as the single node writes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from inferledger.analytics.cost.gpu import GAP_LOOKAROUND_S, allocate_window
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.lake import tasks
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.lake.store import open_lake, partitions
from inferledger.analytics.warehouse import Warehouse

USAGE_KEYS = ["hour", "tenant", "k8s_pod", "host", "service", "team", "feature", "provider", "span_model"]


def allocate_window_dask(client: Any, lake_uri: str, wh: Warehouse, settings: CostSettings, start: datetime,
                         end: datetime, stats: RunStats | None = None) -> int:
    """Recompute `wh`'s GPU lines for whole hours in [start, end) from the lake; returns the lines written."""
    start = start.replace(minute=0, second=0, microsecond=0)
    around = timedelta(seconds=max(GAP_LOOKAROUND_S, 2 * settings.gpu_gap_factor * settings.gpu_sample_interval_s))
    lake = open_lake(lake_uri)
    gitems = [(lake_uri, f) for _, _, f in partitions(lake, "gpu_samples", start - around, end + around)]
    parts = [p for p in map_partitions(client, tasks.gpu_samples, gitems, stats, start=start - around,
                                       end=end + around) if p.num_rows]
    samples = pl.concat([pl.from_arrow(p) for p in parts], how="vertical_relaxed") if parts else pl.DataFrame()
    sitems = [(lake_uri, f) for _, _, f in partitions(lake, "spans", start, end)]
    used = map_partitions(client, tasks.gpu_span_usage, sitems, stats, start=start, end=end)
    usage, pod_models = merge_usage([u for u, _ in used], [p for _, p in used])
    return allocate_window(wh, settings, start, end, samples=samples, pod_models=pod_models, usage=usage)


def merge_usage(usage_parts: list, pod_parts: list) -> tuple[pl.DataFrame, dict[str, str]]:
    """Partition sums added up: the span weights per group, and each pod's (or service's) most served model."""
    frames = [pl.from_arrow(u) for u in usage_parts if u.num_rows]
    if frames:
        usage = pl.concat(frames, how="vertical_relaxed").group_by(USAGE_KEYS).agg(pl.col("w").sum())
    else:
        usage = pl.DataFrame(schema={**{k: pl.String for k in USAGE_KEYS}, "hour": pl.Datetime("us"), "w": pl.Float64})
    pods = [pl.from_arrow(p) for p in pod_parts if p.num_rows]
    if not pods:
        return usage, {}
    counts = pl.concat(pods, how="vertical_relaxed").group_by(["via", "key", "model"]).agg(pl.col("n").sum())
    # as `pod_models_from_spans`: per key, the model of its largest (pod or service) count
    best = counts.sort("n", descending=True).group_by("key", maintain_order=True).first()
    return usage, dict(zip(best["key"].to_list(), best["model"].to_list()))
