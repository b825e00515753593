"""Replay of signals over OHLCV with the real engine (and ledger) in the loop.

- ``riskguard.replay.data`` / ``synthetic`` / ``market``: candles and funding (files or the
  labelled synthetic sample);
- ``strategies`` (per-bar strategy protocol, ``ema_trend``, ``breakout``) and ``signals_file``;
- ``runner``: the event-driven replay (``run_replay``); ``metrics`` and ``report``: summary,
  JSON / terminal / HTML reports; ``calibrate``: a grid of postures in parallel.
"""

from riskguard.replay.market import MarketData, load_market, market_from_frames, synthetic_market
from riskguard.replay.runner import ReplayOptions, ReplayResult, run_replay
from riskguard.replay.strategies import BarView, Breakout, EmaTrend, Entry, Strategy

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
