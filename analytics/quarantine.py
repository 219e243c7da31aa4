"""Spans no analytics job can use: quarantined (skipped and counted), never fatal.

The collector rejects implausible numbers at the door, but a warehouse may hold
rows written before those bounds, by an older version or by hand. A token count
near INT64_MAX makes every BIGINT sum over it overflow, so one such span would stop
cost analytics for every tenant. The jobs read spans through `sane_span_sql` and
report how many rows they left out (`quarantined_spans` in the job's result).
"""

from __future__ import annotations

# Far above anything the ingest bounds let through, far below what would overflow a
# BIGINT sum over millions of spans or a DECIMAL(38, 18) cost.
MAX_TOKENS = 10**12
MAX_COST_USD = 10**9
_TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                  "reasoning_tokens", "total_tokens")


def sane_span_sql(alias: str = "s.") -> str:
    """A SQL predicate true for spans whose numbers every job can sum safely."""
    parts = [f"coalesce({alias}{c}, 0) BETWEEN 0 AND {MAX_TOKENS}" for c in _TOKEN_COLUMNS]
    parts.append(f"coalesce({alias}client_cost_usd, 0) BETWEEN 0 AND {MAX_COST_USD}")
    parts.append(f"coalesce({alias}time_to_first_token_s, 0) >= 0")
    return "(" + " AND ".join(parts) + ")"


def count_quarantined(con) -> int:
    """Spans every job leaves out (a full count: cheap next to the jobs that read spans)."""
    return con.execute(f"SELECT count(*) FROM spans s WHERE NOT {sane_span_sql()}").fetchone()[0]
