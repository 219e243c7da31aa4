"""Benchmark: a month of spans in the lake; showback and SLO burn on one DuckDB node vs Dask with 1 and 2 workers.

    .venv/bin/python -m benchmarks.bench_scale [--spans 100000000] [--tenants 4] [--nodes 2] [--workers 1,2]

  generate  N spans of October 2026 straight to the lake's Parquet layout (benchmarks.scale_data:
            one zstd file per tenant, hour and collector node, the warehouse's span columns, a share
            resent through two nodes so readers must dedupe); skipped when --dir already holds the
            same month (--regenerate to force). Free disk is checked first.
  duckdb    the single node: every partition's tasks run one after the other in one child process
            (its peak RSS is its own), DuckDB using all cores, reading the same lake Parquet
  dask-K    a real `dask scheduler` and K `dask worker` processes (one thread each, started as
            separate processes by tests.lake_servers), the same tasks spread over them
  project   the time for N worker nodes: the measured 1-worker task times scheduled longest first
            on N workers, plus the measured client share (pricing keys, merging, team pages)

Every engine's showback total and SLO burn rates are printed side by side; they must agree.
"""

from __future__ import annotations

import argparse
import heapq
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

SPEC = """
service: bench
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli: availability
  - name: latency
    objective: 99
    window: 30d
    sli: {type: latency, threshold_s: 4}
    filters: {model: gpt-4o}
  - name: ttft
    objective: 95
    window: 7d
    sli: {type: ttft, threshold_s: 0.5}
"""
NOW = datetime(2026, 10, 31, 23, 59, 30)
BYTES_PER_SPAN = 90  # Parquet on disk at ~30k spans per file, measured; the check adds a margin


def _job(fn, *args) -> dict:
    from inferledger.analytics.lake.engine import RunStats

    st = RunStats()
    t = time.perf_counter()
    out = fn(*args, st)
    return {"s": time.perf_counter() - t, "out": out, **st.summary(), "task_seconds": st.task_seconds}


def run_jobs(client, lake: str, out_dir: Path) -> dict:
    """Showback (with its HTML, CSV and FOCUS files) and SLO burn over the lake on `client` (None: this process)."""
    from inferledger.analytics.cost.settings import CostSettings
    from inferledger.analytics.lake.showback import showback_dask
    from inferledger.analytics.lake.slo import evaluate_dask
    from inferledger.analytics.slo.spec import parse_text

    sb = _job(lambda st: showback_dask(client, lake, CostSettings(), "2026-10", out_dir, st))
    sb["out"] = str(sb["out"].total)
    slo = _job(lambda st: evaluate_dask(client, lake, parse_text(SPEC), NOW, st))
    slo["out"] = [[round(s.burn(w), 6) for w in ("5m", "1h", "6h")] for s in slo["out"]]
    return {"showback": sb, "slo": slo}


def single_node(lake: str, out_dir: Path) -> dict:
    res = run_jobs(None, lake, out_dir)
    res["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return res


def dask_run(lake: str, workers: int, out_dir: Path) -> dict:
    from distributed import Client

    from tests.lake_servers import dask_cluster

    with dask_cluster(workers, memory_limit="4GB") as address, Client(address) as client:
        return run_jobs(client, lake, out_dir)


def project(task_seconds: list[float], overhead: float, nodes: int) -> float:
    """Longest-task-first makespan of the measured tasks on `nodes` workers, plus the client's share."""
    loads = [0.0] * nodes
    for s in sorted(task_seconds, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + s)
    return max(loads) + overhead


def ensure_lake(base: Path, args: argparse.Namespace) -> dict:
    from benchmarks.scale_data import generate

    lake = base / "lake"
    params = {"spans": args.spans, "tenants": args.tenants, "nodes": args.nodes, "resent": args.resent}
    meta = base / "lake.json"
    if not args.regenerate and meta.exists() and json.loads(meta.read_text()).get("params") == params:
        info = json.loads(meta.read_text())
        print(f"lake: reusing {info['rows']:,} rows ({info['spans']:,} spans) in {info['files']:,} files, "
              f"{info['bytes'] / 1e9:,.2f} GB")
        return info
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    need = int(args.spans * BYTES_PER_SPAN * 1.5)
    free = shutil.disk_usage(base).free
    if free < need + 5 * 2**30:
        sys.exit(f"not enough disk under {base}: {free / 1e9:.1f} GB free, the month needs about {need / 1e9:.1f} GB"
                 " plus 5 GB of headroom; pass a smaller --spans or another --dir")
    t = time.perf_counter()
    st = generate(lake, args.spans, tenants=args.tenants, nodes=args.nodes, resent=args.resent)
    info = {"params": params, "spans": st.spans, "rows": st.rows, "files": st.files, "bytes": st.bytes,
            "seconds": time.perf_counter() - t}
    meta.write_text(json.dumps(info))
    print(f"generate: {st.spans:,} spans ({st.rows - st.spans:,} resent copies) in {st.files:,} files, "
          f"{st.bytes / 1e9:,.2f} GB Parquet in {info['seconds']:.0f} s ({info['seconds'] / st.spans * 1e6:.2f} us/span)")
    return info


def report(info: dict, runs: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    spans = info["spans"]
    table = Table(title=f"showback and SLO burn over a {spans:,}-span month in the lake ({info['rows']:,} rows, "
                        f"{info['files']:,} files) - a shared, loaded 2-core machine")
    for col in ("engine", "job", "wall s", "us/span", "tasks", "task-s", "read MB", "peak RSS MB (per process)",
                "result"):
        table.add_column(col, justify="left" if col in ("engine", "job", "result") else "right")
    for name, r in runs.items():
        for job in ("showback", "slo"):
            j = r[job]
            if name == "duckdb":
                rss = f"{r['peak_rss'] / 2**20:,.0f}"
            else:
                rss = " / ".join(f"{v / 2**20:,.0f}" for _, v in sorted(j["peak_rss_by_worker"].items()))
            result = j["out"] if job == "showback" else "burn 5m/1h/6h " + "; ".join(
                "/".join(f"{b:.3g}" for b in s) for s in j["out"])
            table.add_row(name, job, f"{j['s']:.1f}", f"{j['s'] / spans * 1e6:.2f}", str(j["tasks"]),
                          f"{j['task_seconds_total']:.1f}", f"{j['bytes_read'] / 1e6:,.1f}", rss, result)
    console = Console(width=200)
    console.print(table)
    agree = {job: len({json.dumps(r[job]["out"]) for r in runs.values()}) == 1 for job in ("showback", "slo")}
    console.print(f"results agree across engines: showback {agree['showback']}, SLO burn {agree['slo']}")
    one = [r for name, r in runs.items() if name == "dask-1"]
    if one:
        proj = Table(title="projection for N Dask worker nodes, from the 1-worker task times (longest task first)")
        proj.add_column("job")
        proj.add_column("client share s", justify="right")
        nodes = (1, 2, 4, 8, 16, 32)
        for n in nodes:
            proj.add_column(f"{n} nodes s", justify="right")
        for job in ("showback", "slo"):
            j = one[0][job]
            overhead = max(0.0, j["s"] - sum(j["task_seconds"]))
            proj.add_row(job, f"{overhead:.1f}", *(f"{project(j['task_seconds'], overhead, n):.1f}" for n in nodes))
        console.print(proj)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=100_000_000)
    ap.add_argument("--tenants", type=int, default=4)
    ap.add_argument("--nodes", type=int, default=2, help="collector nodes sealing into the lake")
    ap.add_argument("--resent", type=float, default=0.002, help="share of spans sealed by two nodes")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--dir", default="/tmp/inferledger-bench-scale", help="kept out of the repository")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--phase", default="", help=argparse.SUPPRESS)  # internal: the single-node child
    args = ap.parse_args()
    base = Path(args.dir)
    lake = str(base / "lake")
    if args.phase == "duckdb":
        print(json.dumps(single_node(lake, base / "out-duckdb")))
        return
    info = ensure_lake(base, args)
    runs: dict[str, dict] = {}
    child = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--phase", "duckdb", "--dir", str(base)],
                           capture_output=True, text=True)
    if child.returncode:
        sys.exit(f"single-node run failed:\n{child.stderr[-3000:]}")
    runs["duckdb"] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"duckdb: showback {runs['duckdb']['showback']['s']:.1f} s, SLO {runs['duckdb']['slo']['s']:.1f} s", flush=True)
    for k in [int(x) for x in args.workers.split(",") if x]:
        runs[f"dask-{k}"] = r = dask_run(lake, k, base / f"out-dask{k}")
        print(f"dask-{k}: showback {r['showback']['s']:.1f} s, SLO {r['slo']['s']:.1f} s", flush=True)
    (base / "results.json").write_text(json.dumps({"lake": info, "runs": runs}))
    report(info, runs)


if __name__ == "__main__":
    main()
