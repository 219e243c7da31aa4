"""/metrics benchmark: scrape time and size with 50 teams x 40 models.

Seeds a warehouse file with spans and cost lines spread over 50 teams x 40 models x
3 environments (each team in one environment, each model at one provider: 2,000 label
sets per span family), plus GPU samples and hourly rollups, then measures:

- the warehouse collector, uncached (every family evaluated) and cached (what a second
  Prometheus replica scraping within `metrics_cache_seconds` pays);
- the exposition size and series count, at the default top-N (50: nothing folded) and
  at top-N 10 (models and teams folded into `other`);
- the reference in the same run: the naive exporter, which pulls the rows into pandas
  and aggregates there, per family (what one writes without pushing aggregation into
  DuckDB). Its numbers are checked equal to the collector's before timing is trusted;
- peak RSS of the process after each phase (ru_maxrss; it only grows).

    python benchmarks/bench_metrics.py [--spans 1000000] [--repeat 5]

Timings on a shared 2-core machine are noisy; compare the two columns of one run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.dashboards.exporter import WarehouseCollector
from inferledger.dashboards.settings import DashboardSettings

TEAMS, MODELS, ENVS = 50, 40, 3


def seed(wh, spans: int) -> None:
    """Generated in SQL (range()), so seeding a million rows takes seconds, not minutes."""
    now = utcnow()
    con = wh.con
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("seeding", total=4)
        con.execute(
            f"""
            INSERT INTO spans (tenant, trace_id, span_id, start_time, end_time, duration_s, deployment_environment,
                               span_name, is_error, operation, provider, request_model, input_tokens, output_tokens,
                               cache_read_tokens, cache_write_tokens, reasoning_tokens, team, feature, vocabulary,
                               ingested_at)
            SELECT 'default', md5(i::VARCHAR), substr(md5((i * 7)::VARCHAR), 1, 16),
                   ?::TIMESTAMP - to_seconds(i % 86400), ?::TIMESTAMP - to_seconds(i % 86400) + INTERVAL 1 SECOND,
                   0.2 + (i % 50) / 10.0, 'env' || (i % {TEAMS} % {ENVS}), 'chat', i % 53 = 0, 'chat',
                   'provider' || ((i // {TEAMS}) % {MODELS} % 5), 'model' || ((i // {TEAMS}) % {MODELS}), 500 + i % 1000, 50 + i % 200,
                   i % 100, 0, i % 7, 'team' || (i % {TEAMS}), 'feature', 'otel_genai', ?::TIMESTAMP
            FROM range(?) t(i)
            """,
            [now, now, now, spans],
        )
        bar.advance(task)
        con.execute(
            """
            INSERT INTO cost_lines (tenant, trace_id, span_id, start_time, team, feature, provider, model, is_error,
                status, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                above_200k, total_tokens, input_cost, cache_read_cost, cache_write_cost, output_cost, reasoning_cost,
                cost, computed_at)
            SELECT tenant, trace_id, span_id, start_time, team, feature, provider, request_model, is_error,
                   CASE WHEN request_model = 'model39' THEN 'unpriced' ELSE 'priced' END,
                   input_tokens, 0, 0, output_tokens, 0, false, input_tokens + output_tokens, 0, 0, 0, 0, 0,
                   (input_tokens * 0.0000025 + output_tokens * 0.00001)::DECIMAL(38, 18), ?
            FROM spans
            """,
            [now],
        )
        bar.advance(task)
        con.execute(
            """
            INSERT INTO cost_rollup_hourly
            SELECT date_trunc('hour', start_time), tenant, team, feature, provider, model, count(*),
                   count(*) FILTER (WHERE NOT is_error), count(*) FILTER (WHERE status = 'unpriced'),
                   sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost), 0, sum(cost)
            FROM cost_lines GROUP BY ALL
            """
        )
        bar.advance(task)
        con.execute(
            """
            INSERT INTO gpu_samples (time, tenant, host, gpu_uuid, gpu_index, gpu_model, utilization,
                                     memory_used_bytes, memory_total_bytes, power_w, vocabulary, ingested_at)
            SELECT ?::TIMESTAMP - to_seconds((i // 64) * 15), 'default', 'node-' || ((i % 64) // 8),
                   'GPU-' || (i % 64), i % 8, 'H100', ((i * 37) % 100) / 100.0, 4e10, 8e10, 300.0, 'dcgm', ?::TIMESTAMP
            FROM range(64 * 5760) t(i)
            """,
            [now, now],
        )
        bar.advance(task)
    wh.checkpoint()


def naive_reference(wh, cfg: DashboardSettings) -> dict[tuple, float]:
    """Rows into pandas, aggregated there: requests and tokens per series, spend per series."""
    spans = wh.con.execute(
        "SELECT team, coalesce(request_model, response_model, 'unknown') AS model,"
        " coalesce(provider, 'unknown') AS provider, coalesce(deployment_environment, 'unknown') AS environment,"
        " is_error, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, duration_s"
        " FROM spans"
    ).df()
    keys = ["team", "model", "provider", "environment"]
    g = spans.groupby(keys, sort=True)
    agg = g.agg(requests=("is_error", "size"), errors=("is_error", "sum"), input=("input_tokens", "sum"),
                output=("output_tokens", "sum"), duration=("duration_s", "sum"))
    cost = wh.con.execute(
        "SELECT team, coalesce(model, 'unknown') AS model, coalesce(provider, 'unknown') AS provider,"
        " cost::DOUBLE AS cost FROM cost_lines"
    ).df()
    spend = cost.groupby(["team", "model", "provider"], sort=True)["cost"].sum()
    out: dict[tuple, float] = {}
    for idx, row in agg.iterrows():
        labels = tuple(zip(keys, idx))
        out[("inferledger_requests_total", labels)] = float(row["requests"])
        out[("inferledger_request_errors_total", labels)] = float(row["errors"])
    for idx, value in spend.items():
        out[("inferledger_cost_usd_total", tuple(zip(["team", "model", "provider"], idx)))] = float(value)
    return out


def parse(text: str, names: set[str]) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name in names:
                order = [k for k in ("team", "model", "provider", "environment") if k in s.labels]
                out[(s.name, tuple((k, s.labels[k]) for k in order))] = s.value
    return out


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    console = Console(width=140)
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_warehouse(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        seed(wh, args.spans)
        console.print(f"seeded {args.spans:,} spans and cost lines, {64 * 5760:,} GPU samples "
                      f"in {time.perf_counter() - t0:.1f}s ({TEAMS} teams x {MODELS} models x {ENVS} environments)")
        rss_seed = peak_rss_mib()

        results = {}
        for top_n in (50, 10):
            cfg = DashboardSettings(metrics_top_n=top_n, metrics_cache_seconds=30)
            reg = CollectorRegistry()
            collector = WarehouseCollector(wh, cfg)
            reg.register(collector)
            generate_latest(reg)  # warm DuckDB's buffer pool like a running service
            compute, _ = timed(collector.evaluate, args.repeat)
            uncached, _ = timed(lambda: (setattr(collector, "_cached", None), generate_latest(reg))[1], args.repeat)
            cached, text = timed(lambda: generate_latest(reg), args.repeat)
            series = sum(1 for line in text.decode().splitlines() if line and not line.startswith("#"))
            results[top_n] = (compute, uncached, cached, len(text), series, text.decode())
        rss_exporter = peak_rss_mib()

        cfg = DashboardSettings()
        ref_time, ref = timed(lambda: naive_reference(wh, cfg), max(1, args.repeat // 2))
        rss_reference = peak_rss_mib()
        mine = parse(results[50][5], {"inferledger_requests_total", "inferledger_request_errors_total",
                                      "inferledger_cost_usd_total"})
        mismatched = [k for k, v in ref.items() if abs(mine.get(k, float("nan")) - v) > 1e-6 * max(1.0, abs(v))]
        wh.close()

    table = Table(title=f"/metrics with {TEAMS} teams x {MODELS} models, {args.spans:,} spans (median of {args.repeat})")
    for col in ("variant", "seconds", "bytes", "series"):
        table.add_column(col, justify="right")
    for top_n, (compute, uncached, cached, size, series, _) in results.items():
        table.add_row(f"top-N {top_n}: collector queries + bounding (all families)", f"{compute:.3f}", "-", "-")
        table.add_row(f"top-N {top_n}: scrape, uncached", f"{uncached:.3f}", f"{size:,}", f"{series:,}")
        table.add_row(f"top-N {top_n}: scrape, cached (text rendering only)", f"{cached:.3f}", f"{size:,}",
                      f"{series:,}")
    table.add_row("reference: rows into pandas, groupby (3 families only, no rendering)", f"{ref_time:.3f}", "-",
                  f"{len(ref):,}")
    console.print(table)
    console.print(f"reference values equal to the collector's: {not mismatched} "
                  f"({len(ref):,} series compared, {len(mismatched)} differ)")
    console.print(f"peak RSS MiB: after seeding {rss_seed:.0f}, after collector {rss_exporter:.0f}, "
                  f"after pandas reference {rss_reference:.0f}")


if __name__ == "__main__":
    main()
