"""Drawdown from equity marks: running, maximum, and over rolling daily / weekly / monthly windows.

Drawdown is a fraction of the peak (0.05 = 5 % below the peak), never negative. Equity marks are
``(ts_ms, equity)`` pairs: UTC epoch milliseconds (non-decreasing) and equity in USDT (> 0).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskguard.math._checks import FloatArray, finite_array
from riskguard.model import validation as v
from riskguard.model.errors import InputValidationError

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
MONTH_MS = 30 * DAY_MS
"""A rolling month is 30 days (the window length, not a calendar month)."""


def _equity(values: npt.ArrayLike) -> FloatArray:
    e = finite_array("equity", values, ndim=1)
    if np.any(e <= 0):
        raise InputValidationError("equity", "must be > 0 on every mark", float(e.min()))
    return e


def _marks(ts_ms: npt.ArrayLike, equity: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], FloatArray]:
    e = _equity(equity)
    t = np.asarray(ts_ms)
    if t.ndim != 1 or t.shape != e.shape:
        raise InputValidationError("ts_ms", "must be 1-D and as long as equity", t.shape)
    if not np.issubdtype(t.dtype, np.integer):
        raise InputValidationError("ts_ms", "must be integer epoch milliseconds", str(t.dtype))
    if np.any(np.diff(t) < 0):
        raise InputValidationError("ts_ms", "must be non-decreasing", int(np.argmax(np.diff(t) < 0)) + 1)
    return t.astype(np.int64), e


def drawdown_series(equity: npt.ArrayLike) -> FloatArray:
    """Drawdown of each mark from the running peak (since the first mark), fraction."""
    e = _equity(equity)
    peak = np.maximum.accumulate(e)
    return np.asarray(1.0 - e / peak, dtype=np.float64)


def max_drawdown(equity: npt.ArrayLike) -> float:
    """Largest peak-to-trough drawdown of the series, fraction."""
    return float(drawdown_series(equity).max())


def rolling_drawdown(ts_ms: npt.ArrayLike, equity: npt.ArrayLike, window_ms: int) -> FloatArray:
    """Drawdown of each mark from the highest mark of the trailing window ``(ts - window_ms, ts]``.

    O(n) with a monotonic deque of window maxima.
    """
    if isinstance(window_ms, bool) or not isinstance(window_ms, int) or window_ms <= 0:
        raise InputValidationError("window_ms", "must be a positive integer of milliseconds", window_ms)
    t, e = _marks(ts_ms, equity)
    times = t.tolist()
    values = e.tolist()
    out = np.empty(e.size)
    candidates: deque[int] = deque()  # indices whose equity is decreasing: front = window max
    for i, (now, value) in enumerate(zip(times, values, strict=True)):
        while candidates and values[candidates[-1]] <= value:
            candidates.pop()
        candidates.append(i)
        while times[candidates[0]] <= now - window_ms:
            candidates.popleft()
        out[i] = 1.0 - value / values[candidates[0]]
    return out


@dataclass(frozen=True, slots=True)
class WindowDrawdowns:
    """Current drawdown from the peak of the trailing day, week (7 d) and month (30 d), fractions."""

    daily: float
    weekly: float
    monthly: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {"daily": self.daily, "weekly": self.weekly, "monthly": self.monthly}


def window_drawdown(
    ts_ms: npt.ArrayLike, equity: npt.ArrayLike, window_ms: int, now_ms: int | None = None
) -> float:
    """Drawdown of the latest mark at or before ``now_ms`` from the highest mark in
    ``(now_ms - window_ms, now_ms]``; same definition as :func:`rolling_drawdown`.

    ``now_ms`` defaults to the last mark's timestamp. Raises if no mark is at or before ``now_ms``.
    """
    if isinstance(window_ms, bool) or not isinstance(window_ms, int) or window_ms <= 0:
        raise InputValidationError("window_ms", "must be a positive integer of milliseconds", window_ms)
    t, e = _marks(ts_ms, equity)
    now = int(t[-1]) if now_ms is None else v.timestamp_ms("now_ms", now_ms)
    end = int(np.searchsorted(t, now, side="right"))
    if end == 0:
        raise InputValidationError("now_ms", "precedes every equity mark", now_ms)
    start = int(np.searchsorted(t, now - window_ms, side="right"))
    current = float(e[end - 1])
    # A latest mark older than the window is still the equity in force: it is then its own peak.
    peak = float(e[min(start, end - 1) : end].max())
    return 1.0 - current / peak


def window_drawdowns(
    ts_ms: npt.ArrayLike, equity: npt.ArrayLike, now_ms: int | None = None
) -> WindowDrawdowns:
    """Daily, weekly and monthly trailing-window drawdowns at ``now_ms`` (default: last mark)."""
    return WindowDrawdowns(
        daily=window_drawdown(ts_ms, equity, DAY_MS, now_ms),
        weekly=window_drawdown(ts_ms, equity, WEEK_MS, now_ms),
        monthly=window_drawdown(ts_ms, equity, MONTH_MS, now_ms),
    )
