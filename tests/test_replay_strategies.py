"""The shipped example strategies and the signals-file loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskguard.model.enums import Side
from riskguard.model.errors import InputValidationError
from riskguard.replay.data import OhlcvArrays
from riskguard.replay.signals_file import load_signals
from riskguard.replay.strategies import BarView, Breakout, EmaTrend, Strategy, ema, strategy_by_name


def _bars(close: np.ndarray) -> OhlcvArrays:
    n = close.shape[0]
    times = np.arange(n, dtype=np.int64) * 3_600_000 + 1_704_067_200_000
    return OhlcvArrays(times, close.copy(), close * 1.001, close * 0.999, close.copy(), np.ones(n))


def _signals(strategy: Strategy, bars: OhlcvArrays) -> list[tuple[int, Side]]:
    strategy.prepare("BTCUSDT", bars)
    out = []
    for i in range(len(bars)):
        entry = strategy(BarView("BTCUSDT", i, bars))
        if entry is not None:
            out.append((i, entry.side))
    return out


def test_ema_matches_the_recursive_definition() -> None:
    values = np.array([1.0, 2.0, 4.0, 3.0, 5.0])
    alpha = 2.0 / 4.0
    expected = [values[0]]
    for v in values[1:]:
        expected.append(alpha * v + (1 - alpha) * expected[-1])
    assert ema(values, 3) == pytest.approx(expected)


def test_ema_trend_buys_the_cross_up_and_sells_the_cross_down_once_each() -> None:
    close = np.concatenate([np.full(80, 100.0), np.linspace(100, 130, 60), np.linspace(130, 90, 80)])
    signals = _signals(EmaTrend(fast=5, slow=20), _bars(close))
    assert [side for _, side in signals] == [Side.BUY, Side.SELL]
    assert signals[0][0] > 80 and signals[1][0] > 140


def test_breakout_signals_only_the_first_bar_beyond_the_channel() -> None:
    close = np.concatenate([np.full(60, 100.0), [103.0, 104.0, 105.0], np.full(20, 105.0)])
    signals = _signals(Breakout(window=48), _bars(close))
    assert signals == [(60, Side.BUY)]


def test_strategies_signal_nothing_during_warm_up() -> None:
    close = np.linspace(100.0, 50.0, 40)
    assert _signals(EmaTrend(fast=5, slow=50), _bars(close)) == []
    assert _signals(Breakout(window=48), _bars(close)) == []


def test_unknown_strategy_names_the_field() -> None:
    with pytest.raises(InputValidationError, match="strategy"):
        strategy_by_name("martingale")


def test_ema_trend_refuses_a_fast_window_not_below_the_slow_one() -> None:
    with pytest.raises(InputValidationError, match="fast"):
        EmaTrend(fast=50, slow=20)


def test_signals_csv_rows_are_validated_and_sorted(tmp_path: Path) -> None:
    path = tmp_path / "signals.csv"
    path.write_text("ts,symbol,side,confidence,leverage\n"
                    "2024-01-02T00:00:00Z,ethusdt,short,0.7,2\n"
                    "1704067200000,BTCUSDT,BUY,,\n", encoding="utf-8")
    rows = load_signals(path)
    assert [(r.ts_ms, r.symbol, r.side) for r in rows] == [
        (1_704_067_200_000, "BTCUSDT", Side.BUY), (1_704_153_600_000, "ETHUSDT", Side.SELL)]
    assert rows[0].confidence is None and rows[1].leverage == 2.0


def test_signals_json_accepts_epoch_seconds(tmp_path: Path) -> None:
    path = tmp_path / "signals.json"
    path.write_text('{"signals": [{"ts": 1704067200, "symbol": "BTCUSDT", "side": "SELL"}]}', encoding="utf-8")
    assert load_signals(path)[0].ts_ms == 1_704_067_200_000


@pytest.mark.parametrize(("row", "field"), [
    ("2024-01-02,BTCUSDT,HOLD,0.7", "row 1.side"),
    ("2024-01-02,BTCUSDT,BUY,1.7", "row 1.confidence"),
    ("not-a-date,BTCUSDT,BUY,0.7", "row 1.ts"),
    (",BTCUSDT,BUY,0.7", "row 1.ts"),
])
def test_a_bad_signals_row_names_the_file_row_and_field(tmp_path: Path, row: str, field: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"ts,symbol,side,confidence\n{row}\n", encoding="utf-8")
    with pytest.raises(InputValidationError) as error:
        load_signals(path)
    assert error.value.field == f"{path}:{field}"


def test_an_unknown_signals_column_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ts,symbol,side,size\n2024-01-02,BTCUSDT,BUY,5\n", encoding="utf-8")
    with pytest.raises(InputValidationError, match="size"):
        load_signals(path)
