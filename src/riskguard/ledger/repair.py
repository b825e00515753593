"""Repairs of the ledger from the exchange's truth (``riskguard reconcile --apply``).

Each repair is one transaction that also writes a ``reconcile_repair`` event with the actor, the
state before and after, and the reason; nothing is deleted: a position change is a fill row of
kind ``repair`` (quantity, price, realised PnL) so the history still adds up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from riskguard.ledger import tables as t
from riskguard.ledger.ledger import Ledger
from riskguard.model.clock import wall_clock_ms
from riskguard.model.enums import PositionSide, Side
from riskguard.model.errors import InputValidationError

REPAIR_EVENT = "reconcile_repair"
_FLAT = 1e-12  # signed quantities closer to zero than this are no position


@dataclass(frozen=True, slots=True)
class RepairRecord:
    """One repair as stored in its event: what it touched, the state before and after, why."""

    what: str
    strategy: str | None
    symbol: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the event's payload)."""
        return {"what": self.what, "strategy": self.strategy, "symbol": self.symbol, "before": self.before,
                "after": self.after, "reason": self.reason}


def _position_state(conn: Connection, ledger: Ledger, strategy: str, symbol: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.positions).where(
        t.positions.c.account_id == ledger.account_id, t.positions.c.strategy == strategy,
        t.positions.c.symbol == symbol)).first()
    if row is None:
        return None
    return {"side": row.side, "qty": row.qty, "entry_price": row.entry_price, "leverage": row.leverage}


def record_repair(conn: Connection, ledger: Ledger, record: RepairRecord, *, actor: str, now_ms: int) -> None:
    """Write ``record`` as a ``reconcile_repair`` event inside the caller's transaction."""
    ledger._event(conn, now_ms, actor, REPAIR_EVENT, record.to_dict())


def repair_position(ledger: Ledger, *, strategy: str, symbol: str, target_qty: float, price: float,
                    entry_price: float | None, leverage: float, actor: str, reason: str,
                    now_ms: int | None = None) -> RepairRecord:
    """Bring the position of ``strategy`` in ``symbol`` to ``target_qty`` (signed base units, long > 0)
    with a ``repair`` fill at ``price`` USDT, then (if still open and ``entry_price`` is given) set
    its entry to ``entry_price``. ``leverage`` applies to a position the repair opens."""
    for name, value in (("price", price), ("leverage", leverage)):
        if not value > 0:
            raise InputValidationError(name, "must be > 0", value)
    now = wall_clock_ms() if now_ms is None else now_ms
    symbol = symbol.upper()
    with ledger.transaction() as conn:
        account = ledger.lock_account(conn)
        before = _position_state(conn, ledger, strategy, symbol)
        held = 0.0
        if before is not None:
            held = before["qty"] if before["side"] == PositionSide.LONG.value else -before["qty"]
        delta = target_qty - held
        version = account.version
        if abs(delta) > _FLAT:
            version += 1
            side = Side.BUY if delta > 0 else Side.SELL
            signed_after, realized = ledger._trade(conn, strategy, symbol, side, abs(delta), price, now, version,
                                                   leverage, None, None)
            ledger._record_fill(conn, account, None, strategy, symbol, side, abs(delta), price, 0.0, realized,
                                signed_after, now, version, "repair")
        current = _position_state(conn, ledger, strategy, symbol)
        moved = entry_price is not None and entry_price > 0 and current is not None \
            and current["entry_price"] != entry_price
        if moved:
            conn.execute(update(t.positions).where(
                t.positions.c.account_id == ledger.account_id, t.positions.c.strategy == strategy,
                t.positions.c.symbol == symbol).values(entry_price=entry_price))
            if version == account.version:
                version += 1
                ledger.bump(conn, version)
        record = RepairRecord("position", strategy, symbol, before, _position_state(conn, ledger, strategy, symbol),
                              reason)
        record_repair(conn, ledger, record, actor=actor, now_ms=now)
        return record


def record_event(ledger: Ledger, record: RepairRecord, *, actor: str, now_ms: int | None = None) -> None:
    """Store ``record`` (a repair made through the ledger's public calls, e.g. ``fill`` or ``release``)
    as a ``reconcile_repair`` event."""
    with ledger.transaction() as conn:
        ledger.lock_account(conn)
        record_repair(conn, ledger, record, actor=actor, now_ms=wall_clock_ms() if now_ms is None else now_ms)
