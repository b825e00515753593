"""The account row: creation, the lock every writer takes first, the book version, the trading
state (with its events) and the shared NAV marks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from riskguard.book.book import DAY_MS
from riskguard.ledger import tables as t
from riskguard.ledger.connection import LedgerConnection
from riskguard.ledger.errors import LedgerNotFound
from riskguard.ledger.marks import DEFAULT_MAX_CLOCK_SKEW_MS, refuse_future_mark
from riskguard.ledger.rows import AccountRow, parse_account
from riskguard.model.clock import wall_clock_ms
from riskguard.model.codec import encode as dumps
from riskguard.model.enums import TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.snapshots import AccountSnapshot

# Built once: SQLAlchemy reuses their compiled form (reserve() uses hotpath.py).
_LOCK_ACCOUNT = select(t.accounts).where(t.accounts.c.account_id == bindparam("a")).with_for_update()
_READ_ACCOUNT = select(t.accounts).where(t.accounts.c.account_id == bindparam("a"))


def _insert_sql(table: Any) -> str:
    columns = [c.name for c in table.c if c.autoincrement is not True]
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


WRITES: dict[str, str] = {
    "nav": "UPDATE rg_accounts SET nav = ?, nav_ts_ms = ?, available_balance = ?, day_high_nav = ? "
           "WHERE account_id = ?",
    "pnl": "UPDATE rg_accounts SET version = ?, realized_pnl = ? WHERE account_id = ?",
    "equity_mark": _insert_sql(t.equity_marks),
    "fill": _insert_sql(t.fills),
    "position": _insert_sql(t.positions),
    "position_add": "UPDATE rg_positions SET qty = ?, entry_price = ?, stop_price = ?, first_qty = ?, adds = ?, "
                    "last_leg_qty = ?, last_leg_price = ?, last_leg_ts_ms = ?, last_leg_reservation_id = ? "
                    "WHERE account_id = ? AND strategy = ? AND symbol = ?",
    "position_reduce": "UPDATE rg_positions SET qty = ? WHERE account_id = ? AND strategy = ? AND symbol = ?",
    "position_flip": "UPDATE rg_positions SET side = ?, qty = ?, entry_price = ?, leverage = ?, stop_price = ?, "
                     "take_profit_price = ?, opened_ts_ms = ?, opened_version = ?, r_unit = ?, first_qty = ?, "
                     "adds = ?, last_leg_qty = ?, last_leg_price = ?, last_leg_ts_ms = ?, "
                     "last_leg_reservation_id = ? WHERE account_id = ? AND strategy = ? AND symbol = ?",
    "position_delete": "DELETE FROM rg_positions WHERE account_id = ? AND strategy = ? AND symbol = ?",
    "reservation_filled": "UPDATE rg_reservations SET filled_qty = ?, status = ? WHERE reservation_id = ?",
    "reservation_ended": "UPDATE rg_reservations SET filled_qty = ?, status = ?, ended_ms = ?, ended_version = ? "
                         "WHERE reservation_id = ?",
}
"""The writes of fills, closes and NAV marks as plain SQL (``?`` markers; ``%s`` on psycopg), sent
straight to the driver inside the SQLAlchemy transaction: SQLAlchemy's per-statement work (cache
look-up, parameter processing, events, result set-up) cost more than SQLite's own, and a replay
with the ledger runs ~10 of them per trade. Columns in table order (:data:`_insert_sql`)."""
_WRITES_PG = {key: text.replace("?", "%s") for key, text in WRITES.items()}
_BUMP = update(t.accounts).where(t.accounts.c.account_id == bindparam("a")).values(version=bindparam("v"))


class AccountStore(LedgerConnection):
    """The account row of ``account_id``."""

    # -- account ---------------------------------------------------------------------------
    def ensure_account(self, mode: str, *, actor: str = "riskguard", now_ms: int | None = None) -> AccountRow:
        """Create the account row (ACTIVE) if it does not exist; returns the current row."""
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.account_id == self.account_id)).first()
            if row is not None:
                return parse_account(row)
            conn.execute(insert(t.accounts).values(
                account_id=self.account_id, version=0, mode=mode, trading_state=TradingState.ACTIVE.value,
                state_reason="account created", state_actor=actor, state_ts_ms=now, realized_pnl=0.0))
            self._event(conn, now, actor, "account_created", {"mode": mode})
            created = conn.execute(select(t.accounts).where(t.accounts.c.account_id == self.account_id)).one()
            return parse_account(created)

    def lock_account(self, conn: Connection) -> AccountRow:
        """Read the account row, locking it until the transaction ends (serialises writers)."""
        row = conn.execute(_LOCK_ACCOUNT, {"a": self.account_id}).first()
        if row is None:
            raise LedgerNotFound(f"account {self.account_id!r} does not exist in the ledger {self.url}")
        return parse_account(row)

    def read_account(self, conn: Connection) -> AccountRow:
        """Read the account row without locking it."""
        row = conn.execute(_READ_ACCOUNT, {"a": self.account_id}).first()
        if row is None:
            raise LedgerNotFound(f"account {self.account_id!r} does not exist in the ledger {self.url}")
        return parse_account(row)

    def account(self) -> AccountRow:
        """The account row (no lock)."""
        with self.reading() as conn:
            return self.read_account(conn)

    def bump(self, conn: Connection, version: int) -> None:
        """Store the account's new book version."""
        conn.execute(_BUMP, {"a": self.account_id, "v": version})

    def write(self, conn: Connection, statement: str, params: tuple[Any, ...]) -> None:
        """Run one of :data:`WRITES` with ``params`` on ``conn``'s driver connection (same transaction)."""
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection in use always has its driver connection
        cursor = driver.cursor()
        try:
            cursor.execute((_WRITES_PG if self.postgres else WRITES)[statement], params)
        finally:
            cursor.close()

    def _event(self, conn: Connection, now: int, actor: str, kind: str, payload: dict[str, Any]) -> None:
        conn.execute(insert(t.events).values(account_id=self.account_id, ts_ms=now, actor=actor, kind=kind,
                                             payload=dumps(payload)))

    def set_trading_state(self, state: TradingState | str, reason: str, *, actor: str,
                          now_ms: int | None = None) -> AccountRow:
        """Change ACTIVE / REDUCING / HALTED, recording an event with actor, time and reason."""
        try:
            new_state = TradingState(state.upper() if isinstance(state, str) else state)
        except ValueError:
            raise InputValidationError("trading_state", "must be ACTIVE, REDUCING or HALTED", state) from None
        if not reason.strip():
            raise InputValidationError("reason", "must not be empty", reason)
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            current = self.lock_account(conn)
            conn.execute(update(t.accounts).where(t.accounts.c.account_id == self.account_id).values(
                trading_state=new_state.value, state_reason=reason, state_actor=actor, state_ts_ms=now))
            self._event(conn, now, actor, "trading_state",
                        {"from": current.trading_state.value, "to": new_state.value, "reason": reason})
            return self.lock_account(conn)

    def mark_nav(self, snapshot: AccountSnapshot, *, actor: str, source: str = "exchange",
                 now_ms: int | None = None, max_clock_skew_ms: float = DEFAULT_MAX_CLOCK_SKEW_MS) -> bool:
        """Store a NAV mark every process will use; a mark older than the stored one is ignored
        (returns False). Tracks the UTC day's NAV high for the drawdown gate.

        A mark dated more than ``max_clock_skew_ms`` after ``now_ms`` (default: the wall clock) is
        refused with InputValidationError: stored, it would make every later, correct mark look
        older and be ignored (the posture's ``account.max_clock_skew_s``)."""
        refuse_future_mark(snapshot.ts_ms, wall_clock_ms() if now_ms is None else now_ms, max_clock_skew_ms)
        with self.transaction() as conn:
            current = self.lock_account(conn)
            if current.nav_ts_ms is not None and snapshot.ts_ms < current.nav_ts_ms:
                return False
            same_day = current.nav_ts_ms is not None and current.nav_ts_ms // DAY_MS == snapshot.ts_ms // DAY_MS
            high = snapshot.day_start_nav or snapshot.nav
            if same_day and current.day_high_nav is not None:
                high = max(high, current.day_high_nav)
            high = max(high, snapshot.nav)
            self.write(conn, "nav", (snapshot.nav, snapshot.ts_ms, snapshot.available_balance, high,
                                     self.account_id))
            self.write(conn, "equity_mark", (self.account_id, snapshot.ts_ms, snapshot.nav,
                                             snapshot.available_balance, current.realized_pnl, source, actor))
            return True
