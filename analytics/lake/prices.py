"""The price tables the workers price their spans with, resolved once on the client.

The workers list the distinct (provider, request model, response model) of their
usage spans; the client resolves each against the price book into the same
`price_versions` / `price_assignments` rows the single node writes, and ships those
small tables with every pricing task.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from inferledger.analytics.cost.lines import _write_segments
from inferledger.analytics.cost.pricing import load_price_book
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.lake import partials
from inferledger.analytics.lake.engine import RunStats, map_partitions
from inferledger.analytics.warehouse import open_warehouse


def price_tables(client: Any, items: list[tuple[str, list[str]]], settings: CostSettings,
                 stats: RunStats | None = None) -> dict[str, pa.Table]:
    """`price_versions` and `price_assignments` for every model key the partitions hold."""
    keys = {k for part in map_partitions(client, partials.model_keys, items, stats) for k in part}
    wh = open_warehouse(":memory:")
    try:
        book = load_price_book(settings)
        for provider, req, resp in sorted(keys):
            _write_segments(wh, (provider, req, resp), book.resolve(provider or None, req or None, resp or None))
        return {name: wh.con.sql(f"SELECT * FROM {name}").to_arrow_table()
                for name in ("price_versions", "price_assignments")}
    finally:
        wh.close()
