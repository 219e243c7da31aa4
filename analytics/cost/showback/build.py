"""Build a month's showback: one aggregation pass, then HTML, CSV and FOCUS from it.

The heavy step is a single DuckDB GROUP BY over the month's cost lines (day x team x
feature x provider x model x price); everything else reads that small result, so
the HTML, the CSV and the FOCUS file agree to the last decimal: a team's total is the
sum of its lines, exactly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from inferledger.analytics.cost.budgets import month_bounds
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.cost.showback.csv_safe import safe_cell
from inferledger.analytics.cost.showback.focus import write_focus
from inferledger.analytics.warehouse import Warehouse

_USAGE = """
CREATE OR REPLACE TEMP TABLE sb_usage AS
SELECT date_trunc('day', start_time) AS day, tenant, team, feature, provider, model, price_id, status, above_200k,
       service_tier,
       count(*) AS requests, count(*) FILTER (WHERE NOT is_error) AS ok_requests,
       sum(input_tokens) AS in_t, sum(cache_read_tokens) AS cr_t, sum(cache_write_tokens) AS cw_t,
       sum(output_tokens) AS out_t, sum(reasoning_tokens) AS rs_t, sum(total_tokens) AS tot_t,
       sum(input_cost) AS c_in, sum(cache_read_cost) AS c_cr, sum(cache_write_cost) AS c_cw,
       sum(output_cost) AS c_out, sum(reasoning_cost) AS c_rs, sum(cost) AS cost
FROM cost_lines WHERE start_time >= ? AND start_time < ?
GROUP BY ALL
"""
_GPU = """
CREATE OR REPLACE TEMP TABLE sb_gpu AS
SELECT date_trunc('day', hour) AS day, tenant, team, feature, provider, model, k8s_namespace, k8s_pod, line_kind,
       sum(gpu_seconds) AS gpu_s, CAST(sum(cost) AS DECIMAL(38, 18)) AS cost
FROM gpu_team_costs WHERE hour >= ? AND hour < ?
GROUP BY ALL
"""


def parse_month(month: str) -> tuple[datetime, datetime]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    y, m = map(int, month.split("-"))
    return month_bounds(datetime(y, m, 1).date())


@dataclass
class TeamPage:
    team: str
    total: Decimal
    previous: Decimal
    token_cost: Decimal
    gpu_allocated: Decimal
    gpu_idle: Decimal
    requests: int
    tokens: int
    days: list[str]
    daily_by_model: dict[str, list[float]]
    cost_per_1k_requests: list[float | None]
    cost_per_1m_tokens: list[float | None]
    top_features: list[tuple[str, Decimal, float]]
    top_models: list[tuple[str, Decimal, float]]
    unpriced: list[dict]

    @property
    def mom(self) -> float | None:
        return float((self.total - self.previous) / self.previous) if self.previous else None


@dataclass
class Showback:
    month: str
    currency: str
    start: datetime
    end: datetime
    teams: list[TeamPage] = field(default_factory=list)
    focus_rows: int = 0
    files: dict[str, str] = field(default_factory=dict)
    # set while the month is in progress: totals are month to date and compare with the same days before
    as_of: datetime | None = None
    # GPU reconciliation per pool (analytics.cost.reconcile.PoolRow)
    pools: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.teams

    @property
    def period_label(self) -> str:
        if self.as_of is not None:
            return f"month to date, as of {self.as_of:%Y-%m-%d %H:%M} UTC"
        return "whole month"

    @property
    def previous_label(self) -> str:
        if self.as_of is not None:
            return f"same {self.days_elapsed} days of the previous month"
        return "previous month"

    @property
    def days_elapsed(self) -> str:
        return f"{(self.as_of - self.start).total_seconds() / 86400:.1f}".rstrip("0").rstrip(".") if self.as_of else ""

    @property
    def total(self) -> Decimal:
        return sum((t.total for t in self.teams), Decimal(0))


def aggregate(con, start: datetime, end: datetime) -> None:
    """The one heavy pass: month's cost lines and GPU team costs into two small temp tables."""
    con.execute(_USAGE, [start, end])
    con.execute(_GPU, [start, end])


def previous_window(start: datetime, end: datetime, as_of: datetime | None) -> tuple[datetime, datetime]:
    """The previous month, or its same elapsed time when the month is in progress (one day vs one day)."""
    prev_start = month_bounds((start - timedelta(days=1)).date())[0]
    if as_of is None:
        return prev_start, start
    return prev_start, min(start, prev_start + (as_of - start))


def _team_pages(con, start: datetime, end: datetime, top_models: int = 6,
                as_of: datetime | None = None) -> list[TeamPage]:
    days = []
    d = start
    while d < end:
        days.append(d.strftime("%Y-%m-%d"))
        d += timedelta(days=1)
    index = {day: i for i, day in enumerate(days)}
    totals = con.execute(
        """
        SELECT team, sum(cost), sum(token_cost), sum(gpu_alloc), sum(gpu_idle), sum(requests), sum(tokens) FROM (
            SELECT team, cost, cost AS token_cost, 0 AS gpu_alloc, 0 AS gpu_idle, requests, tot_t AS tokens FROM sb_usage
            UNION ALL
            SELECT team, cost, 0, CASE WHEN line_kind = 'workload' THEN cost ELSE 0 END,
                   CASE WHEN line_kind = 'idle' THEN cost ELSE 0 END, 0, 0 FROM sb_gpu
        ) GROUP BY team ORDER BY 2 DESC, team
        """
    ).fetchall()
    previous = dict(con.execute(
        "SELECT team, sum(cost) FROM cost_rollup_hourly WHERE hour >= ? AND hour < ? GROUP BY team",
        list(previous_window(start, end, as_of)),
    ).fetchall())
    daily = con.execute(
        """
        SELECT team, strftime(day, '%Y-%m-%d'), coalesce(model, '(none)'), sum(cost), sum(requests), sum(tokens) FROM (
            SELECT team, day, model, cost, requests, tot_t AS tokens FROM sb_usage
            UNION ALL SELECT team, day, coalesce(model, 'GPU ' || coalesce(k8s_namespace || '/' || k8s_pod, 'idle capacity')),
                             cost, 0, 0 FROM sb_gpu
        ) GROUP BY ALL
        """
    ).fetchall()
    feats = con.execute(
        "SELECT team, feature, sum(cost) FROM (SELECT team, feature, cost FROM sb_usage UNION ALL "
        "SELECT team, feature, cost FROM sb_gpu) GROUP BY ALL ORDER BY 3 DESC"
    ).fetchall()
    unpriced = con.execute(
        "SELECT team, coalesce(provider, ''), coalesce(model, ''), status, sum(requests), sum(tot_t) FROM sb_usage"
        " WHERE status IN ('unpriced', 'split_unknown') GROUP BY ALL ORDER BY 5 DESC"
    ).fetchall()
    pages = []
    for team, total, token_cost, gpu_alloc, gpu_idle, requests, tokens in totals:
        total = Decimal(total or 0)
        by_model: dict[str, Decimal] = {}
        day_cost = [0.0] * len(days)
        day_req = [0] * len(days)
        day_tok = [0] * len(days)
        rows = [r for r in daily if r[0] == team]
        for _, day, model, cost, req, tok in rows:
            by_model[model] = by_model.get(model, Decimal(0)) + Decimal(cost or 0)
        ranked = sorted((m for m in by_model if by_model[m] > 0), key=lambda m: by_model[m], reverse=True)
        shown = ranked[:top_models]
        series = {m: [0.0] * len(days) for m in shown}
        if len(ranked) > top_models:
            series["other"] = [0.0] * len(days)
        for _, day, model, cost, req, tok in rows:
            i = index.get(day)
            if i is None:
                continue
            if model in shown or "other" in series:
                series[model if model in shown else "other"][i] += float(cost or 0)
            day_cost[i] += float(cost or 0)
            day_req[i] += int(req or 0)
            day_tok[i] += int(tok or 0)
        f_rows = [(f, Decimal(c or 0)) for t, f, c in feats if t == team][:8]
        pages.append(TeamPage(
            team=team, total=total, previous=Decimal(previous.get(team) or 0), token_cost=Decimal(token_cost or 0),
            gpu_allocated=Decimal(gpu_alloc or 0), gpu_idle=Decimal(gpu_idle or 0),
            requests=int(requests or 0), tokens=int(tokens or 0), days=days, daily_by_model=series,
            cost_per_1k_requests=[c * 1000 / r if r else None for c, r in zip(day_cost, day_req)],
            cost_per_1m_tokens=[c * 1e6 / t if t else None for c, t in zip(day_cost, day_tok)],
            top_features=[(f, c, float(c / total) if total else 0.0) for f, c in f_rows],
            top_models=[(m, by_model[m], float(by_model[m] / total) if total else 0.0) for m in ranked[:8]],
            unpriced=[{"provider": p, "model": m, "status": s, "spans": n, "tokens": t}
                      for tm, p, m, s, n, t in unpriced if tm == team],
        ))
    return pages


def write_lines_csv(con, path: Path) -> int:
    """The plain CSV: one line per day x team x feature x provider x model, tokens and cost."""
    rows = con.execute(
        """
        SELECT strftime(day, '%Y-%m-%d') AS day, tenant, team, feature, coalesce(provider, '') AS provider,
               coalesce(model, '') AS model, sum(requests) AS requests, sum(ok_requests) AS ok_requests,
               sum(tokens) AS total_tokens, sum(token_cost) AS token_cost, sum(gpu_cost) AS gpu_cost,
               sum(token_cost) + sum(gpu_cost) AS cost, sum(unpriced) AS unpriced_requests
        FROM (
            SELECT day, tenant, team, feature, provider, model, requests, ok_requests, tot_t AS tokens, cost AS token_cost,
                   0 AS gpu_cost, CASE WHEN status IN ('unpriced', 'split_unknown') THEN requests ELSE 0 END AS unpriced
            FROM sb_usage
            UNION ALL
            SELECT day, tenant, team, feature, provider, model, 0, 0, 0, 0, cost, 0 FROM sb_gpu
        ) GROUP BY ALL ORDER BY 1, 3, 4, 5, 6
        """
    ).fetchall()
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["day", "tenant", "team", "feature", "provider", "model", "requests", "ok_requests",
                    "total_tokens", "token_cost", "gpu_cost", "cost", "unpriced_requests"])
        w.writerows([[format(v, "f") if isinstance(v, Decimal) else safe_cell(v) for v in r] for r in rows])
    return len(rows)


def build_showback(wh: Warehouse, settings: CostSettings, month: str, out_dir: Path | None = None,
                   *, progress: bool = False, now: datetime | None = None,
                   aggregate_fn: Callable = aggregate) -> Showback:
    """Aggregate the month and, when `out_dir` is given, write showback.html, showback.csv, focus.csv/.parquet.

    `aggregate_fn(con, start, end)` fills the temp tables `sb_usage` and `sb_gpu`; the Dask
    engine passes one that adds up its workers' partials instead of scanning `cost_lines`.
    """
    from inferledger.analytics.cost.reconcile import reconcile
    from inferledger.analytics.cost.showback.progress import steps
    from inferledger.analytics.warehouse import utcnow

    start, end = parse_month(month)
    now = now or utcnow()
    con = wh.cursor()  # temp tables stay private to this cursor
    try:
        sb = Showback(month, settings.currency, start, end, as_of=now if start <= now < end else None)
        with steps(progress, 5 if out_dir else 2, f"showback {month}") as advance:
            aggregate_fn(con, start, end)
            advance("aggregated cost lines")
            sb.teams = _team_pages(con, start, end, as_of=sb.as_of)
            sb.pools = reconcile(wh, settings, start, end, now)
            advance("team pages")
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                csv_path, pq_path, sb.focus_rows = write_focus(con, settings.currency, out_dir)
                advance("FOCUS export")
                lines_path = out_dir / "showback.csv"
                write_lines_csv(con, lines_path)
                advance("CSV")
                from inferledger.analytics.cost.showback.html import render_html

                html_path = out_dir / "showback.html"
                html_path.write_text(render_html(sb))
                advance("HTML")
                sb.files = {"html": str(html_path), "csv": str(lines_path), "focus_csv": str(csv_path),
                            "focus_parquet": str(pq_path)}
        return sb
    finally:
        con.close()
