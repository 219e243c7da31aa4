"""Unit economics: cost per 1K requests, per 1M tokens, per successful request.

The hourly rollup is rebuilt for the hours new spans or GPU allocations touched
(delete + insert from `cost_lines` and `gpu_team_costs`), so re-running is
idempotent and a re-price flows through. Day and month figures are views over it
(`unit_economics_daily`, `unit_economics_monthly`): ratios are taken of sums, never
averaged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from inferledger.analytics.warehouse import Warehouse

_ROLLUP = """
INSERT INTO cost_rollup_hourly (hour, tenant, team, feature, provider, model, requests, ok_requests,
    unpriced_requests, input_tokens, output_tokens, total_tokens, token_cost, gpu_cost, cost, environment)
WITH tok AS (
    SELECT date_trunc('hour', start_time) AS hour, tenant, team, feature, provider, model, environment,
           count(*) AS requests, count(*) FILTER (WHERE NOT is_error) AS ok_requests,
           count(*) FILTER (WHERE status IN ('unpriced', 'split_unknown')) AS unpriced_requests,
           sum(input_tokens + cache_read_tokens + cache_write_tokens) AS input_tokens,
           sum(output_tokens + reasoning_tokens) AS output_tokens, sum(total_tokens) AS total_tokens,
           sum(cost) AS token_cost
    FROM cost_lines WHERE start_time >= ? AND start_time < ?
    GROUP BY ALL
), gpu AS (
    SELECT hour, tenant, team, feature, provider, model, CAST(sum(cost) AS DECIMAL(38, 18)) AS gpu_cost
    FROM gpu_team_costs WHERE hour >= ? AND hour < ?
    GROUP BY ALL
)
SELECT coalesce(t.hour, g.hour), coalesce(t.tenant, g.tenant), coalesce(t.team, g.team),
       coalesce(t.feature, g.feature), coalesce(t.provider, g.provider), coalesce(t.model, g.model),
       coalesce(t.requests, 0), coalesce(t.ok_requests, 0), coalesce(t.unpriced_requests, 0),
       coalesce(t.input_tokens, 0), coalesce(t.output_tokens, 0), coalesce(t.total_tokens, 0),
       coalesce(t.token_cost, 0), coalesce(g.gpu_cost, 0),
       coalesce(t.token_cost, 0) + coalesce(g.gpu_cost, 0), t.environment
FROM tok t FULL OUTER JOIN gpu g
  ON t.hour = g.hour AND t.tenant = g.tenant AND t.team = g.team AND t.feature = g.feature
 AND t.provider IS NOT DISTINCT FROM g.provider AND t.model IS NOT DISTINCT FROM g.model
 AND t.environment IS NULL
"""


def hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def rebuild_rollup(wh: Warehouse, start: datetime, end: datetime) -> int:
    """Recompute `cost_rollup_hourly` for the whole hours covering [start, end)."""
    lo = hour_floor(start)
    hi = hour_floor(end) + (timedelta(hours=1) if end != hour_floor(end) else timedelta(0))
    if hi <= lo:
        hi = lo + timedelta(hours=1)
    con = wh.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM cost_rollup_hourly WHERE hour >= ? AND hour < ?", [lo, hi])
        n = len(con.execute(_ROLLUP + " RETURNING 1", [lo, hi, lo, hi]).fetchall())
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return n


UNIT_COST_GROUPS = ("team", "feature", "model", "provider", "tenant")


def unit_costs(wh: Warehouse, by: str, start: datetime, end: datetime) -> list[dict]:
    """Cost per 1K requests / 1M tokens / successful request for one dimension over [start, end)."""
    if by not in UNIT_COST_GROUPS:
        raise ValueError(f"by must be one of {', '.join(UNIT_COST_GROUPS)}, got {by!r}")
    # `by` is checked against the constant list above before it reaches SQL.
    rows = wh.con.execute(
        f"""
        SELECT {by} AS key, sum(requests), sum(ok_requests), sum(total_tokens), sum(cost),
               sum(cost) * 1000 / nullif(sum(requests), 0), sum(cost) * 1000000 / nullif(sum(total_tokens), 0),
               sum(cost) / nullif(sum(ok_requests), 0)
        FROM cost_rollup_hourly WHERE hour >= ? AND hour < ? GROUP BY 1 ORDER BY 5 DESC
        """,
        [start, end],
    ).fetchall()
    keys = ("key", "requests", "ok_requests", "total_tokens", "cost", "cost_per_1k_requests",
            "cost_per_1m_tokens", "cost_per_successful_request")
    return [dict(zip(keys, r)) for r in rows]
