"""Risk state fed by closed trades and equity marks: losing streak, per-symbol performance, drawdowns.

Every update is O(1): rolling statistics keep running sums and evict the oldest trade.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from riskguard.model.validation import finite, symbol, timestamp_ms
from riskguard.policy.drawdown import DrawdownMonitor, DrawdownWindow

_NAME_MEMO = 1024
"""Raw symbol spellings whose normalised form RiskState remembers."""


@dataclass(frozen=True, slots=True)
class SymbolPerformance:
    """Statistics of a symbol's last closed trades (at most the posture's ``window_trades``).

    ``win_rate`` is the fraction of trades with pnl > 0; ``avg_r`` the mean R-multiple.
    """

    symbol: str
    trades: int
    win_rate: float
    avg_r: float


class _RollingTrades:
    """The last ``capacity`` trades of one symbol with running win count and R sum."""

    __slots__ = ("_r_sum", "_trades", "_wins")

    def __init__(self, capacity: int) -> None:
        self._trades: deque[tuple[bool, float]] = deque(maxlen=capacity)
        self._wins = 0
        self._r_sum = 0.0

    def add(self, win: bool, r_multiple: float) -> None:
        trades = self._trades
        if len(trades) == trades.maxlen:
            old_win, old_r = trades[0]
            self._wins -= old_win
            self._r_sum -= old_r
        trades.append((win, r_multiple))
        self._wins += win
        self._r_sum += r_multiple

    def stats(self, name: str) -> SymbolPerformance:
        n = len(self._trades)
        if n == 0:
            return SymbolPerformance(name, 0, 0.0, 0.0)
        # Running sums keep this O(1); add/subtract drift stays at rounding level.
        return SymbolPerformance(name, n, self._wins / n, self._r_sum / n)


class RiskState:
    """Account risk state: drawdown windows, the losing streak, per-symbol rolling performance.

    A losing trade has pnl < 0 and extends the streak; any other closed trade ends it.
    """

    __slots__ = ("_capacity", "_drawdowns", "_last_trade_ts", "_losing_streak", "_names", "_symbols")

    def __init__(self, window_trades: int) -> None:
        if isinstance(window_trades, bool) or not isinstance(window_trades, int) or window_trades < 1:
            raise ValueError(f"window_trades must be an integer >= 1 (got {window_trades!r})")
        self._capacity = window_trades
        self._drawdowns = DrawdownMonitor()
        self._losing_streak = 0
        self._symbols: dict[str, _RollingTrades] = {}
        self._last_trade_ts = -1
        self._names: dict[str, str] = {}

    def _name(self, raw: str) -> str:
        # Symbol normalisation is a pure function of the string: remember it for the few symbols an
        # account trades (policy refreshes look every symbol up after each trade).
        if type(raw) is not str:
            return symbol("symbol", raw)
        name = self._names.get(raw)
        if name is None:
            name = symbol("symbol", raw)
            if len(self._names) < _NAME_MEMO:
                self._names[raw] = name
        return name

    def record_trade(
        self, symbol_name: str, pnl_usdt: float, r_multiple: float, ts_ms: int
    ) -> SymbolPerformance:
        """Record a closed trade (realised pnl in USDT, R-multiple, close time epoch ms).

        Returns the symbol's updated performance.
        """
        name = self._name(symbol_name)
        pnl = finite("pnl_usdt", pnl_usdt)
        r = finite("r_multiple", r_multiple)
        self._last_trade_ts = max(self._last_trade_ts, timestamp_ms("ts_ms", ts_ms))
        self._losing_streak = self._losing_streak + 1 if pnl < 0.0 else 0
        rolling = self._symbols.get(name)
        if rolling is None:
            rolling = self._symbols[name] = _RollingTrades(self._capacity)
        rolling.add(pnl > 0.0, r)
        return rolling.stats(name)

    def update_equity(self, ts_ms: int, nav: float) -> tuple[DrawdownWindow, ...]:
        """Record an equity mark (NAV in USDT at epoch ms); returns the windows that rolled over."""
        return self._drawdowns.update(ts_ms, nav)

    @property
    def last_trade_ts_ms(self) -> int:
        """Close time of the latest recorded trade, epoch ms (-1 before the first)."""
        return self._last_trade_ts

    @property
    def losing_streak(self) -> int:
        """Consecutive losing closed trades, account-wide."""
        return self._losing_streak

    @property
    def drawdowns(self) -> DrawdownMonitor:
        """The drawdown windows (read them; feed them through update_equity)."""
        return self._drawdowns

    def drawdown_pct(self, window: DrawdownWindow) -> float:
        """Drawdown of ``window`` as a fraction of its NAV peak (0.0 before any mark)."""
        return self._drawdowns.drawdown_pct(window)

    def performance(self, symbol_name: str) -> SymbolPerformance:
        """Rolling performance of a symbol (zero trades when none were recorded)."""
        name = self._name(symbol_name)
        rolling = self._symbols.get(name)
        return SymbolPerformance(name, 0, 0.0, 0.0) if rolling is None else rolling.stats(name)

    def symbols(self) -> tuple[str, ...]:
        """Symbols with at least one recorded trade."""
        return tuple(self._symbols)
