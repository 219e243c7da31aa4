"""An SVG picture of a scored series: values, the detector's expectation, alarms marked.

Plain SVG text (no plotting library): it opens in any browser and embeds in the
showback HTML or a Slack message as is. Long series are reduced to at most
`max_points` columns (min and max per column kept, so spikes survive).
"""

from __future__ import annotations

from html import escape

import numpy as np


def _columns(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: index, min, max (NaN-aware)."""
    edges = np.linspace(0, len(values), n + 1).astype(int)
    idx, lo, hi = [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        chunk = values[a:b]
        if np.isfinite(chunk).any():
            idx.append((a + b - 1) / 2)
            lo.append(np.nanmin(chunk))
            hi.append(np.nanmax(chunk))
    return np.array(idx), np.array(lo), np.array(hi)


def series_svg(values: np.ndarray, expected: np.ndarray, alarm: np.ndarray, title: str = "",
               width: int = 900, height: int = 260, max_points: int = 600) -> str:
    values = np.asarray(values, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    n = len(values)
    if n == 0:
        raise ValueError("nothing to draw: the series is empty")
    pad_l, pad_r, pad_t, pad_b = 60, 10, 28, 24
    both = np.concatenate([values[np.isfinite(values)], expected[np.isfinite(expected)]])
    y0, y1 = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    if y1 <= y0:
        y0, y1 = y0 - 1, y1 + 1

    def sx(i):
        return pad_l + (np.asarray(i, dtype=float) / max(n - 1, 1)) * (width - pad_l - pad_r)

    def sy(v):
        return pad_t + (1 - (np.asarray(v, dtype=float) - y0) / (y1 - y0)) * (height - pad_t - pad_b)

    cols = min(max_points, n)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{pad_l}" y="16" font-size="13">{escape(title)}</text>']
    for frac in (0.0, 0.5, 1.0):
        v = y0 + frac * (y1 - y0)
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{pad_l - 4}" y="{sy(v) + 4:.1f}" text-anchor="end">{v:.4g}</text>')
    i, lo, hi = _columns(values, cols)
    band = " ".join(f"M{x:.1f},{a:.1f}V{b:.1f}" for x, a, b in zip(sx(i), sy(lo), sy(hi)))
    parts.append(f'<path d="{band}" stroke="#4477aa" stroke-width="1.2" fill="none"/>')
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(i), sy((lo + hi) / 2)))
    parts.append(f'<polyline points="{line}" stroke="#4477aa" stroke-width="0.8" fill="none"/>')
    ei, elo, ehi = _columns(expected, cols)
    eline = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(ei), sy((elo + ehi) / 2)))
    parts.append(f'<polyline points="{eline}" stroke="#999" stroke-dasharray="4 3" fill="none"/>')
    for k in np.flatnonzero(np.asarray(alarm, dtype=bool) & np.isfinite(values)):
        parts.append(f'<circle cx="{sx(k):.1f}" cy="{sy(values[k]):.1f}" r="4" fill="none" stroke="#cc3311" stroke-width="2"/>')
    parts.append(f'<text x="{width - pad_r}" y="16" text-anchor="end" fill="#555">— value  - - expected  '
                 f'○ alarm ({int(np.asarray(alarm, bool).sum())})</text>')
    parts.append("</svg>")
    return "\n".join(parts)
