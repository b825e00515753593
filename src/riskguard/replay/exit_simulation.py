"""Exit simulation of one plan over OHLC bars (vectorized NumPy; used by the replay between events).

Bar conventions (OHLC carries no intrabar path, so the rules below are pessimistic but fixed):
- the arrays start with the first bar during which the position is open (entry at or before its
  open); every bar, including the first, is checked;
- a stop or target gapped through at the open fills at the open (worse for a stop, better for a
  take-profit market order); otherwise a touched stop fills at the stop and a touched target at
  the target;
- when the stop and a target are both touched in one bar the stop wins, unless the open was
  already beyond the target (then the target filled first);
- the stop level of a bar is known at its open: the trailing stop follows the best price of the
  bars before, and a stop moved because of a fill in bar i (break-even) works from bar i + 1;
- the time stop closes what is left at the open of bar ``max_bars`` or of the first bar opening
  at or after the deadline (ms); if the data ends first the rest is marked out at the last close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from riskguard.exits.plan import ExitPlan
from riskguard.model.errors import InputValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_FIRST_WINDOW = 64
"""Bars searched first; most exits happen early, so a short window keeps the cost per trade low."""
_WINDOW_GROWTH = 8


class FillKind(StrEnum):
    """Why a part of the position was closed."""

    STOP = "stop"
    BREAK_EVEN = "break_even"
    TRAILING = "trailing"
    TAKE_PROFIT = "take_profit"
    TIME = "time"
    END_OF_DATA = "end_of_data"


@dataclass(frozen=True, slots=True)
class ExitFill:
    """``fraction`` of the position (0..1) closed in bar ``bar`` at ``price`` (USDT)."""

    bar: int
    price: float
    fraction: float
    kind: FillKind


@dataclass(frozen=True, slots=True)
class ExitResult:
    """The fills of one plan, in time order. ``closed`` is False when the data ended first
    (the last fill is then a mark at the final close, kind END_OF_DATA)."""

    fills: tuple[ExitFill, ...]
    closed: bool

    @property
    def exit_bar(self) -> int:
        """Bar of the last fill."""
        return self.fills[-1].bar

    @property
    def average_price(self) -> float:
        """Quantity-weighted exit price, USDT."""
        return sum(f.price * f.fraction for f in self.fills) / sum(f.fraction for f in self.fills)

    def gross_r(self, plan: ExitPlan) -> float:
        """Gross result in R (before fees and funding)."""
        move = sum((f.price - plan.entry_price) * f.fraction for f in self.fills)
        return plan.direction * move / plan.risk_per_unit


def _as_array(name: str, values: npt.ArrayLike) -> FloatArray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InputValidationError(name, "must be a one-dimensional array", array.shape)
    return array


def _check_finite(start: int, stop: int, **arrays: FloatArray) -> None:
    # Only the bars actually searched are checked: a NaN would otherwise hide a stop silently.
    for name, values in arrays.items():
        window = values[start:stop]
        if not np.isfinite(window).all():
            bar = start + int(np.flatnonzero(~np.isfinite(window))[0])
            raise InputValidationError(name, f"NaN or infinite price at bar {bar}", float(values[bar]))


class _Run:
    """The plan over a window of bars in long-only form: a short is simulated on negated prices
    (its lows become highs), so one code path serves both sides."""

    __slots__ = (
        "be_after",
        "be_level",
        "fractions",
        "has_trailing",
        "hi",
        "lo",
        "op",
        "sign",
        "stop",
        "targets",
        "trail_activation",
        "trail_distance",
        "trail_pct",
    )

    def __init__(self, plan: ExitPlan, op: FloatArray, hi: FloatArray, lo: FloatArray) -> None:
        self.sign = float(plan.direction)
        if plan.direction == 1:
            self.op, self.hi, self.lo = op, hi, lo
        else:
            self.op, self.hi, self.lo = -op, -lo, -hi
        s = self.sign
        self.stop = s * plan.stop_price
        self.targets = [s * leg.price for leg in plan.targets]
        self.fractions = [leg.steps / plan.steps for leg in plan.targets]
        self.be_after = -1 if plan.break_even_after is None else plan.break_even_after
        self.be_level = -np.inf if plan.break_even_price is None else s * plan.break_even_price
        trailing = plan.trailing
        self.trail_activation = np.inf if trailing is None else s * trailing.activation_price
        self.trail_distance = 0.0 if trailing is None or trailing.distance is None else trailing.distance
        self.trail_pct = 0.0 if trailing is None or trailing.distance_pct is None else trailing.distance_pct
        self.has_trailing = trailing is not None

    def trail_line(self, entry: float, width: int) -> FloatArray:
        """Trailing stop level at the open of each bar (-inf before activation)."""
        best = np.empty(width)
        best[0] = entry
        if width > 1:
            np.maximum.accumulate(self.hi[: width - 1], out=best[1:])
            np.maximum(best[1:], entry, out=best[1:])
        line = best - self.trail_distance - np.abs(best) * self.trail_pct
        line[best < self.trail_activation] = -np.inf
        return line

    def run(self, entry: float) -> tuple[list[ExitFill], bool]:
        """Fills within the window; the flag says whether the position is closed."""
        s = self.sign
        width = self.op.shape[0]
        trail = self.trail_line(entry, width) if self.has_trailing else None
        fills: list[ExitFill] = []
        k = 0
        level = self.stop
        level_kind = FillKind.STOP
        remaining = 1.0
        start = 0
        carried: tuple[float, FillKind] | None = None
        n_targets = len(self.targets)
        while True:
            lo = self.lo[start:width]
            line = np.full(width - start, level) if trail is None else np.maximum(trail[start:width], level)
            if carried is not None:
                line[0] = carried[0]
            stop_hit = lo <= line
            if k < n_targets:
                target = self.targets[k]
                target_hit = self.hi[start:width] >= target
                events = stop_hit | target_hit
            else:
                target = np.inf
                target_hit = None
                events = stop_hit
            idx = int(np.argmax(events))
            if not events[idx]:
                return fills, False
            bar = start + idx
            opened = float(self.op[bar])
            if target_hit is not None and target_hit[idx] and (opened >= target or not stop_hit[idx]):
                old_line = float(line[idx])
                old_kind = carried[1] if carried is not None and idx == 0 else self._kind(
                    old_line, level, level_kind)
                high = float(self.hi[bar])
                while k < n_targets and high >= self.targets[k]:
                    price = max(opened, self.targets[k])
                    fills.append(ExitFill(bar, s * price, self.fractions[k], FillKind.TAKE_PROFIT))
                    remaining -= self.fractions[k]
                    if k == self.be_after and self.be_level > level:
                        level, level_kind = self.be_level, FillKind.BREAK_EVEN
                    k += 1
                if k == n_targets:
                    return fills, True
                carried = (old_line, old_kind)
                start = bar
                continue
            stop_price = min(opened, float(line[idx]))
            kind = carried[1] if carried is not None and idx == 0 else self._kind(float(line[idx]), level,
                                                                                  level_kind)
            fills.append(ExitFill(bar, s * stop_price, max(remaining, 0.0), kind))
            return fills, True

    @staticmethod
    def _kind(line_value: float, level: float, level_kind: FillKind) -> FillKind:
        return FillKind.TRAILING if line_value > level else level_kind


def _scan(plan: ExitPlan, op: list[float], hi: list[float], lo: list[float],
          entry: float) -> tuple[list[ExitFill], bool]:
    """:meth:`_Run.run` bar by bar over the bars given (finite, checked by the caller): identical
    fills and flag, the same float operations in the same order, no array temporaries."""
    width = len(op)
    if plan.direction == 1:
        s = 1.0
        o, h, low = op, hi, lo
    else:  # long-only form of a short: negated prices, lows become highs
        s = -1.0
        o = [-x for x in op]
        h = [-x for x in lo]
        low = [-x for x in hi]
    targets = [s * leg.price for leg in plan.targets]
    fractions = [leg.steps / plan.steps for leg in plan.targets]
    n_targets = len(targets)
    be_after = -1 if plan.break_even_after is None else plan.break_even_after
    be_level = -np.inf if plan.break_even_price is None else s * plan.break_even_price
    trailing = plan.trailing
    has_trailing = trailing is not None
    activation = np.inf if trailing is None else s * trailing.activation_price
    trail_distance = 0.0 if trailing is None or trailing.distance is None else trailing.distance
    trail_pct = 0.0 if trailing is None or trailing.distance_pct is None else trailing.distance_pct
    fills: list[ExitFill] = []
    k = 0
    level = s * plan.stop_price
    level_kind = FillKind.STOP
    remaining = 1.0
    best = entry  # best (long-form) price of the bars before the current one
    carried: tuple[float, FillKind] | None = None  # the line of a bar re-checked after a target fill
    bar = 0
    while bar < width:
        if carried is not None:
            line = carried[0]
        elif has_trailing:
            trail = -np.inf if best < activation else best - trail_distance - abs(best) * trail_pct
            line = trail if trail > level else level
        else:
            line = level
        stop_hit = low[bar] <= line
        target_hit = k < n_targets and h[bar] >= targets[k]
        if not (stop_hit or target_hit):
            high = h[bar]
            if high > best:
                best = high
            carried = None
            bar += 1
            continue
        opened = o[bar]
        if target_hit and (opened >= targets[k] or not stop_hit):
            old_kind = carried[1] if carried is not None else _Run._kind(line, level, level_kind)
            high = h[bar]
            while k < n_targets and high >= targets[k]:
                price = max(opened, targets[k])
                fills.append(ExitFill(bar, s * price, fractions[k], FillKind.TAKE_PROFIT))
                remaining -= fractions[k]
                if k == be_after and be_level > level:
                    level, level_kind = be_level, FillKind.BREAK_EVEN
                k += 1
            if k == n_targets:
                return fills, True
            carried = (line, old_kind)
            continue  # the same bar again, against the line it opened with
        kind = carried[1] if carried is not None else _Run._kind(line, level, level_kind)
        fills.append(ExitFill(bar, s * min(opened, line), max(remaining, 0.0), kind))
        return fills, True
    return fills, False


def simulate_exits(
    plan: ExitPlan,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    times_ms: npt.ArrayLike | None = None,
) -> ExitResult:
    """Simulate ``plan`` over bars starting with the first bar the position is open (prices in USDT,
    ``times_ms`` the bars' open times in epoch ms, needed only for a time stop in ms).

    Returns the fills (bar index relative to the arrays, price, fraction of the position, kind).
    """
    op = _as_array("open", open_)
    hi = _as_array("high", high)
    lo = _as_array("low", low)
    cl = _as_array("close", close)
    n = op.shape[0]
    if n == 0 or hi.shape[0] != n or lo.shape[0] != n or cl.shape[0] != n:
        raise InputValidationError("ohlc", "open, high, low and close need the same non-zero length", n)
    end = n
    if plan.time_stop_bars is not None:
        end = min(end, plan.time_stop_bars)
    if plan.time_stop_deadline_ms is not None:
        if times_ms is None:
            raise InputValidationError("times_ms", "needed by the plan's time stop in milliseconds", None)
        times = np.asarray(times_ms, dtype=np.int64)
        end = min(end, int(np.searchsorted(times, plan.time_stop_deadline_ms, side="left")))
    entry = plan.direction * plan.entry_price
    fills: list[ExitFill] = []
    closed = False
    width = min(_FIRST_WINDOW, end)
    if width > 0:
        # Most positions close within the first window: a plain loop over a few bars beats a dozen
        # NumPy calls on the whole window; the same search, fill for fill (a test checks it).
        o, h, lw = op[:width].tolist(), hi[:width].tolist(), lo[:width].tolist()
        if not math.isfinite(sum(o) + sum(h) + sum(lw)):  # finite sum => every price finite
            _check_finite(0, width, open=op, high=hi, low=lo)
        fills, closed = _scan(plan, o, h, lw, entry)
    checked = width
    while not closed and width < end:
        width = min(width * _WINDOW_GROWTH, end)
        _check_finite(checked, width, open=op, high=hi, low=lo)
        checked = width
        fills, closed = _Run(plan, op[:width], hi[:width], lo[:width]).run(entry)
    if closed:
        return ExitResult(tuple(fills), True)
    left = 1.0 - sum(f.fraction for f in fills)
    if end < n:
        _check_finite(end, end + 1, open=op)
        fills.append(ExitFill(end, float(op[end]), left, FillKind.TIME))
        return ExitResult(tuple(fills), True)
    _check_finite(n - 1, n, close=cl)
    fills.append(ExitFill(n - 1, float(cl[n - 1]), left, FillKind.END_OF_DATA))
    return ExitResult(tuple(fills), False)
