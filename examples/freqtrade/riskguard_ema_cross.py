"""Example freqtrade strategy: an EMA cross on 1h futures, plain and routed through riskguard.

``EmaCross`` is the plain strategy (fixed 3x leverage, freqtrade's own stake and static stop).
``RiskguardEmaCross`` is the same signals with riskguard deciding leverage, stake, entries and the
stop: the only changes are the mixin in the bases, ``use_custom_stoploss`` and the riskguard
columns (confidence, reward/risk, ATR) the signal candle carries.

Copy this file into ``user_data/strategies/`` and run
``freqtrade backtesting --strategy RiskguardEmaCross`` with a ``"riskguard"`` section in the config
(see docs/integrations/freqtrade.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from riskguard.integrations.freqtrade import RiskguardMixin


class EmaCross(IStrategy):
    """Long when EMA(12) crosses above EMA(26), short when it crosses below; exit on the opposite cross."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = True
    startup_candle_count = 60
    minimal_roi = {"0": 100.0}  # noqa: RUF012 (freqtrade reads it as a class attribute); exits come from the signals and the stop, not from ROI
    stoploss = -0.10  # of the margin: at 3x a 3.3 % price move
    use_exit_signal = True
    fast, slow, atr_period = 12, 26, 14

    def populate_indicators(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        close = dataframe["close"]
        dataframe["ema_fast"] = close.ewm(span=self.fast, adjust=False).mean()
        dataframe["ema_slow"] = close.ewm(span=self.slow, adjust=False).mean()
        previous_close = close.shift(1)
        true_range = np.maximum(dataframe["high"] - dataframe["low"],
                                np.maximum((dataframe["high"] - previous_close).abs(),
                                           (dataframe["low"] - previous_close).abs()))
        # Wilder's ATR (price units): riskguard's exit plan puts the stop a posture multiple of it away.
        dataframe["rg_atr"] = true_range.ewm(alpha=1.0 / self.atr_period, adjust=False).mean()
        # The signal's conviction and its expected reward/risk, as riskguard reads them.
        spread = (dataframe["ema_fast"] - dataframe["ema_slow"]).abs() / dataframe["rg_atr"]
        dataframe["rg_confidence"] = (0.6 + 0.2 * spread.clip(upper=1.0)).fillna(0.6)
        dataframe["rg_expected_rr"] = 2.0
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        above = dataframe["ema_fast"] > dataframe["ema_slow"]
        crossed_up = above & ~above.shift(1, fill_value=False)
        crossed_down = ~above & above.shift(1, fill_value=False)
        dataframe.loc[crossed_up, ["enter_long", "enter_tag"]] = (1, "ema_cross_up")
        dataframe.loc[crossed_down, ["enter_short", "enter_tag"]] = (1, "ema_cross_down")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict[str, Any]) -> DataFrame:
        above = dataframe["ema_fast"] > dataframe["ema_slow"]
        dataframe.loc[~above, "exit_long"] = 1
        dataframe.loc[above, "exit_short"] = 1
        return dataframe

    def leverage(self, pair: str, current_time: datetime, current_rate: float, proposed_leverage: float,
                 max_leverage: float, entry_tag: str | None, side: str, **kwargs: Any) -> float:
        return min(3.0, max_leverage)


class RiskguardEmaCross(RiskguardMixin, EmaCross):
    """The same signals; riskguard (posture ``moderate``) sizes, caps, vetoes and places the stop."""

    use_custom_stoploss = True
    stoploss = -0.99  # the riskguard stop (custom_stoploss) governs; this is only the fallback
    riskguard_settings = {"posture": "moderate"}  # noqa: RUF012


class RiskguardEmaCrossPyramid(RiskguardEmaCross):
    """RiskguardEmaCross with position adjustment: it asks to add half its opening stake on every
    candle of an open trade, in profit or in loss, and moves its stop to break-even once the trade
    is as far in profit as its stop is away. riskguard decides which adds happen: behind a winner
    only (never averaging down), within the posture's pyramiding rule, at most its risk budget."""

    position_adjustment_enable = True

    def adjust_trade_position(self, trade: Any, current_time: datetime, current_rate: float, current_profit: float,
                              min_stake: float | None, max_stake: float, current_entry_rate: float,
                              current_exit_rate: float, current_entry_profit: float, current_exit_profit: float,
                              **kwargs: Any) -> tuple[float, str]:
        opening = trade.orders[0]
        stake = opening.safe_filled * opening.safe_price / trade.leverage / 2
        return stake, "add_in_profit" if current_profit > 0 else "add_in_loss"

    def custom_stoploss(self, pair: str, trade: Any, current_time: datetime, current_rate: float,
                        current_profit: float, after_fill: bool, **kwargs: Any) -> float | None:
        planned = super().custom_stoploss(pair, trade, current_time, current_rate, current_profit, after_fill,
                                          **kwargs)
        direction = -1.0 if trade.is_short else 1.0
        risk = direction * (trade.open_rate - trade.stop_loss)  # the stop's distance now: one R until it moves
        gain = direction * (current_rate - trade.open_rate)
        if risk <= 0.0 or gain < risk:
            return planned
        break_even = -gain / current_rate * trade.leverage  # freqtrade's ratio for a stop at the entry price
        return break_even if planned is None else max(planned, break_even)  # the tighter ratio


class RiskguardEmaCrossPyramidTrailing(RiskguardEmaCrossPyramid):
    """RiskguardEmaCrossPyramid without its own break-even stop: riskguard's dynamic stops (the
    ``dynamic_stops`` setting, posture ``exits.dynamic_stop``) move the stop, recorded in the
    ledger, and so make room for the adds the opening stop's risk budget refuses."""

    riskguard_settings = {"posture": "moderate", "dynamic_stops": True}  # noqa: RUF012
    custom_stoploss = RiskguardMixin.custom_stoploss
