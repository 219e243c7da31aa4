"""Render the showback HTML: a summary page and a page per team, charts inline."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources

import jinja2

from inferledger.analytics.cost.showback import charts


def money(v: Decimal | float | None, currency: str = "USD") -> str:
    if v is None:
        return "—"
    sym = "$" if currency == "USD" else f"{currency} "
    v = Decimal(v)
    return f"{sym}{v:,.2f}" if abs(v) >= 1 or v == 0 else f"{sym}{v:.4f}"


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1%}"


def render_html(sb) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["money"] = lambda v: money(v, sb.currency)
    env.filters["pct"] = pct
    env.filters["share"] = lambda v: f"{v:.1%}"
    env.filters["int"] = lambda v: f"{int(v or 0):,}"
    template = env.from_string(resources.files("inferledger.analytics.cost.showback").joinpath("template.html.j2").read_text())
    team_charts = {}
    for t in sb.teams:
        team_charts[t.team] = {
            "daily": charts.stacked_bars(t.days, t.daily_by_model, title=f"Daily spend by model — {t.team}"),
            "unit": charts.lines(t.days, {"per 1K requests": t.cost_per_1k_requests},
                                 title="Cost per 1K requests (daily)"),
            "unit_tokens": charts.lines(t.days, {"per 1M tokens": t.cost_per_1m_tokens},
                                        title="Cost per 1M tokens (daily)"),
        }
    summary = charts.stacked_bars(
        [t.team for t in sb.teams],
        {"tokens (hosted APIs)": [float(t.token_cost) for t in sb.teams],
         "GPU allocated": [float(t.gpu_allocated) for t in sb.teams],
         "GPU idle": [float(t.gpu_idle) for t in sb.teams]},
        title=f"Spend by team — {sb.month}", dates=False,
    )
    return template.render(sb=sb, charts=team_charts, summary=summary)
