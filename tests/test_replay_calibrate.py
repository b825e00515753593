"""``calibrate``: a grid of postures over the same data and signals, in parallel processes."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from riskguard.model.errors import InputValidationError
from riskguard.replay.calibrate import calibrate, calibrate_json, load_grid
from riskguard.replay.market import synthetic_market
from riskguard.replay.runner import ReplayOptions

SHIPPED_GRID = Path(str(resources.files("riskguard.examples").joinpath("calibrate_grid.yaml")))


def test_the_shipped_grid_holds_the_story_postures_and_the_cartesian_product() -> None:
    points = load_grid(SHIPPED_GRID)
    labels = [p.label for p in points]
    assert labels[:4] == ["ultra_conservative", "conservative", "moderate", "aggressive"]
    assert len(points) == 4 + 2 * 2
    assert points[4].overrides == {"portfolio.max_open_positions": 2, "trade.max_trade_nav_pct": 0.1}


def test_parallel_calibration_returns_rows_in_grid_order_like_a_serial_one(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("base: moderate\ngrid:\n  trade.max_trade_nav_pct: [0.05, 0.20]\n", encoding="utf-8")
    points = load_grid(grid)
    market = synthetic_market(days=20, symbols=["BTCUSDT", "ETHUSDT"])
    options = ReplayOptions(use_ledger=False)
    serial = calibrate(points, market, strategy_names=["ema_trend"], options=options, workers=1)
    parallel = calibrate(points, market, strategy_names=["ema_trend"], options=options, workers=2)
    assert calibrate_json(parallel, market) == calibrate_json(serial, market)
    assert [r["label"] for r in serial] == [p.label for p in points]
    assert all(r["binding_gate"] for r in serial)
    assert json.loads(calibrate_json(serial, market))["synthetic"] is True


@pytest.mark.parametrize(("text", "field"), [
    ("grid:\n  trade.max_trade_nav_pct: 0.1\n", "grid.trade.max_trade_nav_pct"),
    ("postures: [no_such_posture.yaml]\n", "postures[0]"),
    ("grid:\n  trade.max_trade_nav_pct: [-1]\n", "grid moderate"),
    ("grids: {}\n", "grids"),
    ("{}\n", "defines no posture"),
])
def test_a_bad_grid_names_the_file_and_the_entry(tmp_path: Path, text: str, field: str) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(text, encoding="utf-8")
    with pytest.raises(InputValidationError) as error:
        load_grid(grid)
    assert str(grid) in str(error.value) and field in str(error.value)
