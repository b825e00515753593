"""The replay report's charts as inline SVG drawn straight from the data (no Matplotlib).

Matplotlib's import and four figures took ~1 s of a ~3 s year replay; these charts take a few
milliseconds, are vector (sharp at any zoom), offline and self-contained. A line with more points
than pixels is reduced per pixel column to its first, lowest, highest and last value, which draws
the same picture.
"""

from __future__ import annotations

import html
import math

import numpy as np
import numpy.typing as npt

WIDTH, HEIGHT = 860, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 26
PALETTE = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
           "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
           "#17becf", "#9edae5")
"""Matplotlib's tab20 colours, one per veto reason (the same colours the PNG plots used)."""
COLORS = {"blue": "#1f77b4", "red": "#d62728", "green": "#2ca02c"}


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(value) or 1.0
    digits = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:,.{min(digits, 6)}f}"


class _Frame:
    """Plot area mapping: time (epoch ms) to x pixels, value to y pixels."""

    def __init__(self, t0: int, t1: int, low: float, high: float) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 1)
        if not high > low:
            low, high = low - 1.0, high + 1.0
        pad = (high - low) * 0.04
        self.low, self.high = low - pad, high + pad
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xs(self, t: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return LEFT + (t - self.t0) / (self.t1 - self.t0) * self.plot_w

    def ys(self, v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return TOP + (self.high - v) / (self.high - self.low) * self.plot_h

    def axes(self, title: str, y_label: str = "") -> list[str]:
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
                 f'height="{HEIGHT}" font-family="sans-serif" font-size="10" role="img">',
                 f"<title>{html.escape(title)}</title>",
                 f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
                 f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="12">{html.escape(title)}</text>']
        ticks = _nice_ticks(self.low, self.high)
        for value in ticks:
            y = float(self.ys(np.array([value]))[0])
            parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                         f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{_label(value, ticks)}</text>')
        months = np.arange(np.datetime64(self.t0, "ms").astype("datetime64[M]") + 1,
                           np.datetime64(self.t1, "ms").astype("datetime64[M]") + 1)
        every = max(1, math.ceil(len(months) / 12))
        for month in months[::every]:
            t = int(month.astype("datetime64[ms]").astype(np.int64))
            x = float(self.xs(np.array([t]))[0])
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#eee"/>'
                         f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 13}" text-anchor="middle">{month}</text>')
        parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{self.plot_w}" height="{self.plot_h}" fill="none" '
                     'stroke="#888"/>')
        if y_label:
            parts.append(f'<text transform="translate(12 {TOP + self.plot_h / 2}) rotate(-90)" '
                         f'text-anchor="middle">{html.escape(y_label)}</text>')
        return parts


def _per_pixel(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    """First, lowest, highest and last point of each pixel column (the line looks the same)."""
    if x.size <= 4 * WIDTH:
        return x, y
    column = np.floor(x).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], np.diff(column) != 0)))
    ends = np.append(starts[1:], x.size) - 1
    lows, highs = np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)
    xs = np.repeat(column[starts].astype(np.float64), 4)
    ys = np.column_stack((y[starts], lows, highs, y[ends])).ravel()
    return xs, ys


def _points(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x.tolist(), y.tolist(), strict=True))


def line_chart(times_ms: npt.NDArray[np.int64], values: npt.NDArray[np.float64], title: str, color: str,
               *, filled: bool = False) -> str:
    """An SVG line chart of ``values`` over ``times_ms`` (epoch ms); ``filled`` shades down to zero
    (the drawdown plot). Non-finite values are left out."""
    keep = np.isfinite(values)
    t, v = times_ms[keep].astype(np.int64), values[keep].astype(np.float64)
    if t.size == 0:
        frame = _Frame(0, 1, 0.0, 1.0)
        return "".join(frame.axes(title)) + "</svg>"
    low, high = float(v.min()), float(v.max())
    if filled:
        low, high = min(low, 0.0), max(high, 0.0)
    frame = _Frame(int(t[0]), int(t[-1]), low, high)
    x, y = _per_pixel(frame.xs(t), frame.ys(v))
    parts = frame.axes(title)
    if filled:
        base = float(frame.ys(np.array([0.0]))[0])
        parts.append(f'<polygon fill="{color}" fill-opacity="0.4" points="{x[0]:.1f},{base:.1f} {_points(x, y)} '
                     f'{x[-1]:.1f},{base:.1f}"/>')
    else:
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1" points="{_points(x, y)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar_chart(counts: dict[str, dict[int, int]], width_ms: int, title: str, y_label: str) -> str:
    """An SVG stacked bar chart: one bar per period start (epoch ms) of ``width_ms``, one colour per
    series (legend top left); "no vetoes" when ``counts`` is empty."""
    periods = sorted({p for c in counts.values() for p in c})
    if not periods:
        frame = _Frame(0, 1, 0.0, 1.0)
        return ("".join(frame.axes(title, y_label)) + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" '
                'text-anchor="middle" font-size="12">no vetoes</text></svg>')
    table = np.array([[c.get(p, 0) for p in periods] for c in counts.values()], dtype=np.float64)
    tops = np.cumsum(table, axis=0)
    bar_ms = width_ms * 6 // 7
    frame = _Frame(periods[0], periods[-1] + width_ms, 0.0, float(tops[-1].max()))
    starts = np.array(periods, dtype=np.int64)
    x0, x1 = frame.xs(starts), frame.xs(starts + bar_ms)
    parts = frame.axes(title, y_label)
    for number, (name, top) in enumerate(zip(counts, tops, strict=True)):
        bottom = tops[number - 1] if number else np.zeros(len(periods))
        y_top, y_bottom = frame.ys(top), frame.ys(bottom)
        rects = "".join(f'<rect x="{a:.1f}" y="{b:.1f}" width="{w:.1f}" height="{h:.1f}"/>'
                        for a, b, w, h in zip(x0.tolist(), y_top.tolist(), (x1 - x0).tolist(),
                                              (y_bottom - y_top).tolist(), strict=True) if h > 0.0)
        parts.append(f'<g fill="{PALETTE[number % len(PALETTE)]}"><title>{html.escape(name)}</title>{rects}</g>')
    for number, name in enumerate(counts):
        x, y = LEFT + 6 + (number % 2) * 260, TOP + 6 + (number // 2) * 12
        parts.append(f'<rect x="{x}" y="{y}" width="9" height="9" fill="{PALETTE[number % len(PALETTE)]}"/>'
                     f'<text x="{x + 13}" y="{y + 8}" font-size="9">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trade_chart(times_ms: npt.NDArray[np.int64], closes: npt.NDArray[np.float64],
                stop_steps: list[tuple[int, float]], stop_end_ms: int, adds: list[tuple[int, float]],
                title: str) -> str:
    """An SVG plot of one trade: the closes (epoch ms, USDT) around it, its stop as a step line
    (``stop_steps``: (time from which the level holds, level), ended at ``stop_end_ms``; element
    class ``stop-path``) and a marker at each add's fill (time, price; class ``add``)."""
    levels = [level for _, level in stop_steps] + [price for _, price in adds]
    values = closes[np.isfinite(closes)]
    bounds = ([float(values.min()), float(values.max())] if values.size else []) + levels
    low, high = (min(bounds), max(bounds)) if bounds else (0.0, 1.0)
    t0 = int(times_ms[0]) if times_ms.size else (stop_steps[0][0] if stop_steps else 0)
    t1 = int(times_ms[-1]) if times_ms.size else stop_end_ms
    frame = _Frame(t0, max(t1, stop_end_ms), low, high)
    parts = frame.axes(title, "USDT")
    if times_ms.size:
        x, y = frame.xs(times_ms.astype(np.int64)), frame.ys(closes.astype(np.float64))
        parts.append(f'<polyline class="price" fill="none" stroke="{COLORS["blue"]}" stroke-width="1" '
                     f'points="{_points(x, y)}"/>')
    if stop_steps:
        xs: list[float] = []
        ys: list[float] = []
        ends = [t for t, _ in stop_steps[1:]] + [stop_end_ms]
        for (start, level), end in zip(stop_steps, ends, strict=True):
            a, b = frame.xs(np.array([start, end], dtype=np.int64)).tolist()
            yy = float(frame.ys(np.array([level]))[0])
            xs += [a, b]
            ys += [yy, yy]
        parts.append(f'<polyline class="stop-path" fill="none" stroke="{COLORS["red"]}" stroke-width="1.5" '
                     f'points="{_points(np.array(xs), np.array(ys))}"><title>stop</title></polyline>')
    for at, price in adds:
        cx = float(frame.xs(np.array([at], dtype=np.int64))[0])
        cy = float(frame.ys(np.array([price]))[0])
        parts.append(f'<circle class="add" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{COLORS["green"]}">'
                     f'<title>add at {price:.8g}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
