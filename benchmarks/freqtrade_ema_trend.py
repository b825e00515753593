"""freqtrade's side of benchmarks/bench_replay_vs_freqtrade.py: the replay's ``ema_trend`` signals
as a freqtrade strategy (loaded by name from ``user_data/strategies``, where the benchmark links
this file). Benchmark-only: riskguard never imports freqtrade.

The entries are ``riskguard.replay.strategies.EmaTrend``'s: long when EMA(20) of the close crosses
above EMA(50), short when it crosses below (both EMAs seeded with the first close, alpha
2 / (span + 1), pandas' ``ewm(adjust=False)``); a signal while the pair holds a trade is ignored, as
the replay skips it. The exits are freqtrade's cheapest (a static stop and one ROI target, no
callback) sized like the replay's plan on this year: the moderate posture's stop is 1.5 ATR(14),
a median 1.3 % of the price, and its target 2 R; at 3x that is ~4 % and ~8 % of the margin. The
trades then last about as long as the replay's (freqtrade's loop costs per bar of an open trade),
so the anchor is freqtrade's bare loop on a like trade list, not a risk engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class EmaTrendCross(IStrategy):
    """EMA(20) / EMA(50) cross, long and short, 3x leverage, a 4 % stop and an 8 % target (of the margin)."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = True
    startup_candle_count = 50  # the replay emits nothing during the slow EMA's first 50 bars
    minimal_roi = {"0": 0.08}  # noqa: RUF012 (freqtrade reads it as a class attribute); 2 R at 3x
    stoploss = -0.04  # of the margin: 1.3 % of the price at 3x
    use_exit_signal = False  # the replay's trades end at their stop or target, not at the next cross
    fast, slow = 20, 50

    def populate_indicators(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        close = dataframe["close"]
        dataframe["ema_fast"] = close.ewm(span=self.fast, adjust=False).mean()
        dataframe["ema_slow"] = close.ewm(span=self.slow, adjust=False).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        above = dataframe["ema_fast"] > dataframe["ema_slow"]
        before = above.shift(1, fill_value=False)
        dataframe.loc[above & ~before, ["enter_long", "enter_tag"]] = (1, "ema_cross_up")
        dataframe.loc[~above & before, ["enter_short", "enter_tag"]] = (1, "ema_cross_down")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        return dataframe  # exits are the stop and the target only

    def leverage(self, pair: str, current_time: datetime, current_rate: float, proposed_leverage: float,
                 max_leverage: float, entry_tag: str | None, side: str, **kwargs: Any) -> float:
        return min(3.0, max_leverage)
