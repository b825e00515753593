"""Replay reports: offline HTML with inline SVG plots, SVG files, terminal tables, synthetic labelling."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from riskguard.config import preset
from riskguard.replay.market import synthetic_market
from riskguard.replay.metrics import daily_sharpe, drawdown_curve, summarize
from riskguard.replay.report import print_summary, rounded, write_report
from riskguard.replay.runner import ReplayOptions, ReplayResult, run_replay
from riskguard.replay.strategies import EmaTrend


@pytest.fixture(scope="module")
def result() -> ReplayResult:
    return run_replay(preset("moderate"), synthetic_market(days=30), strategies=[EmaTrend()],
                      options=ReplayOptions(use_ledger=False))


def test_html_report_is_self_contained_and_embeds_every_plot(result: ReplayResult, tmp_path: Path) -> None:
    paths = write_report(result, tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert page.count("<svg ") == 4
    for name in ("equity", "drawdown", "exposure", "vetoes"):
        svg = paths[name].read_text(encoding="utf-8")
        assert paths[name].suffix == ".svg" and svg.startswith("<svg ") and svg.endswith("</svg>")
        assert f'<figure id="{name}">{svg}</figure>' in page


def test_every_output_of_a_synthetic_run_says_it_is_synthetic(result: ReplayResult, tmp_path: Path) -> None:
    paths = write_report(result, tmp_path)
    assert "SYNTHETIC DATA" in paths["html"].read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in paths["json"].read_text(encoding="utf-8")
    for name in ("equity", "drawdown", "exposure", "vetoes"):
        assert "SYNTHETIC DATA" in paths[name].read_text(encoding="utf-8")
    console = Console(record=True, width=120)
    print_summary(result, summarize(result), console)
    assert "SYNTHETIC DATA" in console.export_text()


def test_terminal_summary_shows_pass_rate_vetoes_and_resizes(result: ReplayResult) -> None:
    console = Console(record=True, width=120)
    print_summary(result, summarize(result), console)
    text = console.export_text()
    for label in ("return", "max drawdown", "Sharpe", "trades", "pass rate", "veto reasons",
                  "resizes by binding gate"):
        assert label in text


def test_rounding_is_fixed_and_turns_non_finite_into_null() -> None:
    assert rounded({"a": 1.23456789, "b": (float("nan"), -0.0), "c": np.float64(2.5)}) == {
        "a": 1.234568, "b": [None, 0.0], "c": 2.5}


def test_drawdown_is_measured_from_the_running_peak() -> None:
    curve = drawdown_curve(np.array([100.0, 120.0, 90.0, 130.0]))
    assert curve.tolist() == pytest.approx([0.0, 0.0, 0.25, 0.0])


def test_sharpe_of_a_flat_equity_curve_is_zero() -> None:
    times = np.arange(24 * 10, dtype=np.int64) * 3_600_000
    assert daily_sharpe(times, np.full(times.shape, 4_400.0)) == 0.0
