"""The monthly showback on Dask over the lake, equal to the single-node one.

Workers price their partitions and aggregate them to the showback's daily usage
rows (`sb_usage`); the client adds the partials up into the same temp table the
single-node build fills, and the rest (team pages, CSV, FOCUS, HTML) is the
single-node code unchanged. The previous month's team totals, which the single node
reads from `cost_rollup_hourly`, come from the same partials one month earlier.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from inferledger.analytics.cost.budgets import month_bounds
from inferledger.analytics.cost.lines import _write_segments
from inferledger.analytics.cost.pricing import load_price_book
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.cost.showback.build import Showback, aggregate, build_showback, parse_month
from inferledger.analytics.lake import partials
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.lake.store import open_lake, partitions
from inferledger.analytics.warehouse import open_warehouse

USAGE_KEYS = ["day", "tenant", "team", "feature", "provider", "model", "price_id", "status", "above_200k",
              "service_tier"]


def showback_dask(client: Any, lake_uri: str, settings: CostSettings, month: str, out_dir: Path | None = None,
                  stats: RunStats | None = None) -> Showback:
    """The month's showback from the lake on Dask workers (`client=None`: the same tasks in this process)."""
    start, end = parse_month(month)
    prev_start = month_bounds((start - timedelta(days=1)).date())[0]
    lake = open_lake(lake_uri)
    items = [(lake_uri, files) for _, _, files in partitions(lake, "spans", prev_start, end)]
    keys = {k for part in map_partitions(client, partials.model_keys, items, stats) for k in part}
    wh = open_warehouse(":memory:")
    book = load_price_book(settings)
    for key in sorted(keys):
        provider, req, resp = key
        _write_segments(wh, key, book.resolve(provider or None, req or None, resp or None))
    prices = {name: wh.con.sql(f"SELECT * FROM {name}").to_arrow_table()
              for name in ("price_versions", "price_assignments")}
    threads = partials.default_threads() if client is None else 1
    parts = [p for p in map_partitions(client, partials.showback_usage, items, stats, prices=prices,
                                       start=prev_start, end=end, threads=threads) if p.num_rows]
    con = wh.con
    con.register("parts", pa.concat_tables(parts) if parts else wh.con.sql("SELECT 1 WHERE false").to_arrow_table())
    sums = ", ".join(f"sum({c}) AS {c}" for c in ("requests", "ok_requests", "in_t", "cr_t", "cw_t", "out_t", "rs_t",
                                           "tot_t", "c_in", "c_cr", "c_cw", "c_out", "c_rs", "cost"))
    keys_sql = ", ".join(USAGE_KEYS)
    if parts:
        con.execute(f"CREATE TABLE lake_usage AS SELECT {keys_sql}, {sums} FROM parts GROUP BY ALL")
        # the previous month's team totals, at day grain (only team and cost are read from it)
        con.execute("INSERT INTO cost_rollup_hourly (hour, tenant, team, feature, provider, model, requests, ok_requests,"
                    " unpriced_requests, input_tokens, output_tokens, total_tokens, token_cost, gpu_cost, cost)"
                    " SELECT day, tenant, team, feature, provider, model, 0, 0, 0, 0, 0, 0, cost, 0, cost"
                    " FROM (SELECT day, tenant, team, feature, provider, model, sum(cost) AS cost FROM parts"
                    " WHERE day < ? GROUP BY ALL)", [start])

    def merged_aggregate(cur, a_start, a_end) -> None:
        aggregate(cur, a_start, a_end)  # empty sb_usage / sb_gpu with the single-node column types
        if parts:
            cur.execute("INSERT INTO sb_usage BY NAME SELECT * FROM lake_usage WHERE day >= ? AND day < ?", [a_start, a_end])

    try:
        return build_showback(wh, settings, month, out_dir, aggregate_fn=merged_aggregate)
    finally:
        con.unregister("parts")
        wh.close()
