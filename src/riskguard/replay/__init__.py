"""Replay of signals over OHLCV with the real engine (and ledger) in the loop.

- ``riskguard.replay.data`` / ``synthetic`` / ``market``: candles and funding (files or the
  labelled synthetic sample);
- ``strategies`` (per-bar strategy protocol, ``ema_trend``, ``breakout``) and ``signals_file``;
- ``runner``: the event-driven replay (``run_replay``); ``metrics`` and ``report``: summary,
  JSON / terminal / HTML reports; ``calibrate``: a grid of postures in parallel.
"""

from typing import TYPE_CHECKING

from riskguard.lazy import lazy_exports

if TYPE_CHECKING:
    from riskguard.replay.market import MarketData, load_market, market_from_frames, synthetic_market
    from riskguard.replay.runner import ReplayOptions, ReplayResult, run_replay
    from riskguard.replay.strategies import BarView, Breakout, EmaTrend, Entry, Strategy

__getattr__ = lazy_exports(__name__, {
    "MarketData": "riskguard.replay.market",
    "load_market": "riskguard.replay.market",
    "market_from_frames": "riskguard.replay.market",
    "synthetic_market": "riskguard.replay.market",
    "ReplayOptions": "riskguard.replay.runner",
    "ReplayResult": "riskguard.replay.runner",
    "run_replay": "riskguard.replay.runner",
    "BarView": "riskguard.replay.strategies",
    "Breakout": "riskguard.replay.strategies",
    "EmaTrend": "riskguard.replay.strategies",
    "Entry": "riskguard.replay.strategies",
    "Strategy": "riskguard.replay.strategies",
})

__all__ = [
    "BarView",
    "Breakout",
    "EmaTrend",
    "Entry",
    "MarketData",
    "ReplayOptions",
    "ReplayResult",
    "Strategy",
    "load_market",
    "market_from_frames",
    "run_replay",
    "synthetic_market",
]
