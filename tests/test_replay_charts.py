"""The replay report's SVG charts: drawn from the data, faithful when reduced to pixel columns."""

from __future__ import annotations

import re

import numpy as np

from riskguard.replay.charts import WIDTH, _Frame, line_chart, stacked_bar_chart

DAY_MS = 86_400_000


def _polyline_values(svg: str) -> list[float]:
    points = re.search(r'points="([^"]+)"', svg)
    assert points is not None
    return [float(p.split(",")[1]) for p in points.group(1).split()]


def test_a_long_line_is_reduced_to_pixel_columns_keeping_its_extremes() -> None:
    times = np.arange(20_000, dtype=np.int64) * 3_600_000
    values = np.sin(np.arange(20_000) / 50.0)
    values[12_345] = 3.0  # one spike must survive the reduction
    svg = line_chart(times, values, "t", "#000")
    ys = _polyline_values(svg)
    assert len(ys) <= 4 * WIDTH
    frame = _Frame(int(times[0]), int(times[-1]), float(values.min()), 3.0)
    assert min(ys) == round(float(frame.ys(np.array([3.0]))[0]), 1)  # the spike is still the top
    assert max(ys) == round(float(frame.ys(np.array([values.min()]))[0]), 1)


def test_a_short_line_keeps_every_point_and_skips_non_finite_values() -> None:
    times = np.arange(10, dtype=np.int64) * DAY_MS
    values = np.arange(10, dtype=np.float64)
    values[3] = np.nan
    assert len(_polyline_values(line_chart(times, values, "t", "#000"))) == 9


def test_the_title_is_escaped_and_carried_as_text() -> None:
    svg = line_chart(np.arange(3, dtype=np.int64), np.ones(3), "a <b> & c", "#000")
    assert "a &lt;b&gt; &amp; c" in svg and "<b>" not in svg


def test_stacked_bars_draw_one_group_per_series_with_a_legend() -> None:
    counts = {"cooldown_active": {0: 2, 7 * DAY_MS: 1}, "leverage_exceeded": {7 * DAY_MS: 4}}
    svg = stacked_bar_chart(counts, 7 * DAY_MS, "vetoes", "reasons counted")
    assert svg.count("<g fill=") == 2
    assert svg.count("<title>cooldown_active</title>") == 1 and ">leverage_exceeded</text>" in svg


def test_stacked_bars_without_data_say_so() -> None:
    assert "no vetoes" in stacked_bar_chart({}, 7 * DAY_MS, "vetoes", "reasons counted")
