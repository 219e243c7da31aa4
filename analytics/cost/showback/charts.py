"""Inline SVG charts for the showback page: no plotting dependency, no external assets.

The report must open from a mail attachment or a shared drive, so charts are
plain SVG strings embedded in the HTML. Functions take plain lists and return SVG.
"""

from __future__ import annotations

from html import escape

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]


def nice_ticks(v: float, most: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least v: steps of 1, 2 or 5 x 10^k, at most `most` steps."""
    import math

    if not v > 0:
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    exp = 10 ** math.floor(math.log10(v / most))
    for m in (1, 2, 5, 10, 20):
        step = m * exp
        if math.ceil(v / step - 1e-9) <= most:
            break
    n = max(1, math.ceil(v / step - 1e-9))
    return [round(step * k, 10) for k in range(n + 1)]


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{v:.4f}".rstrip("0").rstrip(".") or "0"


def _svg_open(width: int, height: int, title: str) -> str:
    """Scales down with its container (the report must read at 800 px), never wider than designed."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'style="width:100%;max-width:{width}px;height:auto" class="chart" role="img" '
            f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">')


def _short(name: str, n: int = 34) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _frame(width: int, height: int, title: str, ticks: list[float], unit: str,
           left: float, top: float, pw: float, ph: float) -> list[str]:
    """The opening of a chart: its title and a grid line with a labelled tick per y value."""
    ymax = ticks[-1]
    parts = [_svg_open(width, height, title),
             f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for tick in ticks:
        y = top + ph - ph * tick / ymax
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{unit}{_fmt(tick)}</text>')
    return parts


def stacked_bars(labels: list[str], series: dict[str, list[float]], *, title: str, unit: str = "$",
                 width: int = 840, height: int = 260, dates: bool = True) -> str:
    """Bars per label (e.g. day), stacked by series (e.g. model), with a legend.

    `dates`: labels are YYYY-MM-DD and shown as MM-DD; otherwise shown whole (shortened).
    """
    left, right, top, bottom = 64, 250, 28, 36
    pw, ph = width - left - right, height - top - bottom
    totals = [sum(s[i] for s in series.values()) for i in range(len(labels))]
    ticks = nice_ticks(max(totals, default=0))
    ymax = ticks[-1]
    n = max(len(labels), 1)
    bw = pw / n
    parts = _frame(width, height, title, ticks, unit, left, top, pw, ph)
    for i, label in enumerate(labels):
        y = top + ph
        for j, (name, values) in enumerate(series.items()):
            h = ph * values[i] / ymax if ymax else 0
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{left + i * bw + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: {unit}{_fmt(values[i])}</title></rect>'
            )
        if n <= 16 or i % max(n // 10, 1) == 0:
            parts.append(f'<text x="{left + (i + 0.5) * bw:.1f}" y="{top + ph + 14}" text-anchor="middle">{escape(label[-5:] if dates else _short(label, 14))}</text>')
    for j, name in enumerate(series):
        y = top + 4 + j * 16
        parts.append(f'<rect x="{left + pw + 12}" y="{y}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{left + pw + 26}" y="{y + 9}">{escape(_short(name))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(labels: list[str], series: dict[str, list[float | None]], *, title: str, unit: str = "$",
          width: int = 840, height: int = 220) -> str:
    """One line per series over the labels; gaps (None) break the line."""
    left, right, top, bottom = 64, 250, 28, 36
    pw, ph = width - left - right, height - top - bottom
    vals = [v for s in series.values() for v in s if v is not None]
    ticks = nice_ticks(max(vals, default=0))
    ymax = ticks[-1]
    n = max(len(labels) - 1, 1)
    parts = _frame(width, height, title, ticks, unit, left, top, pw, ph)
    for j, (name, values) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        path, pen = [], "M"
        for i, v in enumerate(values):
            if v is None:
                pen = "M"
                continue
            x, y = left + pw * i / n, top + ph - ph * v / ymax
            path.append(f"{pen}{x:.1f},{y:.1f}")
            pen = "L"
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{color}"><title>{escape(labels[i])}: {unit}{_fmt(v)}</title></circle>')
        if path:
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<rect x="{left + pw + 12}" y="{top + 4 + j * 16}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{left + pw + 26}" y="{top + 13 + j * 16}">{escape(_short(name))}</text>')
    step = max(len(labels) // 10, 1)
    for i in range(0, len(labels), step):
        parts.append(f'<text x="{left + pw * i / n:.1f}" y="{top + ph + 14}" text-anchor="middle">{escape(labels[i][-5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)
