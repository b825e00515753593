"""The portfolio view the gates read, maintained incrementally.

Every aggregate the gates need (per-symbol, per-strategy, per-group and per-direction exposure,
total risk at stop, counts, clocks) is updated in O(1) when a position, reservation or mark
changes, so that a check never rescans the positions. Positions are valued at the latest mark
of their symbol (entry price until a mark arrives); reservations at their approved notional.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from riskguard.book.reservation import Reservation
from riskguard.model.enums import PositionSide, Side
from riskguard.model.position import Position

DAY_MS = 86_400_000
_VERSIONS = itertools.count(1)
"""Book versions are unique in the process, not per book: the ledger rebuilds the engine's book
before every reserve, and a cache keyed by version must never mistake one book for another."""
_SEEN_INTENTS_KEPT = 200_000


@dataclass(slots=True)
class SymbolExposure:
    """Aggregates of one symbol. Quantities in base units; notionals in USDT."""

    long_qty: float = 0.0
    short_qty: float = 0.0
    price: float = 0.0
    reserved_long: float = 0.0
    reserved_short: float = 0.0

    @property
    def gross(self) -> float:
        """Marked gross exposure of positions plus reserved notional, USDT."""
        return (self.long_qty + self.short_qty) * self.price + self.reserved_long + self.reserved_short


@dataclass(slots=True)
class Book:
    """Open positions, reservations and the running aggregates over them."""

    risk_per_unstopped_notional: float
    symbol_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    symbols: dict[str, SymbolExposure] = field(default_factory=dict)
    group_notional: dict[str, float] = field(default_factory=dict)
    strategy_open: dict[str, int] = field(default_factory=dict)
    strategy_positions: dict[str, int] = field(default_factory=dict)
    long_notional: float = 0.0
    short_notional: float = 0.0
    total_risk_usdt: float = 0.0
    reserved_margin_usdt: float = 0.0
    """Initial margin of the pending reservations (their orders may not be on the exchange yet, so
    the exchange's available balance may not reflect them), USDT."""
    open_count: int = 0
    position_risk: dict[tuple[str, str], float] = field(default_factory=dict)
    last_entry_ms: dict[str, int] = field(default_factory=dict)
    trade_day: int = -1
    trades_today: int = 0
    recent_orders: deque[int] = field(default_factory=deque)
    seen_intents: OrderedDict[str, str] = field(default_factory=OrderedDict)
    version: int = field(default_factory=lambda: next(_VERSIONS))
    """Changes whenever positions or reservations change (not on marks); unique across all books of
    the process, so that caches keyed by it (the CVaR gate's) never confuse two books."""

    # -- reading ---------------------------------------------------------------------------
    @property
    def gross_notional(self) -> float:
        """Gross exposure of all positions and reservations, USDT."""
        gross = self.long_notional + self.short_notional
        return gross if gross > 0.0 else 0.0

    def symbol_gross(self, symbol: str) -> float:
        """Gross exposure in ``symbol`` (positions at mark + reservations), USDT."""
        exposure = self.symbols.get(symbol)
        return 0.0 if exposure is None else max(0.0, exposure.gross)

    def direction_notional(self, long: bool) -> float:
        """Exposure of all longs (or all shorts), USDT."""
        value = self.long_notional if long else self.short_notional
        return value if value > 0.0 else 0.0

    def group_gross(self, group: str) -> float:
        """Combined exposure of a correlation group, USDT."""
        value = self.group_notional.get(group, 0.0)
        return value if value > 0.0 else 0.0

    def position(self, strategy: str, symbol: str) -> Position | None:
        """The open position of ``strategy`` in ``symbol``, if any."""
        return self.positions.get((strategy, symbol))

    def orders_since(self, since_ms: float) -> int:
        """Approvals at or after ``since_ms``; drops older ones (amortised O(1))."""
        recent = self.recent_orders
        while recent and recent[0] < since_ms:
            recent.popleft()
        return len(recent)

    # -- marks -----------------------------------------------------------------------------
    def _exposure(self, symbol: str) -> SymbolExposure:
        exposure = self.symbols.get(symbol)
        if exposure is None:
            exposure = self.symbols[symbol] = SymbolExposure()
        return exposure

    def _shift(self, symbol: str, long_delta: float, short_delta: float) -> None:
        self.long_notional += long_delta
        self.short_notional += short_delta
        for group in self.symbol_groups.get(symbol, ()):
            self.group_notional[group] = self.group_notional.get(group, 0.0) + long_delta + short_delta

    def mark(self, symbol: str, price: float) -> None:
        """Revalue ``symbol``'s positions at ``price`` (USDT)."""
        exposure = self._exposure(symbol)
        change = price - exposure.price
        if change:
            self._shift(symbol, exposure.long_qty * change, exposure.short_qty * change)
            exposure.price = price

    # -- positions -------------------------------------------------------------------------
    def _position_risk(self, position: Position) -> float:
        if position.stop_price is None:
            return position.entry_notional * self.risk_per_unstopped_notional
        distance = (position.entry_price - position.stop_price if position.is_long
                    else position.stop_price - position.entry_price)
        return max(0.0, distance * position.qty)

    def add_position(self, position: Position) -> None:
        """Add (or replace) the position of its strategy and symbol."""
        if position.key in self.positions:
            self.remove_position(*position.key)
        exposure = self._exposure(position.symbol)
        if exposure.price == 0.0:
            exposure.price = position.entry_price
        value = position.qty * exposure.price
        if position.side is PositionSide.LONG:
            exposure.long_qty += position.qty
            self._shift(position.symbol, value, 0.0)
        else:
            exposure.short_qty += position.qty
            self._shift(position.symbol, 0.0, value)
        risk = self._position_risk(position)
        self.positions[position.key] = position
        self.version = next(_VERSIONS)
        self.position_risk[position.key] = risk
        self.total_risk_usdt += risk
        self.open_count += 1
        self.strategy_open[position.strategy] = self.strategy_open.get(position.strategy, 0) + 1
        self.strategy_positions[position.strategy] = self.strategy_positions.get(position.strategy, 0) + 1
        if position.opened_ts_ms is not None:
            last = self.last_entry_ms.get(position.strategy, -1)
            self.last_entry_ms[position.strategy] = max(last, position.opened_ts_ms)

    def remove_position(self, strategy: str, symbol: str) -> Position | None:
        """Remove and return the position of ``strategy`` in ``symbol`` (None if there is none)."""
        position = self.positions.pop((strategy, symbol), None)
        if position is None:
            return None
        self.version = next(_VERSIONS)
        exposure = self.symbols[symbol]
        value = position.qty * exposure.price
        if position.side is PositionSide.LONG:
            exposure.long_qty = max(0.0, exposure.long_qty - position.qty)
            self._shift(symbol, -value, 0.0)
        else:
            exposure.short_qty = max(0.0, exposure.short_qty - position.qty)
            self._shift(symbol, 0.0, -value)
        self.total_risk_usdt = max(0.0, self.total_risk_usdt - self.position_risk.pop((strategy, symbol)))
        self.open_count -= 1
        self.strategy_open[strategy] -= 1
        self.strategy_positions[strategy] -= 1
        return position

    # -- reservations ----------------------------------------------------------------------
    def add_reservation(self, reservation: Reservation) -> None:
        """Count a pending reservation against every cap until it is removed."""
        if reservation.reservation_id in self.reservations:
            return
        exposure = self._exposure(reservation.symbol)
        if reservation.side is Side.BUY:
            exposure.reserved_long += reservation.notional
            self._shift(reservation.symbol, reservation.notional, 0.0)
        else:
            exposure.reserved_short += reservation.notional
            self._shift(reservation.symbol, 0.0, reservation.notional)
        self.total_risk_usdt += reservation.risk_usdt
        self.reserved_margin_usdt += reservation.margin_usdt
        if reservation.opens_new:
            self.open_count += 1
            self.strategy_open[reservation.strategy] = self.strategy_open.get(reservation.strategy, 0) + 1
        self.reservations[reservation.reservation_id] = reservation
        self.version = next(_VERSIONS)

    def remove_reservation(self, reservation_id: str) -> Reservation | None:
        """Return a reservation's budget (on fill, release or expiry)."""
        reservation = self.reservations.pop(reservation_id, None)
        if reservation is None:
            return None
        self.version = next(_VERSIONS)
        exposure = self.symbols[reservation.symbol]
        if reservation.side is Side.BUY:
            exposure.reserved_long = max(0.0, exposure.reserved_long - reservation.notional)
            self._shift(reservation.symbol, -reservation.notional, 0.0)
        else:
            exposure.reserved_short = max(0.0, exposure.reserved_short - reservation.notional)
            self._shift(reservation.symbol, 0.0, -reservation.notional)
        self.total_risk_usdt = max(0.0, self.total_risk_usdt - reservation.risk_usdt)
        self.reserved_margin_usdt = (max(0.0, self.reserved_margin_usdt - reservation.margin_usdt)
                                     if self.reservations else 0.0)
        if reservation.opens_new:
            self.open_count -= 1
            self.strategy_open[reservation.strategy] -= 1
        return reservation

    # -- clocks and counters ---------------------------------------------------------------
    def record_approval(self, intent_id: str, decision_id: str, strategy: str, now_ms: int,
                        adds_risk: bool) -> None:
        """Remember an approved intent: duplicate detection, order rate, and for risk-adding
        intents the strategy's cooldown clock and the day's trade count."""
        self.seen_intents[intent_id] = decision_id
        if len(self.seen_intents) > _SEEN_INTENTS_KEPT:
            self.seen_intents.popitem(last=False)
        self.recent_orders.append(now_ms)
        if adds_risk:
            self.last_entry_ms[strategy] = max(self.last_entry_ms.get(strategy, -1), now_ms)
            day = now_ms // DAY_MS
            if day != self.trade_day:
                self.trade_day, self.trades_today = day, 0
            self.trades_today += 1

    def load(self, positions: Iterable[Position], reservations: Iterable[Reservation]) -> None:
        """Replace positions and reservations (e.g. from the ledger), keeping marks and clocks."""
        for key in list(self.positions):
            self.remove_position(*key)
        for reservation_id in list(self.reservations):
            self.remove_reservation(reservation_id)
        for position in positions:
            self.add_position(position)
        for reservation in reservations:
            self.add_reservation(reservation)
