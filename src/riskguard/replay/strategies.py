"""The strategy protocol of the replay (a Python callable per bar) and two shipped examples.

A strategy sees one symbol's bars up to and including the bar that just closed and returns an
entry idea (:class:`Entry`) or None. It does not size anything: the replay turns the idea into a
:class:`riskguard.model.Signal` and the engine's policy, sizing and gates decide. Strategies may
precompute indicators once per symbol in ``prepare`` (vectorized NumPy) so that the per-bar call
is a lookup; they must not look at bars after ``view.index`` (the replay cannot check that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from riskguard.math.indicators import exponential_smoothing
from riskguard.model.enums import Side
from riskguard.model.errors import InputValidationError

if TYPE_CHECKING:  # the loaders (pandas) are not needed to name the shipped strategies
    from riskguard.replay.data import OhlcvArrays

FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class BarView:
    """Bar ``index`` of ``symbol`` has just closed; ``bars`` holds the whole series (read up to ``index``)."""

    symbol: str
    index: int
    bars: OhlcvArrays


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry idea: side, confidence in [0, 1], expected reward/risk (R), requested leverage (x,
    None = the posture's cap for the symbol)."""

    side: Side
    confidence: float
    expected_rr: float | None = None
    leverage: float | None = None


@runtime_checkable
class Strategy(Protocol):
    """A named per-bar callable; ``prepare`` is called once per symbol before the first bar."""

    name: str

    def prepare(self, symbol: str, bars: OhlcvArrays) -> None:
        """Precompute whatever the per-bar call needs for ``symbol``."""

    def __call__(self, view: BarView) -> Entry | None:
        """The entry idea at the close of ``view.index``, or None."""


def ema(values: FloatArray, span: int) -> FloatArray:
    """Exponential moving average with alpha = 2 / (span + 1), seeded with the first value."""
    return exponential_smoothing(values, 2.0 / (span + 1.0), float(values[0]))


def _check_window(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise InputValidationError(name, "must be an integer >= 2", value)
    return value


class _Directional:
    """Shared plumbing: a precomputed direction per bar (+1 buy, -1 sell, 0 nothing) per symbol."""

    __slots__ = ("confidence", "directions", "expected_rr", "leverage", "name")

    def __init__(self, name: str, confidence: float, expected_rr: float | None, leverage: float | None) -> None:
        if not 0.0 <= confidence <= 1.0:
            raise InputValidationError("confidence", "must be within [0, 1]", confidence)
        self.name = name
        self.confidence = confidence
        self.expected_rr = expected_rr
        self.leverage = leverage
        self.directions: dict[str, Int8Array] = {}

    def __call__(self, view: BarView) -> Entry | None:
        """The precomputed direction of the bar as an entry idea."""
        direction = int(self.directions[view.symbol][view.index])
        if direction == 0:
            return None
        side = Side.BUY if direction > 0 else Side.SELL
        return Entry(side, self.confidence, self.expected_rr, self.leverage)

    def entries(self, symbol: str, count: int) -> list[tuple[int, Entry]]:
        """What :meth:`__call__` returns at each of the first ``count`` bars that has a direction."""
        directions = self.directions[symbol][:count]
        buy = Entry(Side.BUY, self.confidence, self.expected_rr, self.leverage)
        sell = Entry(Side.SELL, self.confidence, self.expected_rr, self.leverage)
        bars = np.flatnonzero(directions)
        return [(i, buy if d > 0 else sell) for i, d in zip(bars.tolist(), directions[bars].tolist(), strict=True)]


class EmaTrend(_Directional):
    """Trend following: BUY when the fast EMA crosses above the slow EMA, SELL on the cross below."""

    __slots__ = ("fast", "slow")

    def __init__(self, fast: int = 20, slow: int = 50, *, confidence: float = 0.7,
                 expected_rr: float | None = 2.0, leverage: float | None = None, name: str = "ema_trend") -> None:
        super().__init__(name, confidence, expected_rr, leverage)
        self.fast = _check_window("fast", fast)
        self.slow = _check_window("slow", slow)
        if self.fast >= self.slow:
            raise InputValidationError("fast", f"must be below slow ({self.slow})", fast)

    def prepare(self, symbol: str, bars: OhlcvArrays) -> None:
        """Cross-overs of the two EMAs of the close; nothing during the slow EMA's warm-up."""
        above = ema(bars.close, self.fast) > ema(bars.close, self.slow)
        direction = np.zeros(len(bars), dtype=np.int8)
        cross = np.flatnonzero(above[1:] != above[:-1]) + 1
        direction[cross] = np.where(above[cross], 1, -1)
        direction[: self.slow] = 0
        self.directions[symbol] = direction


class Breakout(_Directional):
    """Channel breakout: BUY when the close breaks above the highest high of the previous
    ``window`` bars, SELL below the lowest low; only the first bar of a breakout signals."""

    __slots__ = ("window",)

    def __init__(self, window: int = 48, *, confidence: float = 0.65, expected_rr: float | None = 2.0,
                 leverage: float | None = None, name: str = "breakout") -> None:
        super().__init__(name, confidence, expected_rr, leverage)
        self.window = _check_window("window", window)

    def prepare(self, symbol: str, bars: OhlcvArrays) -> None:
        """Rolling extremes of the ``window`` bars before each bar (sliding-window views, no loop)."""
        n, w = len(bars), self.window
        direction = np.zeros(n, dtype=np.int8)
        if n > w:
            upper = sliding_window_view(bars.high, w).max(axis=1)[:-1]  # bars i-w .. i-1 for i >= w
            lower = sliding_window_view(bars.low, w).min(axis=1)[:-1]
            close = bars.close[w:]
            up = close > upper
            down = close < lower
            up[1:] &= ~up[:-1]
            down[1:] &= ~down[:-1]
            direction[w:] = np.where(up, 1, np.where(down, -1, 0)).astype(np.int8)
        self.directions[symbol] = direction


def signal_entries(strategy: Strategy, symbol: str, bars: OhlcvArrays, count: int) -> list[tuple[int, Entry]]:
    """(bar, entry) for every bar among the first ``count`` of ``symbol`` (prepared) at which
    ``strategy`` returns an entry. The shipped directional strategies are read off their direction
    arrays (a year of hourly bars has a few hundred entries, no call per bar); any other strategy
    (or one overriding ``__call__``) is called at every bar."""
    call: object = type(strategy).__call__
    if isinstance(strategy, _Directional) and call is _Directional.__call__:
        return strategy.entries(symbol, count)
    found: list[tuple[int, Entry]] = []
    for i in range(count):
        entry = strategy(BarView(symbol, i, bars))
        if entry is not None:
            found.append((i, entry))
    return found


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "ema_trend": EmaTrend,
    "breakout": Breakout,
}
"""The shipped example strategies by name (``riskguard replay --strategy NAME``)."""


def strategy_by_name(name: str, *, leverage: float | None = None) -> Strategy:
    """A fresh shipped strategy; unknown names raise InputValidationError (field ``strategy``)."""
    if name == "ema_trend":
        return EmaTrend(leverage=leverage)
    if name == "breakout":
        return Breakout(leverage=leverage)
    raise InputValidationError("strategy", f"unknown; choose one of {sorted(STRATEGIES)}", name)
