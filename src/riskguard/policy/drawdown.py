"""Drawdown per calendar window (UTC day, ISO week, month) from a stream of equity marks.

Each window's drawdown is measured from the highest NAV marked since the window opened; the
first mark of a new window opens it. Updates are O(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from riskguard.model.errors import InputValidationError
from riskguard.model.validation import positive, timestamp_ms

MS_PER_DAY = 86_400_000
# 1970-01-01 was a Thursday; shifting by 3 days makes integer weeks start on Mondays (ISO weeks).
_MONDAY_SHIFT_DAYS = 3


class DrawdownWindow(StrEnum):
    """Calendar windows over which drawdown is measured (UTC)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def window_key(window: DrawdownWindow, ts_ms: int) -> int:
    """An integer that changes exactly when ``window`` rolls over: UTC day, ISO week, or month."""
    day = ts_ms // MS_PER_DAY
    if window is DrawdownWindow.DAILY:
        return day
    if window is DrawdownWindow.WEEKLY:
        return (day + _MONDAY_SHIFT_DAYS) // 7
    moment = datetime.fromtimestamp(day * 86_400, tz=UTC)
    return moment.year * 12 + moment.month - 1


@dataclass(frozen=True, slots=True)
class WindowDrawdown:
    """Drawdown of one window: fraction of the window's NAV peak (USDT) lost at the last mark."""

    window: DrawdownWindow
    key: int
    peak_nav: float
    nav: float

    @property
    def drawdown_pct(self) -> float:
        """(peak - nav) / peak, a fraction in [0, 1)."""
        return (self.peak_nav - self.nav) / self.peak_nav


class _WindowTracker:
    __slots__ = ("key", "nav", "peak", "window")

    def __init__(self, window: DrawdownWindow) -> None:
        self.window = window
        self.key = -1
        self.peak = 0.0
        self.nav = 0.0

    def mark(self, key: int, nav: float) -> bool:
        """Record a mark; True when it opened a new window."""
        rolled = key != self.key
        if rolled:
            self.key, self.peak = key, nav
        elif nav > self.peak:
            self.peak = nav
        self.nav = nav
        return rolled

    def snapshot(self) -> WindowDrawdown:
        return WindowDrawdown(self.window, self.key, self.peak, self.nav)


class DrawdownMonitor:
    """Daily, weekly and monthly drawdown from equity marks (NAV in USDT, time in epoch ms)."""

    __slots__ = ("_day", "_last_ts", "_month_key", "_trackers")

    def __init__(self) -> None:
        self._trackers = {w: _WindowTracker(w) for w in DrawdownWindow}
        self._last_ts = -1
        self._day = -1
        self._month_key = -1

    @property
    def has_marks(self) -> bool:
        """True once a mark was recorded."""
        return self._last_ts >= 0

    @property
    def last_ts_ms(self) -> int:
        """Timestamp of the last mark, epoch ms (-1 before the first)."""
        return self._last_ts

    def update(self, ts_ms: int, nav: float) -> tuple[DrawdownWindow, ...]:
        """Record a NAV mark; returns the windows that rolled over with it (all three on the first mark).

        Marks must not go back in time (a replayed or reordered feed would corrupt window peaks).
        """
        ts = timestamp_ms("ts_ms", ts_ms)
        value = positive("nav", nav)
        if ts < self._last_ts:
            raise InputValidationError(
                "ts_ms", f"must not go back in time (last mark {self._last_ts})", ts_ms)
        day = ts // MS_PER_DAY
        if day != self._day:
            # The month lookup builds a datetime; doing it once per UTC day keeps marks O(1) and cheap.
            self._day = day
            self._month_key = window_key(DrawdownWindow.MONTHLY, ts)
        keys = {
            DrawdownWindow.DAILY: day,
            DrawdownWindow.WEEKLY: (day + _MONDAY_SHIFT_DAYS) // 7,
            DrawdownWindow.MONTHLY: self._month_key,
        }
        self._last_ts = ts
        return tuple(w for w, tracker in self._trackers.items() if tracker.mark(keys[w], value))

    def drawdown_pct(self, window: DrawdownWindow) -> float:
        """Current drawdown of ``window`` as a fraction of its NAV peak; 0.0 before any mark."""
        tracker = self._trackers[window]
        return 0.0 if tracker.key < 0 else (tracker.peak - tracker.nav) / tracker.peak

    def snapshot(self, window: DrawdownWindow) -> WindowDrawdown:
        """The state of one window (peak and last NAV, USDT)."""
        return self._trackers[window].snapshot()

    def restart(self, ts_ms: int, nav: float) -> None:
        """Start every window afresh at ``nav``: the peaks become the current NAV (operator reset)."""
        self._trackers = {w: _WindowTracker(w) for w in DrawdownWindow}
        self._last_ts = -1
        self.update(ts_ms, nav)
