"""The ledger's rows as riskguard reads them: the account row, fill and close outcomes, stored
decisions, and their parsers from database rows (SQLAlchemy rows or named tuples: anything with
the table's column names as attributes)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from riskguard.book.reservation import Reservation
from riskguard.model.enums import Side, TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position, PositionLegs
from riskguard.model.snapshots import AccountSnapshot

log = logging.getLogger("riskguard.ledger")

ACTIVE, FILLED, RELEASED, EXPIRED = "ACTIVE", "FILLED", "RELEASED", "EXPIRED"
NEVER_MS = 2**62
"""The expiry of a reservation whose order was placed: it lives until filled or released."""
FULL_SLACK = 1e-9
"""Relative slack when comparing a filled quantity with the reserved (or open) quantity."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    """The account row as read under the lock."""

    account_id: str
    version: int
    mode: str
    trading_state: TradingState
    state_reason: str
    state_actor: str
    state_ts_ms: int
    nav: float | None
    nav_ts_ms: int | None
    available_balance: float | None
    day_high_nav: float | None
    realized_pnl: float
    counters: str | None

    def snapshot(self) -> AccountSnapshot | None:
        """The latest NAV mark as the engine takes it (``day_start_nav`` carries the day's high)."""
        if self.nav is None or self.nav_ts_ms is None:
            return None
        try:
            return AccountSnapshot(nav=self.nav, ts_ms=self.nav_ts_ms, available_balance=self.available_balance,
                                   day_start_nav=self.day_high_nav)
        except InputValidationError as exc:
            # A mark stored before timestamps were range-checked (e.g. microseconds as ms): no NAV
            # (every new risk is vetoed nav_stale) until an operator runs `riskguard db repair-marks`.
            log.error("account %s: stored NAV mark unusable (%s); run `riskguard db repair-marks`",
                      self.account_id, exc)
            return None


@dataclass(frozen=True, slots=True)
class FillResult:
    """Outcome of a fill: signed position quantity after it (long > 0), the reservation's status,
    realised PnL of any reduced part net of the fee (USDT)."""

    reservation_id: str
    position_qty: float
    reservation_status: str
    realized_pnl: float


@dataclass(frozen=True, slots=True)
class CloseResult:
    """Outcome of closing (or reducing) a position: realised PnL net of the fee (USDT) and the
    signed quantity left (0 when flat)."""

    strategy: str
    symbol: str
    qty: float
    price: float
    realized_pnl: float
    position_qty: float


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A stored decision with everything needed to explain and replay it."""

    decision_id: str
    account_id: str
    intent_id: str
    strategy: str
    symbol: str
    approved: bool
    adds_risk: bool
    reservation_id: str | None
    ts_ms: int
    config_hash: str
    version: int
    inputs: dict[str, Any]
    detail: dict[str, Any]


def parse_account(row: Any) -> AccountRow:
    """The account row (any row with the table's column names as attributes)."""
    return AccountRow(row.account_id, int(row.version), row.mode, TradingState(row.trading_state),
                      row.state_reason, row.state_actor, int(row.state_ts_ms), row.nav,
                      None if row.nav_ts_ms is None else int(row.nav_ts_ms), row.available_balance,
                      row.day_high_nav, float(row.realized_pnl), row.counters)


def parse_position(row: Any) -> Position:
    """An open position row, with its legs when the row has them (positions opened before migration
    0004, or without a known R, are one leg to the gates)."""
    legs = None
    if row.r_unit is not None:
        # Positions opened before migration 0004 get their R fixed by their first stop move, and
        # are one leg otherwise: their opening quantity, entry and time.
        legs = PositionLegs(row.r_unit, row.first_qty if row.first_qty is not None else row.qty, int(row.adds),
                            row.last_leg_qty if row.last_leg_qty is not None else row.qty,
                            row.last_leg_price if row.last_leg_price is not None else row.entry_price,
                            int(row.last_leg_ts_ms if row.last_leg_ts_ms is not None else row.opened_ts_ms))
    return Position(symbol=row.symbol, side=row.side, qty=row.qty, entry_price=row.entry_price,
                    strategy=row.strategy, leverage=row.leverage, stop_price=row.stop_price,
                    take_profit_price=row.take_profit_price, opened_ts_ms=int(row.opened_ts_ms), legs=legs)


def book_reservation(row: Any, held: set[tuple[str, str]]) -> Reservation:
    """An active reservation row as the book counts it (``held``: the open (strategy, symbol) pairs).

    Budget still held = the unfilled fraction. It holds a concurrency slot whenever its fill would
    open a position: while its strategy holds no position in the symbol. So an entry gives its slot
    to the position once part of it filled, and takes it back if that position closes while the
    remainder is reserved; and an add (reserved while the position was open, no slot) takes a slot
    if the position closes before the add fills, since its fill would then open a new one.
    """
    remaining = max(0.0, 1.0 - row.filled_qty / row.qty)
    opens_new = (row.strategy, row.symbol) not in held
    return Reservation(reservation_id=row.reservation_id, intent_id=row.intent_id, strategy=row.strategy,
                       symbol=row.symbol, side=Side(row.side), notional=row.notional * remaining,
                       risk_usdt=row.risk_usdt * remaining, opens_new=opens_new, expires_ms=int(row.expires_ms),
                       leverage=row.leverage, partly_filled=row.filled_qty > 0.0)


def decision_record(row: Any, documents: tuple[str, str] | None = None) -> DecisionRecord:
    """Parse a decisions row; its inputs as stored (a book may be a reference, see ``Ledger.decision``).
    ``documents``: the row's ``(inputs, detail)`` texts when they are not in the row itself (a packed
    decision's, from its segment: ``ledger.decision_segments``)."""
    inputs, detail = (row.inputs, row.detail) if documents is None else documents
    return DecisionRecord(row.decision_id, row.account_id, row.intent_id, row.strategy, row.symbol,
                          bool(row.approved), bool(row.adds_risk), row.reservation_id, int(row.ts_ms),
                          row.config_hash, int(row.version), json.loads(inputs), json.loads(detail))
