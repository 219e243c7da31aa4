"""An SVG picture of a scored series: values, the expected band, alarms marked, a time axis.

Plain SVG text (no plotting library): it opens in any browser and embeds in the
showback HTML or a Slack message as is. Long series are reduced to at most
`max_points` columns (min and max per column kept, so spikes survive).

The band is the expectation plus or minus `band_z` typical deviations of the series
around it (an EW mean absolute deviation of value - expected, from the past only), the
range inside which a point is ordinary. Ticks are round numbers written out in full
(12,500 not 1.25e+04) and round times (every hour, 6 hours, day, ...).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from html import escape

import numpy as np

SIGMA_PER_MAD = 1.2533141373155001
TIME_STEPS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400)


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


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def plain_number(v: float, step: float | None = None) -> str:
    """12,500 / 0.25 / 3: as many decimals as the tick step needs, never exponent notation."""
    decimals = 0 if step is None or step >= 1 else min(12, -math.floor(math.log10(step)))
    if step is None and v != 0 and abs(v) < 1:
        decimals = min(12, -math.floor(math.log10(abs(v))) + 2)
    return f"{v:,.{decimals}f}"


def expected_band(values: np.ndarray, expected: np.ndarray, band_z: float, alpha: float = 0.02) -> np.ndarray:
    """Half-width of the ordinary range at each point, from the residuals before it."""
    dev = np.full(len(values), np.nan)
    d, n = 0.0, 0
    for i, (x, e) in enumerate(zip(values, expected)):
        if n:
            dev[i] = d
        if math.isfinite(x) and math.isfinite(e):
            a = max(alpha, 1.0 / (n + 1))
            d += a * (abs(x - e) - d)
            n += 1
    return band_z * SIGMA_PER_MAD * dev


def _time_ticks(ts: np.ndarray, count: int = 8) -> list[tuple[int, str]]:
    span = int(ts[-1] - ts[0])
    step = next((s for s in TIME_STEPS if span / s <= count), TIME_STEPS[-1])
    first = (int(ts[0]) // step + 1) * step if int(ts[0]) % step else int(ts[0])
    fmt = "%m-%d" if step >= 86400 else "%m-%d %H:%M"
    return [(t, (datetime(1970, 1, 1) + timedelta(seconds=t)).strftime(fmt)) for t in range(first, int(ts[-1]) + 1, step)]


def series_svg(values: np.ndarray, expected: np.ndarray, alarm: np.ndarray, title: str = "",
               width: int = 900, height: int = 280, max_points: int = 600, timestamps: np.ndarray | None = None,
               band_z: float = 5.0) -> str:
    """The chart; `timestamps` (epoch seconds) give a time axis, else rows are numbered."""
    values = np.asarray(values, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    alarm = np.asarray(alarm, dtype=bool)
    n = len(values)
    if n == 0:
        raise ValueError("nothing to draw: the series is empty")
    band = expected_band(values, expected, band_z)
    pad_l, pad_r, pad_t, pad_b = 76, 12, 30, 40
    both = np.concatenate([a[np.isfinite(a)] for a in (values, expected)])
    y0, y1 = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    if y1 <= y0:
        y0, y1 = y0 - 1, y1 + 1
    y0, y1 = y0 - 0.04 * (y1 - y0), y1 + 0.04 * (y1 - y0)
    # the band is drawn inside the data's range: a wide band must not flatten the series
    lo_band, hi_band = np.clip(expected - band, y0, y1), np.clip(expected + band, y0, y1)
    ticks = nice_ticks(y0, y1)
    y0, y1 = min(y0, ticks[0]), max(y1, ticks[-1])

    def sx(i):
        return pad_l + (np.asarray(i, dtype=float) / max(n - 1, 1)) * (width - pad_l - pad_r)

    def sy(v):
        return pad_t + (1 - (np.asarray(v, dtype=float) - y0) / (y1 - y0)) * (height - pad_t - pad_b)

    cols = min(max_points, n)
    bottom = height - pad_b
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{pad_l}" y="17" font-size="13">{escape(title)}</text>']
    step = ticks[1] - ticks[0] if len(ticks) > 1 else None
    for v in ticks:
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{pad_l - 5}" y="{sy(v) + 4:.1f}" text-anchor="end">{plain_number(v, step)}</text>')
    parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{bottom}" y2="{bottom}" stroke="#888"/>')
    if timestamps is not None and len(timestamps) == n and n > 1:
        ts = np.asarray(timestamps, dtype=np.int64)
        for t, label in _time_ticks(ts):
            x = float(sx(np.interp(t, ts, np.arange(n))))
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{pad_t}" y2="{bottom + 4}" stroke="#eeeeee"/>')
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{width - pad_r}" y="{height - 4}" text-anchor="end" fill="#555">time (UTC)</text>')
    else:
        for v in nice_ticks(0, n - 1):
            parts.append(f'<text x="{sx(v):.1f}" y="{bottom + 16}" text-anchor="middle">{plain_number(v)}</text>')
        parts.append(f'<text x="{width - pad_r}" y="{height - 4}" text-anchor="end" fill="#555">row</text>')
    # the expected band: a filled polygon, upper edge left to right then lower edge back
    bi, blo, _ = _columns(lo_band, cols)
    hi_i, _, bhi = _columns(hi_band, cols)
    if len(bi) and len(bi) == len(hi_i):
        upper = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(hi_i), sy(bhi)))
        lower = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(bi)[::-1], sy(blo)[::-1]))
        parts.append(f'<polygon points="{upper} {lower}" fill="#bbccee" fill-opacity="0.45" stroke="none"/>')
    ei, elo, ehi = _columns(expected, cols)
    eline = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(ei), sy((elo + ehi) / 2)))
    parts.append(f'<polyline points="{eline}" stroke="#777" stroke-dasharray="4 3" fill="none"/>')
    i, lo, hi = _columns(values, cols)
    spans = " ".join(f"M{x:.1f},{a:.1f}V{b:.1f}" for x, a, b in zip(sx(i), sy(lo), sy(hi)))
    parts.append(f'<path d="{spans}" stroke="#4477aa" stroke-width="1.2" fill="none"/>')
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(sx(i), sy((lo + hi) / 2)))
    parts.append(f'<polyline points="{line}" stroke="#4477aa" stroke-width="0.8" fill="none"/>')
    for k in np.flatnonzero(alarm & np.isfinite(values)):
        x, y = sx(k), sy(values[k])
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{pad_t}" y2="{bottom}" stroke="#cc3311" stroke-opacity="0.35"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="none" stroke="#cc3311" stroke-width="2"/>')
    parts.append(f'<text x="{width - pad_r}" y="17" text-anchor="end" fill="#555">— value  - - expected  '
                 f'▒ expected ± {plain_number(band_z)} typical deviations  ○ alarm ({int(alarm.sum())})</text>')
    parts.append("</svg>")
    return "\n".join(parts)
