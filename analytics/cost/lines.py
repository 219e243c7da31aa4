"""Cost lines: what each span cost, from its tokens and the price in force at its start.

Spans are facts and are never touched; `cost_lines` is derived from spans plus
`price_assignments` and can be rebuilt at any time (a re-price). The arithmetic is
done by DuckDB in exact decimals (18 places), one set-based statement per batch, so
a month of spans is priced in one pass and every sum adds up exactly.

Token accounting follows CONVENTIONS.md: uncached input = input - cache_read -
cache_write when the provider's input count includes cache tokens (the GenAI
convention), input as-is otherwise; reasoning tokens are billed apart only where the
price has a reasoning rate; above-200k prices apply to the whole request when its
prompt exceeds 200k tokens and the model has such a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inferledger.analytics.cost.pricing import PriceBook, Segment
from inferledger.analytics.quarantine import sane_span_sql
from inferledger.analytics.warehouse import Warehouse, utcnow

# What makes a span count as inference usage: a model name or any token count.
HAS_USAGE = (
    "(s.response_model IS NOT NULL OR s.request_model IS NOT NULL OR s.input_tokens IS NOT NULL"
    " OR s.output_tokens IS NOT NULL OR s.total_tokens IS NOT NULL)"
    " AND " + sane_span_sql()  # implausible rows are quarantined, not priced (analytics.quarantine)
)
# An inference row: a model call (not workflow / agent / tool structure), not a copy of
# another span reporting the same call (collector.dedupe). Read by every consumer of spans.
INFERENCE_ROW = "(s.is_inference IS NOT FALSE AND s.duplicate_of IS NULL)"
USAGE_FILTER = f"({HAS_USAGE} AND {INFERENCE_ROW})"
# Spans to re-read since a watermark: new ones, and older ones whose duplicate link changed.
CHANGED_SINCE = "(s.ingested_at > ? OR s.deduped_at > ?)"

_COST_SELECT = """
WITH base AS (
    SELECT s.tenant, s.trace_id, s.span_id, s.start_time, s.team, s.feature, s.provider,
           coalesce(s.response_model, s.request_model) AS model, s.k8s_pod, s.host_name, s.is_error,
           s.deployment_environment AS environment, a.status AS a_status, a.price_id,
           coalesce(s.input_tokens, 0) AS in_t, coalesce(s.cache_read_tokens, 0) AS cr_t,
           coalesce(s.cache_write_tokens, 0) AS cw_t, coalesce(s.output_tokens, 0) AS out_t,
           coalesce(s.reasoning_tokens, 0) AS rs_t, s.total_tokens AS tot_t,
           (s.input_tokens IS NULL AND s.output_tokens IS NULL AND s.total_tokens IS NOT NULL) AS split_unknown,
           CASE WHEN contains(CAST(s.attributes AS VARCHAR), 'service_tier') THEN {tier_sql} END AS service_tier,
           p.input_price_priority, p.output_price_priority, p.cache_read_price_priority, p.input_price_flex,
           p.output_price_flex, p.cache_read_price_flex, p.input_price_batch, p.output_price_batch,
           coalesce(s.input_includes_cache, p.input_includes_cache) AS inc,
           (s.input_tokens IS NOT NULL) AS has_in, p.input_price, p.output_price, p.cache_read_price,
           p.cache_write_price, p.reasoning_price, p.input_price_above_200k, p.output_price_above_200k
    FROM spans s
    JOIN price_assignments a
      ON a.provider = coalesce(s.provider, '') AND a.request_model = coalesce(s.request_model, '')
     AND a.response_model = coalesce(s.response_model, '')
     AND s.start_time >= a.valid_from AND s.start_time < a.valid_to
    LEFT JOIN price_versions p ON p.price_id = a.price_id
    WHERE {where}
), toks AS (
    SELECT *,
        CASE WHEN split_unknown THEN 'split_unknown' ELSE a_status END AS status,
        CASE WHEN inc IS NOT FALSE THEN greatest(in_t - cr_t - cw_t, 0) ELSE in_t END AS unc_t,
        (inc IS NOT FALSE AND has_in AND in_t < cr_t + cw_t) AS negative_uncached,
        CASE WHEN reasoning_price IS NOT NULL THEN least(rs_t, out_t) ELSE 0 END AS rsb_t,
        (CASE WHEN inc IS NOT FALSE THEN in_t ELSE in_t + cr_t + cw_t END) > 200000 AS above_200k
    FROM base
), priced AS (
    SELECT *,
        CASE WHEN status = 'priced' THEN unc_t * {input_unit} ELSE 0 END AS c_in,
        CASE WHEN status = 'priced' THEN cr_t * {cache_read_unit} ELSE 0 END AS c_cr,
        CASE WHEN status = 'priced' THEN cw_t * cache_write_price ELSE 0 END AS c_cw,
        CASE WHEN status = 'priced' THEN (out_t - rsb_t) * {output_unit} ELSE 0 END AS c_out,
        CASE WHEN status = 'priced' THEN rsb_t * coalesce(reasoning_price, 0) ELSE 0 END AS c_rs
    FROM toks
)
SELECT tenant, trace_id, span_id, start_time, team, feature, provider, model, k8s_pod, host_name,
       is_error, status, price_id,
       unc_t AS input_tokens, cr_t AS cache_read_tokens, cw_t AS cache_write_tokens,
       out_t - rsb_t AS output_tokens, rsb_t AS reasoning_tokens, coalesce(above_200k, false) AS above_200k,
       service_tier,
       coalesce(tot_t, in_t + out_t + CASE WHEN inc IS FALSE THEN cr_t + cw_t ELSE 0 END) AS total_tokens,
       CAST(c_in AS DECIMAL(38, 18)) AS input_cost, CAST(c_cr AS DECIMAL(38, 18)) AS cache_read_cost,
       CAST(c_cw AS DECIMAL(38, 18)) AS cache_write_cost, CAST(c_out AS DECIMAL(38, 18)) AS output_cost,
       CAST(c_rs AS DECIMAL(38, 18)) AS reasoning_cost,
       CAST(c_in + c_cr + c_cw + c_out + c_rs AS DECIMAL(38, 18)) AS cost,
       ? AS computed_at, negative_uncached, environment
FROM priced
"""

# The service tier a span ran in (OpenAI's priority / flex; batch), from attributes the
# collector keeps as JSON; only spans mentioning a tier pay for the JSON lookups.
_TIER_KEYS = ("openai.response.service_tier", "gen_ai.openai.response.service_tier",
              "openai.request.service_tier", "gen_ai.openai.request.service_tier", "inferledger.service_tier")
TIER_SQL = (
    "CASE lower(coalesce(" + ", ".join(f"json_extract_string(s.attributes, '$.\"{k}\"')" for k in _TIER_KEYS) + "))"
    " WHEN 'priority' THEN 'priority' WHEN 'flex' THEN 'flex' WHEN 'batch' THEN 'batch' END"
)


def unit_price_sql(kind: str, alias: str = "") -> str:
    """The per-token price a line pays for `kind` (input | output | cache_read), tier and long context included.

    One definition, used by the cost pass and by the FOCUS export, so ListUnitPrice is
    exactly the price the line was billed at. `alias` prefixes the price/tier columns.
    """
    a = alias
    if kind == "cache_read":
        return (f"CASE {a}service_tier WHEN 'priority' THEN coalesce({a}cache_read_price_priority, {a}cache_read_price)"
                f" WHEN 'flex' THEN coalesce({a}cache_read_price_flex, {a}cache_read_price) ELSE {a}cache_read_price END")
    if kind not in ("input", "output"):
        raise ValueError(kind)
    return (
        f"CASE {a}service_tier WHEN 'priority' THEN coalesce({a}{kind}_price_priority, {a}{kind}_price)"
        f" WHEN 'flex' THEN coalesce({a}{kind}_price_flex, {a}{kind}_price)"
        f" WHEN 'batch' THEN coalesce({a}{kind}_price_batch, {a}{kind}_price)"
        f" ELSE CASE WHEN {a}above_200k AND {a}{kind}_price_above_200k IS NOT NULL"
        f" THEN {a}{kind}_price_above_200k ELSE {a}{kind}_price END END"
    )


COST_LINE_COLUMNS = (
    "tenant, trace_id, span_id, start_time, team, feature, provider, model, k8s_pod, host_name, is_error,"
    " status, price_id, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,"
    " above_200k, service_tier, total_tokens, input_cost, cache_read_cost, cache_write_cost, output_cost, reasoning_cost, cost, computed_at,"
    " negative_uncached, environment"
)


def _cost_select(where: str) -> str:
    return _COST_SELECT.format(
        where=where, tier_sql=TIER_SQL, input_unit=unit_price_sql("input"), output_unit=unit_price_sql("output"),
        cache_read_unit=unit_price_sql("cache_read"),
    )


@dataclass
class CostRun:
    spans: int
    new_model_keys: int
    min_start: datetime | None
    max_start: datetime | None


def _write_segments(wh: Warehouse, key: tuple[str, str, str], segments: list[Segment]) -> None:
    con = wh.con
    now = utcnow()
    for seg in segments:
        p = seg.price
        if p is not None:
            pri, flex, batch = p.tier("priority"), p.tier("flex"), p.tier("batch")
            con.execute(
                "INSERT OR IGNORE INTO price_versions (price_id, source, catalog_version, catalog_key, currency,"
                " input_price, output_price, cache_read_price, cache_write_price, reasoning_price,"
                " input_price_above_200k, output_price_above_200k, input_includes_cache, created_at,"
                " input_price_priority, output_price_priority, cache_read_price_priority, input_price_flex,"
                " output_price_flex, cache_read_price_flex, input_price_batch, output_price_batch)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [p.price_id, p.source, p.catalog_version, p.catalog_key, p.currency, p.input, p.output,
                 p.cache_read, p.cache_write, p.reasoning, p.input_above_200k, p.output_above_200k,
                 p.input_includes_cache, now, *pri, *flex, batch[0], batch[1]],
            )
    con.execute(
        "DELETE FROM price_assignments WHERE provider = ? AND request_model = ? AND response_model = ?", list(key)
    )
    con.executemany(
        "INSERT INTO price_assignments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[*key, s.valid_from, s.valid_to, s.status, s.price.price_id if s.price else None, s.priced_model,
          s.match_rule] for s in segments],
    )


def sync_price_assignments(wh: Warehouse, book: PriceBook, *, only_new: bool = True,
                           since_ingested: datetime | None = None) -> int:
    """Resolve every (provider, request model, response model) seen in spans to price segments.

    `only_new` resolves only keys without assignments (the incremental job); a re-price
    passes False to re-resolve all of them against the current catalog and overrides.
    """
    where = [USAGE_FILTER]
    params: list = []
    if since_ingested is not None:
        where.append("s.ingested_at > ?")
        params.append(since_ingested)
    keys = wh.con.execute(
        f"SELECT DISTINCT coalesce(s.provider, ''), coalesce(s.request_model, ''), coalesce(s.response_model, '')"
        f" FROM spans s WHERE {' AND '.join(where)}",
        params,
    ).fetchall()
    if only_new:
        have = set(wh.con.execute(
            "SELECT DISTINCT provider, request_model, response_model FROM price_assignments"
        ).fetchall())
        keys = [k for k in keys if tuple(k) not in have]
    for key in keys:
        provider, req, resp = key
        _write_segments(wh, tuple(key), book.resolve(provider or None, req or None, resp or None))
    return len(keys)


def compute_cost_lines(wh: Warehouse, *, since_ingested: datetime | None = None,
                       start: datetime | None = None, end: datetime | None = None,
                       transaction: bool = True) -> int:
    """Replace the cost lines of the selected spans (delete, then insert, in one transaction).

    `transaction=False` when the caller already holds one (the re-price does).
    """
    # `where` selects the spans whose lines are replaced (a span that just became a duplicate
    # is selected, its line deleted); only inference rows among them get a line again.
    where = [HAS_USAGE]
    params: list = []
    if since_ingested is not None:
        where.append(CHANGED_SINCE)
        params += [since_ingested, since_ingested]
    if start is not None:
        where.append("s.start_time >= ?")
        params.append(start)
    if end is not None:
        where.append("s.start_time < ?")
        params.append(end)
    cond = " AND ".join(where)
    con = wh.con
    own_tx = transaction
    if own_tx:
        con.execute("BEGIN TRANSACTION")
    try:
        if since_ingested is None:
            # a time range (or everything): delete by the lines' own start time
            con.execute(
                "DELETE FROM cost_lines WHERE start_time >= coalesce(?, TIMESTAMP '1970-01-01')"
                " AND start_time < coalesce(?, TIMESTAMP '9999-12-31')",
                [start, end],
            )
        else:
            con.execute(
                f"DELETE FROM cost_lines c USING (SELECT s.tenant, s.trace_id, s.span_id FROM spans s WHERE {cond}) d"
                " WHERE c.tenant = d.tenant AND c.trace_id = d.trace_id AND c.span_id = d.span_id",
                params,
            )
        n = con.execute(
            f"INSERT INTO cost_lines ({COST_LINE_COLUMNS}) {_cost_select(cond + ' AND ' + INFERENCE_ROW)}",
            [*params, utcnow()],
        ).fetchone()[0]
        if own_tx:
            con.execute("COMMIT")
    except Exception:
        if own_tx:
            con.execute("ROLLBACK")
        raise
    return n


def touched_hours(wh: Warehouse, since_ingested: datetime) -> tuple[datetime | None, datetime | None]:
    """The span-time range of spans ingested after the watermark (rollups rebuild those hours)."""
    lo, hi = wh.con.execute(
        f"SELECT min(s.start_time), max(s.start_time) FROM spans s WHERE {CHANGED_SINCE} AND {HAS_USAGE}",
        [since_ingested, since_ingested],
    ).fetchone()
    return lo, hi


def get_state(wh: Warehouse, name: str) -> str | None:
    row = wh.con.execute("SELECT value FROM cost_state WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def set_state(wh: Warehouse, name: str, value: str) -> None:
    wh.con.execute("INSERT OR REPLACE INTO cost_state VALUES (?, ?)", [name, value])


# A span committed a little after a later one may carry an earlier ingested_at;
# re-reading this much overlap is harmless (lines are insert-or-replace).
WATERMARK_OVERLAP = timedelta(seconds=120)


def price_new_spans(wh: Warehouse, book: PriceBook) -> CostRun:
    """The incremental step: price spans ingested since the watermark."""
    raw = get_state(wh, "ingested_watermark")
    since = datetime.fromisoformat(raw) - WATERMARK_OVERLAP if raw else datetime(1970, 1, 1)
    new_wm = wh.con.execute("SELECT max(ingested_at) FROM spans").fetchone()[0]
    if new_wm is None:
        return CostRun(0, 0, None, None)
    lo, hi = touched_hours(wh, since)
    n_keys = sync_price_assignments(wh, book, only_new=True, since_ingested=since)
    n = compute_cost_lines(wh, since_ingested=since)
    set_state(wh, "ingested_watermark", new_wm.isoformat())
    return CostRun(n, n_keys, lo, hi)
