"""Positions accounting: fills of reservations, releases, closes and funding, each one transaction
under the account lock that keeps positions, reservations, fills, realised PnL and equity marks
consistent; and reading positions and reservations."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from riskguard.ledger import tables as t
from riskguard.ledger.accounts import AccountStore
from riskguard.ledger.errors import LedgerError, LedgerNotFound
from riskguard.ledger.rows import (
    ACTIVE,
    FILLED,
    FULL_SLACK,
    NEVER_MS,
    RELEASED,
    AccountRow,
    CloseResult,
    FillResult,
    parse_position,
)
from riskguard.model.clock import wall_clock_ms
from riskguard.model.enums import PositionSide, Side
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position


def _finite(field: str, value: float, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputValidationError(field, "must be a finite number", value)
    if positive and value <= 0.0:
        raise InputValidationError(field, "must be > 0", value)
    if not positive and value < 0.0:
        raise InputValidationError(field, "must be >= 0", value)
    return float(value)


def _signed_finite(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputValidationError(field, "must be a finite number", value)
    return float(value)


# Reads built once, values as parameters: SQLAlchemy reuses their compiled form instead of building,
# coercing and cache-keying a statement with literal values for every fill (the replay's ledger
# mode spent more there than in SQLite). The writes are plain SQL (accounts.WRITES).
_RESERVATION = select(t.reservations).where(t.reservations.c.reservation_id == bindparam("r"),
                                            t.reservations.c.account_id == bindparam("a"))
_POSITION_KEY = (t.positions.c.account_id == bindparam("a"), t.positions.c.strategy == bindparam("s"),
                 t.positions.c.symbol == bindparam("y"))
_POSITION = select(t.positions).where(*_POSITION_KEY)


def _r_unit(reservation: Row[Any], fill_price: float) -> float | None:
    """One R of an order filled at ``fill_price``, USDT per unit: its distance to its stop, or (no
    stop) the fraction of the price the engine estimated its risk at."""
    stop = reservation.stop_price
    if stop is not None and stop != fill_price:
        return abs(fill_price - float(stop))
    if reservation.notional > 0.0 and reservation.risk_usdt > 0.0:
        return float(reservation.risk_usdt) / float(reservation.notional) * fill_price
    return None


class PositionsAccounting(AccountStore):
    """Fills, releases, closes and funding of ``account_id``'s positions."""

    # -- fills, releases, closes -----------------------------------------------------------
    def fill(self, reservation_id: str, qty: float, price: float, fee: float = 0.0, *,
             now_ms: int | None = None) -> FillResult:
        """Record a (partial) fill of a reservation: the position grows (or flips) by ``qty`` base
        units at ``price`` USDT, fee in USDT. The reservation keeps the unfilled remainder."""
        qty = _finite("qty", qty, positive=True)
        price = _finite("price", price, positive=True)
        fee = _finite("fee", fee, positive=False)
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            account = self.lock_account(conn)
            row = conn.execute(_RESERVATION, {"r": reservation_id, "a": self.account_id}).first()
            if row is None:
                raise LedgerNotFound(f"reservation {reservation_id!r} does not exist")
            if row.status in (FILLED, RELEASED):
                raise LedgerError(f"reservation {reservation_id} is {row.status}; it cannot be filled")
            remaining = row.qty - row.filled_qty
            if qty > remaining * (1.0 + FULL_SLACK):
                raise InputValidationError("qty", f"exceeds the unfilled {remaining} of reservation "
                                                  f"{reservation_id}", qty)
            version = account.version + 1
            side = Side(row.side)
            r_unit = _r_unit(row, price)
            signed_after, realized = self._trade(conn, row.strategy, row.symbol, side, qty, price, now, version,
                                                 row.leverage, row.stop_price, row.take_profit_price,
                                                 reservation_id, r_unit)
            realized -= fee
            filled = row.filled_qty + qty
            status = row.status
            if filled >= row.qty * (1.0 - FULL_SLACK):
                if status == ACTIVE:
                    self.write(conn, "reservation_ended", (filled, FILLED, now, version, reservation_id))
                else:
                    self.write(conn, "reservation_filled", (filled, FILLED, reservation_id))
                status = FILLED
            else:
                self.write(conn, "reservation_filled", (filled, status, reservation_id))
            self._record_fill(conn, account, reservation_id, row.strategy, row.symbol, side, qty, price, fee,
                              realized, signed_after, now, version, "fill")
            return FillResult(reservation_id, signed_after, status, realized)

    def placed(self, reservation_id: str, *, now_ms: int | None = None) -> bool:
        """The reservation's order was sent to the exchange: from now on it does not expire, it
        holds its budget until it is filled or released (call :meth:`release` when the order is
        cancelled or expires on the exchange), so a fill arriving after the TTL finds its budget
        still held. Returns False, changing nothing, when the reservation is no longer active or
        its TTL has passed already (then the order must not be sent: its budget is being returned)."""
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            account = self.lock_account(conn)
            row = conn.execute(select(t.reservations.c.status, t.reservations.c.expires_ms).where(
                t.reservations.c.reservation_id == reservation_id,
                t.reservations.c.account_id == self.account_id)).first()
            if row is None:
                raise LedgerNotFound(f"reservation {reservation_id!r} does not exist")
            if row.status != ACTIVE or row.expires_ms <= now:
                return False
            if row.expires_ms != NEVER_MS:
                conn.execute(update(t.reservations).where(t.reservations.c.reservation_id == reservation_id)
                             .values(expires_ms=NEVER_MS))
                self.bump(conn, account.version + 1)
            return True

    def release(self, reservation_id: str, *, now_ms: int | None = None) -> bool:
        """Return an unfilled (or partly filled) reservation's remaining budget. Returns False when it
        was no longer active (already filled, released or expired)."""
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            account = self.lock_account(conn)
            row = conn.execute(select(t.reservations.c.status).where(
                t.reservations.c.reservation_id == reservation_id,
                t.reservations.c.account_id == self.account_id)).first()
            if row is None:
                raise LedgerNotFound(f"reservation {reservation_id!r} does not exist")
            if row.status != ACTIVE:
                return False
            conn.execute(update(t.reservations).where(t.reservations.c.reservation_id == reservation_id).values(
                status=RELEASED, ended_ms=now, ended_version=account.version + 1))
            self.bump(conn, account.version + 1)
            return True

    def close(self, strategy: str, symbol: str, price: float, *, qty: float | None = None, fee: float = 0.0,
              funding: float = 0.0, now_ms: int | None = None) -> CloseResult:
        """Close (or with ``qty`` reduce) the position of ``strategy`` in ``symbol`` at ``price`` USDT;
        books the realised PnL net of ``fee`` and an equity mark. ``funding`` (USDT, > 0 received,
        < 0 paid) is booked first in the same transaction, as :meth:`book_funding` would; the
        returned ``realized_pnl`` is the close's own."""
        price = _finite("price", price, positive=True)
        fee = _finite("fee", fee, positive=False)
        funding = _signed_finite("funding", funding)
        now = wall_clock_ms() if now_ms is None else now_ms
        symbol = symbol.upper()
        with self.transaction() as conn:
            account = self.lock_account(conn)
            row = self._open_position(conn, strategy, symbol)
            if funding != 0.0:
                account = self._funding(conn, account, row, strategy, symbol, funding, now)
            amount = row.qty if qty is None else _finite("qty", qty, positive=True)
            if amount > row.qty * (1.0 + FULL_SLACK):
                raise InputValidationError("qty", f"exceeds the open {row.qty} of {strategy} {symbol}", qty)
            amount = min(amount, row.qty)
            side = Side.SELL if row.side == PositionSide.LONG.value else Side.BUY
            version = account.version + 1
            signed_after, realized = self._trade(conn, strategy, symbol, side, amount, price, now, version,
                                                 row.leverage, row.stop_price, row.take_profit_price)
            realized -= fee
            self._record_fill(conn, account, None, strategy, symbol, side, amount, price, fee, realized,
                              signed_after, now, version, "close" if signed_after == 0.0 else "reduce")
            return CloseResult(strategy, symbol, amount, price, realized, signed_after)

    def book_funding(self, strategy: str, symbol: str, amount: float, *, now_ms: int | None = None) -> float:
        """Book a funding payment on the open position of ``strategy`` in ``symbol``: ``amount``
        USDT received (> 0) or paid (< 0). It is realised PnL: a ``funding`` row in ``rg_fills``
        (quantity 0, the position unchanged) and an equity mark. Returns the account's realised
        PnL after it. Refused by name: a non-finite amount, or no open position to fund."""
        amount = _signed_finite("amount", amount)
        now = wall_clock_ms() if now_ms is None else now_ms
        symbol = symbol.upper()
        with self.transaction() as conn:
            account = self.lock_account(conn)
            row = self._open_position(conn, strategy, symbol)
            if amount == 0.0:
                return account.realized_pnl
            return self._funding(conn, account, row, strategy, symbol, amount, now).realized_pnl

    def _open_position(self, conn: Connection, strategy: str, symbol: str) -> Row[Any]:
        """The position row of ``strategy`` in ``symbol`` (the account locked); LedgerNotFound if flat."""
        row = conn.execute(_POSITION, {"a": self.account_id, "s": strategy, "y": symbol}).first()
        if row is None:
            raise LedgerNotFound(f"no open position of strategy {strategy!r} in {symbol}")
        return row

    def _funding(self, conn: Connection, account: AccountRow, position: Row[Any], strategy: str, symbol: str,
                 amount: float, now: int) -> AccountRow:
        """Book ``amount`` of funding on ``position`` (locked); returns the account row as it now is."""
        held = position.qty if position.side == PositionSide.LONG.value else -position.qty
        side = Side.BUY if held > 0 else Side.SELL
        version = account.version + 1
        self._record_fill(conn, account, None, strategy, symbol, side, 0.0, position.entry_price, 0.0, amount,
                          held, now, version, "funding")
        return dataclasses.replace(account, version=version, realized_pnl=account.realized_pnl + amount)

    def _trade(self, conn: Connection, strategy: str, symbol: str, side: Side, qty: float, price: float,
               now: int, version: int, leverage: float, stop: float | None,
               target: float | None, reservation_id: str | None = None,
               r_unit: float | None = None) -> tuple[float, float]:
        """Apply a trade to the position row; returns (signed qty after, realised PnL before fees).

        A trade that opens (or flips into) a position starts its legs: one R is ``r_unit`` (USDT per
        unit, the risk the engine approved the order with). One on the position's side is an add:
        a new leg, or more of the last leg when it fills the same reservation (``reservation_id``);
        the add's stop becomes the position's unless the position's own is tighter (a stop only
        ratchets)."""
        key = {"a": self.account_id, "s": strategy, "y": symbol}
        row = conn.execute(_POSITION, key).first()
        direction = 1.0 if side is Side.BUY else -1.0
        where = (self.account_id, strategy, symbol)
        opened = (PositionSide.LONG if side is Side.BUY else PositionSide.SHORT).value
        if row is None:
            self.write(conn, "position", (*where, opened, qty, price, leverage, stop, target, now, version,
                                          r_unit, qty, 0, qty, price, now, reservation_id))
            return direction * qty, 0.0
        held = row.qty if row.side == PositionSide.LONG.value else -row.qty
        if held * direction > 0:
            total = row.qty + qty
            entry = (row.qty * row.entry_price + qty * price) / total
            new_stop = row.stop_price
            if stop is not None and (new_stop is None or (stop - new_stop) * direction > 0):
                new_stop = stop
            same_leg = reservation_id is not None and reservation_id == row.last_leg_reservation_id
            if same_leg and row.last_leg_qty is not None and row.last_leg_price is not None:
                leg_qty = row.last_leg_qty + qty
                leg_price = (row.last_leg_qty * row.last_leg_price + qty * price) / leg_qty
                first_qty = leg_qty if row.adds == 0 else row.first_qty
                legs = (first_qty, row.adds, leg_qty, leg_price, row.last_leg_ts_ms, reservation_id)
            else:
                first_qty = row.first_qty if row.first_qty is not None else row.qty
                legs = (first_qty, row.adds + 1, qty, price, now, reservation_id)
            self.write(conn, "position_add", (total, entry, new_stop, *legs, *where))
            return direction * total, 0.0
        closed = min(qty, row.qty)
        realized = (price - row.entry_price) * closed * (1.0 if held > 0 else -1.0)
        left = row.qty - closed
        flip = qty - closed
        if left > row.qty * FULL_SLACK:
            self.write(conn, "position_reduce", (left, *where))
            return (left if held > 0 else -left), realized
        if flip > qty * FULL_SLACK:
            self.write(conn, "position_flip", (opened, flip, price, leverage, stop, target, now, version,
                                               r_unit, flip, 0, flip, price, now, reservation_id, *where))
            return direction * flip, realized
        self.write(conn, "position_delete", where)
        return 0.0, realized

    def _record_fill(self, conn: Connection, account: AccountRow, reservation_id: str | None, strategy: str,
                     symbol: str, side: Side, qty: float, price: float, fee: float, realized: float,
                     signed_after: float, now: int, version: int, kind: str) -> None:
        self.write(conn, "fill", (self.account_id, reservation_id, strategy, symbol, side.value, kind, qty, price, fee,
                                  realized, signed_after, now, version))
        total = account.realized_pnl + realized
        self.write(conn, "pnl", (version, total, self.account_id))
        if realized != 0.0 or fee != 0.0:
            self.write(conn, "equity_mark", (self.account_id, now, account.nav, account.available_balance, total,
                                             kind, "ledger"))

    def positions(self) -> list[Position]:
        """Open positions, ordered by strategy and symbol."""
        with self.reading() as conn:
            return [parse_position(r) for r in conn.execute(
                select(t.positions).where(t.positions.c.account_id == self.account_id)
                .order_by(t.positions.c.strategy, t.positions.c.symbol))]

    def reservations(self, status: str | None = ACTIVE) -> list[Row[Any]]:
        """Reservation rows (active ones by default; ``status=None`` for all)."""
        query = select(t.reservations).where(t.reservations.c.account_id == self.account_id)
        if status == ACTIVE:
            # The partial index's own predicate (a literal, so that a prepared plan can use it), above
            # the account's floor: the read skips the index entries of what expired before.
            floor = select(t.accounts.c.expired_through_ms).where(t.accounts.c.account_id == self.account_id)
            query = query.where(t.ACTIVE_ONLY, t.reservations.c.expires_ms > floor.scalar_subquery())
        elif status is not None:
            query = query.where(t.reservations.c.status == status)
        with self.reading() as conn:
            return list(conn.execute(query.order_by(t.reservations.c.created_version)))
