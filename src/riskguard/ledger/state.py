"""The book state read from the ledger, and building a fresh engine book from it deterministically.

A decision's stored inputs include this state (``riskguard.runtime.inputs``), so replay rebuilds
the identical book: the same marks, positions and reservations added in the same order give
bit-identical float aggregates.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from riskguard.book.book import DAY_MS, Book
from riskguard.book.reservation import Reservation
from riskguard.config.limits import Limits
from riskguard.model.enums import Side
from riskguard.model.position import Position


@dataclass(slots=True)
class BookState:
    """Positions, active reservations and approval counters of one account at one ledger version.

    ``recent_orders`` are approval times (ms) inside the order-rate window, ``last_entry_ms`` the
    latest risk-adding approval per strategy, ``trade_day`` / ``trades_today`` the UTC day number
    and its risk-adding approvals.
    """

    version: int = -1
    positions: list[Position] = field(default_factory=list)
    reservations: list[Reservation] = field(default_factory=list)
    recent_orders: list[int] = field(default_factory=list)
    last_entry_ms: dict[str, int] = field(default_factory=dict)
    trade_day: int = -1
    trades_today: int = 0
    size_multiplier: float = 1.0
    """The account's operating size multiplier in (0, 1] (the monitor's reduce-size rung, a staged
    recovery): signals are sized at most this fraction of their risk-based size."""

    def build_book(self, limits: Limits, marks: dict[str, float]) -> Book:
        """A new Book: marks (USDT) first, then positions and reservations in stored order."""
        book = Book(risk_per_unstopped_notional=limits.default_stop_distance_pct,
                    symbol_groups=dict(limits.symbol_groups))
        for symbol in sorted(marks):
            book.mark(symbol, marks[symbol])
        for position in self.positions:
            book.add_position(position)
        for reservation in self.reservations:
            book.add_reservation(reservation)
        self.apply_counters(book)
        return book

    def apply_counters(self, book: Book) -> None:
        """Set a book's clocks and counters to what :meth:`build_book` gives it: the approval counters
        of this state, entry clocks of its positions, no remembered intents."""
        last_entry: dict[str, int] = {}
        for position in self.positions:
            if position.opened_ts_ms is not None:
                last_entry[position.strategy] = max(last_entry.get(position.strategy, -1), position.opened_ts_ms)
        for strategy, ms in self.last_entry_ms.items():
            last_entry[strategy] = max(last_entry.get(strategy, -1), ms)
        book.last_entry_ms = last_entry
        book.recent_orders = deque(self.recent_orders)
        book.trade_day, book.trades_today = self.trade_day, self.trades_today
        if book.seen_intents:
            book.seen_intents = OrderedDict()

    def absorb_counters(self, book: Book, limits: Limits, now_ms: int) -> None:
        """Take the approval counters back from a book after the engine recorded an approval; only
        the newest max_orders_per_window approvals inside the window matter to the rate gate."""
        book.orders_since(now_ms - limits.order_rate_window_ms)
        recent = book.recent_orders
        keep = limits.max_orders_per_window
        self.recent_orders = list(recent)[-keep:] if len(recent) > keep else list(recent)
        self.last_entry_ms = dict(book.last_entry_ms)
        self.trade_day, self.trades_today = book.trade_day, book.trades_today

    def counters_dict(self) -> dict[str, Any]:
        """The approval counters alone (kept on the account row)."""
        return {"recent_orders": list(self.recent_orders), "last_entry_ms": dict(self.last_entry_ms),
                "trade_day": self.trade_day, "trades_today": self.trades_today}

    def load_counters(self, data: dict[str, Any], limits: Limits, now_ms: int) -> None:
        """Take counters stored by :meth:`counters_dict`, as they stand at ``now_ms``: approvals
        outside the order-rate window dropped, the daily count reset on a new UTC day."""
        since = now_ms - limits.order_rate_window_ms
        recent = [int(ms) for ms in data["recent_orders"] if ms >= since]
        self.recent_orders = recent[-limits.max_orders_per_window:]
        self.last_entry_ms = {str(k): int(v) for k, v in sorted(data["last_entry_ms"].items())}
        day = now_ms // DAY_MS
        same_day = int(data["trade_day"]) == day
        self.trade_day, self.trades_today = day, int(data["trades_today"]) if same_day else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with every decision)."""
        return {
            "version": self.version,
            "positions": [p.to_dict() for p in self.positions],
            "reservations": [reservation_to_dict(r) for r in self.reservations],
            "recent_orders": list(self.recent_orders),
            "last_entry_ms": dict(self.last_entry_ms),
            "trade_day": self.trade_day,
            "trades_today": self.trades_today,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BookState:
        """Inverse of :meth:`to_dict`."""
        return cls(
            version=int(data["version"]),
            positions=[Position.from_dict(p) for p in data["positions"]],
            reservations=[reservation_from_dict(r) for r in data["reservations"]],
            recent_orders=[int(t) for t in data["recent_orders"]],
            last_entry_ms={str(k): int(v) for k, v in data["last_entry_ms"].items()},
            trade_day=int(data["trade_day"]),
            trades_today=int(data["trades_today"]),
        )


def reservation_to_dict(reservation: Reservation) -> dict[str, Any]:
    """JSON-ready form of a book reservation (``partly_filled`` only when true, so that the books
    stored before it existed keep their text)."""
    data = {f: getattr(reservation, f) for f in Reservation.__slots__}
    if not data["partly_filled"]:
        del data["partly_filled"]
    return data


def reservation_from_dict(data: dict[str, Any]) -> Reservation:
    """Inverse of :func:`reservation_to_dict`."""
    return Reservation(
        reservation_id=str(data["reservation_id"]), intent_id=str(data["intent_id"]),
        strategy=str(data["strategy"]), symbol=str(data["symbol"]), side=Side(data["side"]),
        notional=float(data["notional"]), risk_usdt=float(data["risk_usdt"]),
        opens_new=bool(data["opens_new"]), expires_ms=int(data["expires_ms"]),
        leverage=float(data.get("leverage", 1.0)), partly_filled=bool(data.get("partly_filled", False)))
