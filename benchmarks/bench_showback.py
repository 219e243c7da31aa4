"""Benchmark: a month's showback at N spans — pricing pass, showback build, and pandas doing the same aggregation.

    .venv/bin/python -m benchmarks.bench_showback --spans 1000000 [--spans 10000000] [--threads 2]

Each phase runs in its own process so its peak memory (max RSS) is its own:
  generate  N synthetic spans for October 2026 into a DuckDB file (6 providers/models: OpenAI,
            Anthropic with cache tokens, Bedrock, vLLM self-hosted, one unknown model)
  price     the incremental cost pass over all of them (model keys -> prices, one set-based INSERT)
  showback  build_showback: aggregation + FOCUS CSV/Parquet + CSV + HTML
  pandas    the reference: the same month's cost lines loaded into pandas and grouped the same
            way (day x tenant x team x feature x provider x model x price x status), cost as float64
The totals of `showback` and `pandas` are printed side by side; they must agree.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GEN_SQL = """
INSERT INTO spans BY NAME
SELECT 'default' AS tenant, printf('%032x', i) AS trace_id, printf('%016x', i) AS span_id,
       TIMESTAMP '2026-10-01' + to_microseconds(CAST(i * (2678400000000 // {n}) AS BIGINT)) AS start_time,
       TIMESTAMP '2026-10-01' + to_microseconds(CAST(i * (2678400000000 // {n}) AS BIGINT)) + INTERVAL 1 SECOND AS end_time,
       1.0 AS duration_s, (i % 97 = 0) AS is_error,
       ['search', 'ads', 'support', 'growth', 'risk', 'docs', 'mail', 'voice'][i % 8 + 1] AS team,
       ['answers', 'summaries', 'chat', 'rerank', 'extract'][i % 5 + 1] AS feature,
       ['openai', 'openai', 'anthropic', 'aws.bedrock', 'vllm', 'openai'][i % 6 + 1] AS provider,
       ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
        'meta-llama/Llama-3.1-8B-Instruct', 'in-house-model'][i % 6 + 1] AS request_model,
       ['gpt-4o-2024-08-06', 'gpt-4o-mini-2024-07-18', 'claude-sonnet-4-5-20250929', NULL, NULL, NULL][i % 6 + 1] AS response_model,
       500 + (hash(i) % 3000) AS input_tokens, 50 + (hash(i + 1) % 700) AS output_tokens,
       CASE WHEN i % 6 = 2 THEN (hash(i) % 3000) // 2 ELSE 0 END AS cache_read_tokens,
       CASE WHEN i % 6 = 2 THEN 100 ELSE 0 END AS cache_write_tokens,
       CASE WHEN i % 6 = 4 THEN 'vllm-' || (i % 4) ELSE NULL END AS k8s_pod,
       'otel_genai' AS vocabulary, TIMESTAMP '2026-11-01' AS ingested_at
FROM range({n}) t(i)
"""


# --lines-only: price a small seed of spans, then replicate its cost lines to N across the
# month (the showback reads cost lines only), so sizes beyond what span generation allows
# here can be measured. Spans are not generated; price and pandas phases are skipped.
REPLICATE_SQL = """
INSERT INTO cost_lines
SELECT * EXCLUDE (rn, k) REPLACE (
    printf('%016x', r.k * 100000 + l.rn) AS span_id,
    TIMESTAMP '2026-10-01' + to_microseconds(
        (epoch_us(l.start_time) - epoch_us(TIMESTAMP '2026-10-01') + r.k * 4470001) % 2678400000000) AS start_time
)
FROM (SELECT *, row_number() OVER () AS rn FROM cost_lines) l, range({copies}) r(k)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, db: str, n: int, threads: int, out: str) -> dict:
    from inferledger.analytics.warehouse import open_warehouse

    wh = open_warehouse(db, threads=threads)
    t = time.perf_counter()
    result: dict = {}
    if name == "generate":
        wh.con.execute(GEN_SQL.format(n=n))
        wh.checkpoint()
    elif name == "lines":
        from inferledger.analytics.cost.lines import price_new_spans
        from inferledger.analytics.cost.pricing import load_price_book
        from inferledger.analytics.cost.settings import CostSettings

        seed = 6000
        wh.con.execute(GEN_SQL.format(n=seed))
        price_new_spans(wh, load_price_book(CostSettings()))
        wh.con.execute("DELETE FROM spans")
        copies = max(n // seed, 1)
        wh.con.execute("CREATE TEMP TABLE seed AS SELECT * FROM cost_lines")
        wh.con.execute("DELETE FROM cost_lines")
        wh.con.execute(REPLICATE_SQL.replace("FROM cost_lines) l", "FROM seed) l").format(copies=copies))
        wh.checkpoint()
        result["lines"] = wh.con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]
    elif name == "price":
        from inferledger.analytics.cost.lines import price_new_spans
        from inferledger.analytics.cost.pricing import load_price_book
        from inferledger.analytics.cost.settings import CostSettings

        run = price_new_spans(wh, load_price_book(CostSettings()))
        wh.checkpoint()
        result["lines"] = run.spans
    elif name == "showback":
        from inferledger.analytics.cost.settings import CostSettings
        from inferledger.analytics.cost.showback.build import build_showback

        sb = build_showback(wh, CostSettings(), "2026-10", Path(out))
        result["total"] = str(sb.total)
        result["focus_rows"] = sb.focus_rows
    elif name == "pandas":
        load = time.perf_counter()
        df = wh.con.execute(
            "SELECT start_time, tenant, team, feature, provider, model, price_id, status, above_200k, is_error,"
            " input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens,"
            " CAST(input_cost AS DOUBLE) AS input_cost, CAST(cache_read_cost AS DOUBLE) AS cache_read_cost,"
            " CAST(cache_write_cost AS DOUBLE) AS cache_write_cost, CAST(output_cost AS DOUBLE) AS output_cost,"
            " CAST(reasoning_cost AS DOUBLE) AS reasoning_cost, CAST(cost AS DOUBLE) AS cost FROM cost_lines"
            " WHERE start_time >= '2026-10-01' AND start_time < '2026-11-01'"
        ).df()
        result["load_s"] = round(time.perf_counter() - load, 2)
        agg_t = time.perf_counter()
        df["day"] = df["start_time"].dt.floor("D")
        df["ok"] = ~df["is_error"]
        keys = ["day", "tenant", "team", "feature", "provider", "model", "price_id", "status", "above_200k"]
        g = df.groupby(keys, dropna=False).agg(
            requests=("cost", "size"), ok_requests=("ok", "sum"), in_t=("input_tokens", "sum"),
            cr_t=("cache_read_tokens", "sum"), cw_t=("cache_write_tokens", "sum"), out_t=("output_tokens", "sum"),
            rs_t=("reasoning_tokens", "sum"), tot_t=("total_tokens", "sum"), c_in=("input_cost", "sum"),
            c_cr=("cache_read_cost", "sum"), c_cw=("cache_write_cost", "sum"), c_out=("output_cost", "sum"),
            c_rs=("reasoning_cost", "sum"), cost=("cost", "sum"),
        )
        result["agg_s"] = round(time.perf_counter() - agg_t, 2)
        result["groups"] = len(g)
        result["total"] = f"{g['cost'].sum():.6f}"
    wh.close()
    result.update(seconds=round(time.perf_counter() - t, 2), peak_mb=round(peak_mb()))
    return result


def run_phase(name: str, db: str, n: int, threads: int, out: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_showback", "--phase", name, "--db", db, "--spans", str(n),
         "--threads", str(threads), "--out", out],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, action="append")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--phase")
    ap.add_argument("--db")
    ap.add_argument("--out", default="")
    ap.add_argument("--lines-only", action="store_true",
                    help="replicate priced cost lines instead of generating spans; showback phase only")
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.db, args.spans[0], args.threads, args.out)))
        return
    sizes = args.spans or [1_000_000]
    print(f"bench_showback: DuckDB threads={args.threads}; each phase in its own process (peak = its max RSS)")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.duckdb")
            out = str(Path(tmp) / "showback")
            if args.lines_only:
                lines = run_phase("lines", db, n, args.threads, out)
                sb = run_phase("showback", db, n, args.threads, out)
                print(f"\n== {lines['lines']:,} cost lines (October 2026, replicated; no pandas run) ==")
                print(f"  replicate lines       {lines['seconds']:>8.2f} s   peak {lines['peak_mb']:>6} MB")
                print(f"  showback (ours)       {sb['seconds']:>8.2f} s   peak {sb['peak_mb']:>6} MB"
                      f"   FOCUS rows {sb['focus_rows']:,}   total {sb['total'][:14]}")
                continue
            res = {name: run_phase(name, db, n, args.threads, out) for name in ("generate", "price", "showback", "pandas")}
            sb, pd_ = res["showback"], res["pandas"]
            print(f"\n== {n:,} spans (October 2026) ==")
            print(f"  generate spans        {res['generate']['seconds']:>8.2f} s   peak {res['generate']['peak_mb']:>6} MB")
            print(f"  price (cost lines)    {res['price']['seconds']:>8.2f} s   peak {res['price']['peak_mb']:>6} MB"
                  f"   {n / max(res['price']['seconds'], 1e-9):,.0f} spans/s")
            print(f"  showback (ours)       {sb['seconds']:>8.2f} s   peak {sb['peak_mb']:>6} MB"
                  f"   FOCUS rows {sb['focus_rows']:,}   total {sb['total'][:14]}")
            print(f"  pandas reference      {pd_['seconds']:>8.2f} s   peak {pd_['peak_mb']:>6} MB"
                  f"   (load {pd_['load_s']} s + groupby {pd_['agg_s']} s, {pd_['groups']:,} groups)   total {pd_['total']}")
            same = abs(float(sb["total"]) - float(pd_["total"])) < 1e-6 * max(1.0, float(sb["total"]))
            print(f"  totals agree: {same}")


if __name__ == "__main__":
    main()
