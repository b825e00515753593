"""Stop moves: a position's protective stop tightened in the ledger, as one event every process sees.

A dynamic stop (``riskguard.exits.dynamic_stop``) moves the stop of an open position with the
market; once the replacement order is on the exchange, the ledger records the new stop so the
book's total risk at stop drops with it. Each move is one transaction under the account lock: it
refuses a move that would loosen the stop, or a stop for a position that is not open, then
updates ``rg_positions.stop_price``, bumps the account's version (every process reloads its book
before its next decision) and writes a ``stop_moved`` event with the old and new stop, the reason
and the actor. The same stop again changes nothing and writes nothing, so a retry is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from riskguard.ledger import tables as t
from riskguard.ledger.accounts import AccountStore
from riskguard.ledger.errors import LedgerError, LedgerNotFound
from riskguard.model import validation as v
from riskguard.model.clock import wall_clock_ms
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError

STOP_MOVED = "stop_moved"
"""The ``rg_events`` kind of a stop move."""
MAX_REASON = 64
"""Longest reason a stop move is stored with, characters (e.g. ``chandelier``, ``high_vol``, ``manual``)."""

_KEY = (t.positions.c.account_id == bindparam("a"), t.positions.c.strategy == bindparam("s"),
        t.positions.c.symbol == bindparam("y"))
_POSITION = select(t.positions.c.side, t.positions.c.qty, t.positions.c.entry_price,
                   t.positions.c.stop_price, t.positions.c.r_unit).where(*_KEY)
_SET_STOP = update(t.positions).where(*_KEY).values(stop_price=bindparam("stop"))
# A position opened before its legs were kept (migration 0004) has its one R in its stop distance:
# fix it before the stop moves, so the pyramiding rules keep measuring in the R it opened with.
_SET_STOP_KEEPING_R = update(t.positions).where(*_KEY).values(stop_price=bindparam("stop"), r_unit=bindparam("r"))


class StopLoosened(LedgerError):
    """A stop move that would widen the position's risk: a stop only tightens. ``field`` names the
    refused request field (``stop_price``)."""

    field = "stop_price"


@dataclass(frozen=True, slots=True)
class StopMove:
    """Outcome of a stop move: the stop before (None when the position had none) and after (USDT),
    whether it changed, the loss at the new stop (USDT, 0 once the stop is at or beyond entry) and
    the account version after it."""

    strategy: str
    symbol: str
    side: str
    previous_stop: float | None
    stop_price: float
    moved: bool
    reason: str
    risk_usdt: float
    version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


def _text(field: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or any(ord(c) < 32 for c in value):
        raise InputValidationError(field, f"must be 1-{limit} printable characters", value)
    return value.strip()


def risk_at_stop(side: str, qty: float, entry_price: float, stop_price: float) -> float:
    """Loss of a position of ``qty`` (base units) entered at ``entry_price`` if stopped at
    ``stop_price`` (USDT; 0 when the stop locks break-even or a profit), as the book counts it."""
    distance = entry_price - stop_price if side == PositionSide.LONG.value else stop_price - entry_price
    return max(0.0, distance * qty)


class StopMoves(AccountStore):
    """Stop moves of ``account_id``'s open positions."""

    def move_stop(self, strategy: str, symbol: str, stop_price: float, *, reason: str, actor: str,
                  ts_ms: int | None = None) -> StopMove:
        """Tighten the stop of ``strategy``'s open position in ``symbol`` to ``stop_price`` (USDT).

        Refused by name: a ``stop_price`` that is not a price (non-finite, outside [1e-12, 1e12]
        USDT) or a blank ``reason`` / ``actor`` (InputValidationError); no open position
        (LedgerNotFound); a stop that would loosen the current one, i.e. lower for a long or higher
        for a short (StopLoosened). A
        position without a stop takes any stop. The same stop as now returns ``moved`` False and
        writes nothing. ``ts_ms`` is the event's time (default: the wall clock).
        """
        stop = v.price("stop_price", stop_price)
        why = _text("reason", reason, MAX_REASON)
        who = _text("actor", actor, 128)
        name = _text("strategy", strategy, 128)
        key = {"a": self.account_id, "s": name, "y": _text("symbol", symbol, 32).upper()}
        now = wall_clock_ms() if ts_ms is None else ts_ms
        with self.transaction() as conn:
            account = self.lock_account(conn)
            row = conn.execute(_POSITION, key).first()
            if row is None:
                raise LedgerNotFound(f"no open position of strategy {name!r} in {key['y']}: "
                                     "stop_price has no position to protect")
            current = None if row.stop_price is None else float(row.stop_price)
            direction = 1.0 if row.side == PositionSide.LONG.value else -1.0
            risk = risk_at_stop(row.side, row.qty, row.entry_price, stop)
            if current is not None and (stop - current) * direction < 0.0:
                raise StopLoosened(
                    f"stop_price {stop:g} would loosen the {row.side} stop of {name!r} in {key['y']} from "
                    f"{current:g}: a stop only tightens ({'raise' if direction > 0 else 'lower'} it, or close "
                    "the position)")
            if current == stop:
                return StopMove(name, key["y"], row.side, current, stop, False, why, risk, account.version)
            version = account.version + 1
            if row.r_unit is None and current is not None and current != row.entry_price:
                conn.execute(_SET_STOP_KEEPING_R, {**key, "stop": stop, "r": abs(row.entry_price - current)})
            else:
                conn.execute(_SET_STOP, {**key, "stop": stop})
            self.bump(conn, version)
            before = None if current is None else risk_at_stop(row.side, row.qty, row.entry_price, current)
            self._event(conn, now, who, STOP_MOVED, {
                "strategy": name, "symbol": key["y"], "side": row.side, "from": current, "to": stop,
                "reason": why, "risk_usdt_before": before, "risk_usdt_after": risk, "version": version})
            return StopMove(name, key["y"], row.side, current, stop, True, why, risk, version)
