"""A decision's stored inputs: everything a replay needs to reproduce it, as one typed shape.

Stored as one JSON document per decision (``rg_decisions.inputs``), encoded once by
:func:`encode_inputs`. The document's keys and their order are those the ledger has always
stored, so decisions stored before this shape existed read back through :meth:`from_dict`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from riskguard.book.reservation import Reservation
from riskguard.ledger.state import BookState, reservation_from_dict, reservation_to_dict
from riskguard.model.codec import encode as dumps
from riskguard.model.enums import TradingState
from riskguard.model.instrument import InstrumentRules
from riskguard.model.intent import OrderIntent
from riskguard.model.position import Position
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot


@dataclass(frozen=True, slots=True)
class BookReference:
    """A stored book given as changes to the book of an earlier decision (``base``): the
    reservation ids ``removed`` from it and the reservations ``added`` after the rest."""

    base: str
    removed: tuple[str, ...]
    added: tuple[Reservation, ...]


@dataclass(frozen=True, slots=True)
class StoredBook:
    """The book a decision was taken against: positions, approval counters and either the full
    list of live reservations (``reservations``) or a :class:`BookReference`."""

    version: int
    positions: tuple[Position, ...]
    reservations: tuple[Reservation, ...] | BookReference
    recent_orders: tuple[int, ...]
    last_entry_ms: dict[str, int]
    trade_day: int
    trades_today: int

    @classmethod
    def of(cls, state: BookState, reservations: tuple[Reservation, ...] | BookReference | None = None) -> StoredBook:
        """``state`` as stored: with its own reservations, or the given ones / reference."""
        return cls(state.version, tuple(state.positions),
                   tuple(state.reservations) if reservations is None else reservations,
                   tuple(state.recent_orders), dict(state.last_entry_ms), state.trade_day, state.trades_today)

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON object (a reference's keys stand where the reservations would)."""
        data: dict[str, Any] = {"version": self.version, "positions": [p.to_dict() for p in self.positions]}
        reservations = self.reservations
        if isinstance(reservations, BookReference):
            data["base"] = reservations.base
            data["removed"] = list(reservations.removed)
            data["added"] = [reservation_to_dict(r) for r in reservations.added]
        else:
            data["reservations"] = [reservation_to_dict(r) for r in reservations]
        data.update(recent_orders=list(self.recent_orders), last_entry_ms=dict(self.last_entry_ms),
                    trade_day=self.trade_day, trades_today=self.trades_today)
        return data

    def state(self) -> BookState:
        """The full book as the ledger's :class:`BookState` (a reference must be resolved first,
        which the ledger does when it reads a decision)."""
        if isinstance(self.reservations, BookReference):
            raise ValueError(f"stored book refers to decision {self.reservations.base}; read it through the ledger")
        return BookState(version=self.version, positions=list(self.positions),
                         reservations=list(self.reservations), recent_orders=list(self.recent_orders),
                         last_entry_ms=dict(self.last_entry_ms), trade_day=self.trade_day,
                         trades_today=self.trades_today)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredBook:
        """Inverse of :meth:`to_dict`."""
        reservations: tuple[Reservation, ...] | BookReference
        if "base" in data:
            reservations = BookReference(str(data["base"]), tuple(str(r) for r in data["removed"]),
                                         tuple(reservation_from_dict(r) for r in data["added"]))
        else:
            reservations = tuple(reservation_from_dict(r) for r in data["reservations"])
        return cls(int(data["version"]), tuple(Position.from_dict(p) for p in data["positions"]), reservations,
                   tuple(int(ms) for ms in data["recent_orders"]),
                   {str(k): int(v) for k, v in data["last_entry_ms"].items()},
                   int(data["trade_day"]), int(data["trades_today"]))


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """What one decision was taken with: the intent (or the signal the engine sized into one;
    stored under ``signal`` instead of ``intent``), this process's market snapshots (symbol
    order) and the symbol's exchange rules, the reference (SHA-256) to the CVaR return set fed
    (None without one), the reservation TTL (ms), the ledger's NAV mark, trading state and
    reason, the book, and the account's operating size multiplier."""

    intent: OrderIntent | Signal
    markets: tuple[MarketSnapshot, ...]
    instrument: InstrumentRules | None
    returns: str | None
    ttl_ms: int
    account: AccountSnapshot | None
    trading_state: TradingState
    state_reason: str
    book: StoredBook
    size_multiplier: float = 1.0

    def to_dict(self, memo: InputsMemo | None = None) -> dict[str, Any]:
        """The stored JSON object; ``memo`` reuses the JSON form of snapshots and rules seen before."""
        memo = memo or InputsMemo()
        return {
            "intent" if isinstance(self.intent, OrderIntent) else "signal": self.intent.to_dict(),
            "markets": [memo.market(m) for m in self.markets],
            "instrument": None if self.instrument is None else memo.instrument(self.instrument),
            "returns": self.returns,
            "ttl_ms": self.ttl_ms,
            "account": None if self.account is None else self.account.to_dict(),
            "trading_state": self.trading_state.value,
            "state_reason": self.state_reason,
            "book": self.book.to_dict(),
            # Stored only where it acts, so that every decision stored before it keeps its text.
            **({} if self.size_multiplier == 1.0 else {"size_multiplier": self.size_multiplier}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionInputs:
        """Inverse of :meth:`to_dict` (also reads every decision stored before this shape)."""
        instrument, account = data.get("instrument"), data["account"]
        intent = Signal.from_dict(data["signal"]) if "signal" in data else OrderIntent.from_dict(data["intent"])
        return cls(intent, tuple(MarketSnapshot(**m) for m in data["markets"]),
                   None if instrument is None else InstrumentRules.from_dict(instrument),
                   None if data.get("returns") is None else str(data["returns"]), int(data.get("ttl_ms", 0)),
                   None if account is None else AccountSnapshot(**account), TradingState(data["trading_state"]),
                   str(data["state_reason"]), StoredBook.from_dict(data["book"]),
                   float(data.get("size_multiplier", 1.0)))


def encode_inputs(inputs: DecisionInputs, memo: InputsMemo | None = None) -> str:
    """The stored text of ``inputs``: compact JSON, floats by their exact repr."""
    return dumps(inputs.to_dict(memo))


@dataclass(slots=True)
class InputsMemo:
    """The JSON-ready form of each market snapshot and instrument rules a process feeds: both are
    immutable and feed many decisions, so each is converted once (by object identity)."""

    _markets: dict[str, tuple[MarketSnapshot, dict[str, Any]]] = field(default_factory=dict)
    _instruments: dict[str, tuple[InstrumentRules, dict[str, Any]]] = field(default_factory=dict)

    def market(self, snapshot: MarketSnapshot) -> dict[str, Any]:
        """``snapshot.to_dict()``, converted once per snapshot."""
        cached = self._markets.get(snapshot.symbol)
        if cached is None or cached[0] is not snapshot:
            cached = self._markets[snapshot.symbol] = (snapshot, snapshot.to_dict())
        return cached[1]

    def instrument(self, rules: InstrumentRules) -> dict[str, Any]:
        """``dataclasses.asdict(rules)``, converted once per rules object."""
        cached = self._instruments.get(rules.symbol)
        if cached is None or cached[0] is not rules:
            cached = self._instruments[rules.symbol] = (rules, dataclasses.asdict(rules))
        return cached[1]
