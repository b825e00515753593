"""Model objects the replay builds thousands of times from values it has already validated.

The replay feeds the engine a mark per symbol at every decision time and restates a position after
every partial exit. Each value comes from data checked once up front (finite, positive closes,
normalised symbols) or from objects that passed the model's validation (exit plans, positions), so
the boundary checks of the model constructors would only repeat themselves. These builders set
the same fields to the same values without them (like ``OrderIntent.trusted``); the replay calls
them only under the conditions their docstrings state and uses the validating constructors
otherwise. ``tests/test_replay_trusted.py`` checks they equal the validated objects.
"""

from __future__ import annotations

from riskguard.model.enums import PositionSide
from riskguard.model.position import Position
from riskguard.model.snapshots import MarketSnapshot

_put = object.__setattr__


def market_snapshot(symbol: str, mark: float, ts_ms: int, bid: float, ask: float, atr: float | None,
                    ) -> MarketSnapshot:
    """``MarketSnapshot(symbol, mark, ts_ms, bid=bid, ask=ask, exchange_ts_ms=ts_ms, atr=atr)`` for a
    normalised symbol, finite ``0 < bid <= mark <= ask``, an int ``ts_ms >= 0`` and ``atr`` None or
    finite and > 0 (prices USDT, time epoch ms)."""
    snapshot = object.__new__(MarketSnapshot)
    _put(snapshot, "symbol", symbol)
    _put(snapshot, "mark_price", mark)
    _put(snapshot, "ts_ms", ts_ms)
    _put(snapshot, "bid", bid)
    _put(snapshot, "ask", ask)
    _put(snapshot, "exchange_ts_ms", ts_ms)
    _put(snapshot, "atr", atr)
    return snapshot


def position(symbol: str, side: PositionSide, qty: float, entry_price: float, strategy: str, *,
             leverage: float, stop_price: float, opened_ts_ms: int) -> Position:
    """``Position(symbol, side, qty, entry_price, strategy, leverage=..., stop_price=...,
    opened_ts_ms=...)`` for a normalised symbol, a stripped non-empty ``strategy``, finite ``qty``,
    ``entry_price``, ``leverage`` and ``stop_price`` all > 0 and an int ``opened_ts_ms >= 0``."""
    held = object.__new__(Position)
    _put(held, "symbol", symbol)
    _put(held, "side", side)
    _put(held, "qty", qty)
    _put(held, "entry_price", entry_price)
    _put(held, "strategy", strategy)
    _put(held, "leverage", leverage)
    _put(held, "stop_price", stop_price)
    _put(held, "take_profit_price", None)
    _put(held, "opened_ts_ms", opened_ts_ms)
    _put(held, "position_id", None)
    return held
