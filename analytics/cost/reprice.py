"""Re-pricing: recompute cost lines after a catalog update or an override change.

Facts (spans) are never touched. Every model key is re-resolved against the current
catalog and overrides, every cost line in range is recomputed, and the diff per
(team, provider, model) is reported. A dry run does all of it inside a transaction
and rolls it back, so what it shows is exactly what the real run would write. Old
price versions stay in `price_versions`, so a line always names the price that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from inferledger.analytics.cost.lines import compute_cost_lines, sync_price_assignments
from inferledger.analytics.cost.pricing import PriceBook
from inferledger.analytics.warehouse import Warehouse

_AGG = """
SELECT team, coalesce(provider, '') AS provider, coalesce(model, '') AS model, count(*),
       sum(cost), count(*) FILTER (WHERE status IN ('unpriced', 'split_unknown'))
FROM cost_lines
WHERE start_time >= coalesce(?, TIMESTAMP '1970-01-01') AND start_time < coalesce(?, TIMESTAMP '9999-12-31')
GROUP BY ALL
"""


@dataclass
class RepriceDiff:
    team: str
    provider: str
    model: str
    lines: int
    old_cost: Decimal
    new_cost: Decimal
    old_unpriced: int
    new_unpriced: int

    @property
    def delta(self) -> Decimal:
        return self.new_cost - self.old_cost


@dataclass
class RepriceResult:
    dry_run: bool
    lines: int
    diffs: list[RepriceDiff] = field(default_factory=list)
    span_range: tuple[datetime | None, datetime | None] = (None, None)

    @property
    def old_total(self) -> Decimal:
        return sum((d.old_cost for d in self.diffs), Decimal(0))

    @property
    def new_total(self) -> Decimal:
        return sum((d.new_cost for d in self.diffs), Decimal(0))


def _aggregate(wh: Warehouse, start, end) -> dict[tuple, tuple]:
    return {tuple(r[:3]): (r[3], Decimal(r[4] or 0), r[5]) for r in wh.con.execute(_AGG, [start, end]).fetchall()}


def reprice(wh: Warehouse, book: PriceBook, *, dry_run: bool, start: datetime | None = None,
            end: datetime | None = None) -> RepriceResult:
    """Recompute cost lines for spans in [start, end) (all when not given); roll back when dry."""
    con = wh.con
    before = _aggregate(wh, start, end)
    con.execute("BEGIN TRANSACTION")
    try:
        sync_price_assignments(wh, book, only_new=False)
        n = compute_cost_lines(wh, start=start, end=end, transaction=False)
        after = _aggregate(wh, start, end)
        span_range = con.execute(
            "SELECT min(start_time), max(start_time) FROM cost_lines WHERE start_time >= coalesce(?, TIMESTAMP '1970-01-01')"
            " AND start_time < coalesce(?, TIMESTAMP '9999-12-31')",
            [start, end],
        ).fetchone()
        con.execute("ROLLBACK" if dry_run else "COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    diffs = []
    for key in sorted(set(before) | set(after)):
        ol, oc, ou = before.get(key, (0, Decimal(0), 0))
        nl, nc, nu = after.get(key, (0, Decimal(0), 0))
        diffs.append(RepriceDiff(key[0], key[1], key[2], max(ol, nl), oc, nc, ou, nu))
    return RepriceResult(dry_run, n, diffs, tuple(span_range))
