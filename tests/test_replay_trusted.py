"""The unvalidated builders the replay uses (MarketSnapshot.trusted, Position.trusted) give exactly
the validated model objects, and the directional strategies are asked only at the bars where they
can fire."""

from __future__ import annotations

import pytest

from riskguard.model.enums import PositionSide, Side
from riskguard.model.position import Position
from riskguard.model.snapshots import MarketSnapshot
from riskguard.replay.market import synthetic_market
from riskguard.replay.strategies import BarView, Breakout, EmaTrend, Entry, signal_entries


@pytest.mark.parametrize("atr", [None, 12.5])
def test_market_snapshot_equals_the_validated_one(atr: float | None) -> None:
    want = MarketSnapshot("BTCUSDT", 43_000.5, 1_700_000_000_000, bid=42_998.35, ask=43_002.65,
                          exchange_ts_ms=1_700_000_000_000, atr=atr)
    got = MarketSnapshot.trusted("BTCUSDT", 43_000.5, 1_700_000_000_000, 42_998.35, 43_002.65, atr)
    assert got == want
    assert got.to_dict() == want.to_dict()  # every slot set (a new field would be missing here)


@pytest.mark.parametrize("side", [PositionSide.LONG, PositionSide.SHORT])
def test_position_equals_the_validated_one(side: PositionSide) -> None:
    want = Position("ETHUSDT", side, 0.123, 2_300.25, "ema_trend", leverage=3.0, stop_price=2_250.0,
                    opened_ts_ms=1_700_000_000_000)
    got = Position.trusted("ETHUSDT", side, 0.123, 2_300.25, "ema_trend", leverage=3.0, stop_price=2_250.0,
                   opened_ts_ms=1_700_000_000_000)
    assert got == want
    assert got.to_dict() == want.to_dict()


@pytest.mark.parametrize("make", [EmaTrend, Breakout])
def test_signal_entries_are_exactly_the_per_bar_calls(make: type[EmaTrend] | type[Breakout]) -> None:
    strategy = make()
    for series in synthetic_market(days=60).series:
        strategy.prepare(series.symbol, series.bars)
        n = len(series.bars) - 1
        every = [(i, e) for i in range(n) if (e := strategy(BarView(series.symbol, i, series.bars))) is not None]
        assert every
        assert signal_entries(strategy, series.symbol, series.bars, n) == every


def test_a_strategy_with_its_own_call_is_asked_at_every_bar() -> None:
    asked: list[int] = []

    class Custom(EmaTrend):
        def __call__(self, view: BarView) -> Entry | None:
            asked.append(view.index)
            return Entry(Side.BUY, 0.5) if view.index == 7 else None

    strategy = Custom()
    series = synthetic_market(days=10).series[0]
    strategy.prepare(series.symbol, series.bars)
    assert signal_entries(strategy, series.symbol, series.bars, 50) == [(7, Entry(Side.BUY, 0.5))]
    assert asked == list(range(50))
