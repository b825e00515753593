"""The shared ledger: positions, reservations, fills, decisions, events and equity marks of an account.

Every bot process, on one host or many, writes through one ledger. Each operation is one
transaction that first locks the account row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite
``BEGIN IMMEDIATE``), so competing writers are serialised per account and a crash at any point
leaves either the whole operation or none of it.
"""

from __future__ import annotations

from sqlalchemy import Connection

from riskguard.config.limits import Limits
from riskguard.ledger.accounting import PositionsAccounting
from riskguard.ledger.audit import AuditStore
from riskguard.ledger.hotpath import ReserveCursor
from riskguard.ledger.rows import AccountRow
from riskguard.ledger.state import BookState
from riskguard.ledger.stop_moves import StopMoves
from riskguard.model.clock import wall_clock_ms


class Ledger(PositionsAccounting, StopMoves, AuditStore):
    """The durable source of truth for one account's book (``account_id``) in one database.

    ``url`` is a SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``) or an SQLite
    file path. The schema must be at the newest migration (``riskguard db upgrade`` or
    :meth:`upgrade`). Its concepts live in their own modules: the connection
    (``ledger.connection``), the account row (``ledger.accounts``), positions accounting
    (``ledger.accounting``), stop moves (``ledger.stop_moves``), the audit store (``ledger.audit``),
    rows (``ledger.rows``); the book as decisions see it is read here, with the reserve path's
    statements (``ledger.hotpath``).
    """

    # -- the book --------------------------------------------------------------------------
    def load_state(self, conn: Connection, limits: Limits, now_ms: int, account: AccountRow) -> BookState:
        """Positions, active reservations and approval counters as of ``now_ms`` (inside a
        transaction or read of ``conn``): the reserve path's own reading, on this connection."""
        return self._cursor(conn).load_state(limits, now_ms, account)

    def expire(self, *, now_ms: int | None = None) -> int:
        """Return the budget of every reservation whose TTL has passed (bumping the book version
        when any did); returns how many expired."""
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            account = self.lock_account(conn)
            cursor = self._cursor(conn)
            expired = cursor.expire(now, account.version + 1)
            cursor.raise_floor(now)
            if expired:
                self.bump(conn, account.version + 1)
            return expired

    def _cursor(self, conn: Connection) -> ReserveCursor:
        """The reserve path's statements on the driver connection under ``conn`` (same transaction)."""
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection in use always has its driver connection
        return ReserveCursor(driver.cursor(), self.account_id, self.postgres)
