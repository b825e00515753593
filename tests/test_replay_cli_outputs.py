"""Replay inputs and outputs say what they are: --data takes only the requested symbols and
timeframe, calibrate's rows and plot points are told apart, the veto plot says it counts reasons,
shipped examples are reachable as example:NAME, and every command that prints has --json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from typer.testing import CliRunner

from riskguard.cli.app import app
from riskguard.replay.calibrate import calibrate_figure, load_grid
from riskguard.replay.market import load_market, synthetic_market
from riskguard.replay.report import VETO_REASONS_TITLE

runner = CliRunner()


def _candles(path: Path, start: str, bars: int, freq: str = "1h") -> None:
    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.002, bars)))
    pd.DataFrame({"date": pd.date_range(start, periods=bars, freq=freq, tz="UTC"), "open": close,
                  "high": close * 1.001, "low": close * 0.999, "close": close, "volume": 1.0}).to_csv(path, index=False)


def test_a_data_directory_gives_only_the_requested_symbols_and_timeframe(tmp_path: Path) -> None:
    _candles(tmp_path / "BTC_USDT_USDT-1h-futures.csv", "2024-01-01", 200)
    _candles(tmp_path / "XRP_USDT_USDT-1h-futures.csv", "2021-01-01", 200)  # a stray file of another year
    _candles(tmp_path / "BTC_USDT_USDT-5m-futures.csv", "2024-01-01", 200, "5min")
    market = load_market([tmp_path], symbols=["BTCUSDT"])
    assert market.symbols == ("BTCUSDT",)
    assert market.series[0].timeframe_ms == 3_600_000
    assert "XRP" not in market.description


def test_replay_on_a_data_directory_defaults_to_the_postures_allowed_symbols(tmp_path: Path) -> None:
    _candles(tmp_path / "BTC_USDT_USDT-1h-futures.csv", "2024-01-01", 300)
    _candles(tmp_path / "XRP_USDT_USDT-1h-futures.csv", "2021-01-01", 300)
    result = runner.invoke(app, ["replay", "--data", str(tmp_path), "--no-ledger", "--json",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "XRP" not in json.dumps(report["data"]) and "BTCUSDT" in json.dumps(report["data"])


def test_calibrate_labels_every_grid_row_distinctly_and_reaches_the_shipped_grid() -> None:
    points = load_grid("example:calibrate_grid")
    labels = [p.label for p in points]
    assert len(set(labels)) == len(labels) == 8
    assert "moderate with portfolio.max_open_positions=2, trade.max_trade_nav_pct=0.1" in labels


def test_the_calibrate_plot_has_a_legend_naming_each_numbered_point() -> None:
    rows = [{"label": name, "max_drawdown": 0.01 * i, "total_return": 0.02 * i, "pass_rate": 0.5}
            for i, name in enumerate(["ultra_conservative", "moderate with trade.max_trade_nav_pct=0.1"], start=1)]
    figure = calibrate_figure(rows, synthetic_market(days=2))
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "1: ultra_conservative", "2: moderate with trade.max_trade_nav_pct=0.1"]


def test_the_veto_count_says_it_counts_reasons(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", "--synthetic", "--start", "2024-01-01", "--end", "2024-01-20",
                                 "--no-ledger", "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert VETO_REASONS_TITLE in result.stdout and "counts once per reason" in VETO_REASONS_TITLE
    assert VETO_REASONS_TITLE in (tmp_path / "report.html").read_text()


def test_shipped_grid_and_posture_examples_are_listed_and_usable() -> None:
    listed = json.loads(runner.invoke(app, ["examples", "--json"]).stdout)
    assert {"calibrate_grid", "ultra_conservative"} <= {e["name"] for e in listed}
    assert runner.invoke(app, ["examples", "calibrate_grid"]).stdout.startswith("# A calibrate grid")
    shown = runner.invoke(app, ["config", "show", "example:ultra_conservative", "--json"])
    assert shown.exit_code == 0, shown.output


SERVERS = {"riskguard serve"}  # their output is the HTTP API (and uvicorn's log), not a report


def test_every_command_that_prints_has_json() -> None:
    root = typer.main.get_command(app)
    missing = []

    def walk(command: object, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}")
            return
        if path not in SERVERS and not any("--json" in getattr(p, "opts", []) for p in getattr(command, "params", [])):
            missing.append(path)

    walk(root, "riskguard")
    assert not missing, f"commands without --json: {missing}"
