"""The ledger's database connection: serialised write transactions (the account lock's host-level
half on SQLite), the connection the reserve path keeps, read-only connections, and database
errors turned into LedgerUnavailable / LedgerError."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskguard.ledger.database import READ_ONLY, HostLock, create_db_engine, is_sqlite, redact
from riskguard.ledger.errors import LedgerError, LedgerUnavailable
from riskguard.ledger.migrate import current_revision, head_revision, upgrade
from riskguard.ledger.walcheckpoint import WalCheckpointer

log = logging.getLogger("riskguard.ledger")


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    """A scratch ledger's connections: commits are not synced to disk (see LedgerConnection)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


class LedgerConnection:
    """One database (``url``: a SQLAlchemy URL or an SQLite file path) seen from one account
    (``account_id``).

    ``scratch=True`` (SQLite only) is for a file this process created for itself and deletes after
    use, such as a replay's or a calibration's ledger: no other process may open it. Its commits
    are not synced to disk (``PRAGMA synchronous=OFF``: a power loss may corrupt it, which does not
    matter for a file nobody keeps) and its write transactions reuse one connection instead of a
    pool checkout each. Never set it for a ledger bots share: every decision and cap is the same,
    only durability and sharing are given up.
    """

    def __init__(self, url: str, *, account_id: str = "default", scratch: bool = False) -> None:
        self.url = redact(url)
        self.account_id = account_id
        self.engine: Engine = create_db_engine(url)
        if scratch and not is_sqlite(self.engine):
            self.engine.dispose()
            raise LedgerError("scratch: only an SQLite file this process owns can be a scratch ledger")
        self.scratch = scratch
        if scratch:
            event.listen(self.engine, "connect", _no_sync)
        self._scratch_connection: Connection | None = None
        self._host_lock = HostLock(self.engine) if is_sqlite(self.engine) else None
        database = self.engine.url.database
        self._checkpointer = WalCheckpointer(database) if self._host_lock is not None and database else None
        self._postgres = self.engine.dialect.name == "postgresql"
        self._dbapi: Any = self.engine.dialect.loaded_dbapi
        self._kept: Any = None  # the pooled connection reserve() keeps checked out, see kept_transaction
        self._kept_pid = -1
        self._after_commit: list[Callable[[], None]] = []  # called after each kept transaction commits

    @property
    def postgres(self) -> bool:
        """True on PostgreSQL, False on SQLite."""
        return self._postgres

    # -- plumbing --------------------------------------------------------------------------
    def upgrade(self) -> str:
        """Apply pending schema migrations; returns the revision reached."""
        try:
            return upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    def schema_is_current(self) -> bool:
        """True when the database is at the newest migration."""
        try:
            return current_revision(self.engine) == head_revision()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    def dispose(self) -> None:
        """Close pooled connections (call in a child after fork, and at shutdown)."""
        if self._kept is not None and self._kept_pid == os.getpid():
            self._kept.close()
        self._kept = None
        if self._scratch_connection is not None:
            self._scratch_connection.close()
            self._scratch_connection = None
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()
        if self._host_lock is not None:
            self._host_lock.close()

    def _unavailable(self, exc: BaseException) -> LedgerUnavailable:
        origin = getattr(exc, "orig", None) or exc
        first_line = (str(origin).strip().splitlines() or [type(origin).__name__])[0]
        return LedgerUnavailable(f"ledger database {self.url} unavailable: {first_line}")

    @contextmanager
    def transaction(self, *, host_lock: HostLock | None = None) -> Iterator[Connection]:
        """One serialised write transaction; database failures surface as LedgerUnavailable.
        ``host_lock``: SQLite, a writer on another thread of this process holds its own lock on the
        file (``flock`` does not exclude threads that share one descriptor)."""
        lock = host_lock or self._host_lock
        try:
            if self.scratch:
                with self._scratch().begin():
                    yield self._scratch()
            elif lock is None:
                with self.engine.begin() as connection:
                    yield connection
            else:
                with lock.held(), self.engine.begin() as connection:
                    yield connection
        except IntegrityError as exc:
            raise LedgerError(f"ledger constraint violated: {self._unavailable(exc).args[0]}") from None
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    @contextmanager
    def kept_transaction(self) -> Iterator[Any]:
        """One serialised write transaction as a plain DBAPI cursor on a connection this process keeps.

        The reserve() hot path: no pool checkout (nor PostgreSQL pre-ping round trip), no statement
        compilation or events, so the account lock is held for the SQL itself. SQLite begins
        IMMEDIATE here; psycopg begins implicitly at the first statement. A database error rolls
        back, discards the connection (the next call reconnects) and surfaces as LedgerUnavailable;
        a constraint violation as LedgerError.
        """
        lock: AbstractContextManager[None] = nullcontext() if self._host_lock is None else self._host_lock.held()
        with lock:
            kept = self._kept_connection()
            connection = kept.driver_connection
            # psycopg's pipeline mode sends statements without waiting for each result: BEGIN goes
            # out with the lock query, the write with COMMIT (PostgreSQL keeps transaction order).
            pipeline: AbstractContextManager[Any] = connection.pipeline() if self._postgres else nullcontext()
            try:
                with pipeline:
                    cursor = connection.cursor()
                    if not self._postgres:
                        cursor.execute("BEGIN IMMEDIATE")
                    yield cursor
                    connection.commit()
            except self._dbapi.Error as exc:
                self._discard_kept()
                if isinstance(exc, self._dbapi.IntegrityError):
                    raise LedgerError(f"ledger constraint violated: {self._unavailable(exc).args[0]}") from None
                raise self._unavailable(exc) from None
            except BaseException:
                try:
                    connection.rollback()
                except self._dbapi.Error:
                    self._discard_kept()
                raise
        if self._checkpointer is not None:
            self._checkpointer.committed()
        for after_commit in self._after_commit:
            after_commit()

    def _scratch(self) -> Connection:
        """The one connection a scratch ledger's write transactions use (this process is its only user)."""
        if self._scratch_connection is None or self._scratch_connection.closed:
            self._scratch_connection = self.engine.connect()
        return self._scratch_connection

    def _kept_connection(self) -> Any:
        # A connection inherited over fork belongs to the parent: leave it alone, open our own.
        if self._kept is None or self._kept_pid != os.getpid():
            try:
                self._kept = self.engine.raw_connection()
                if self._checkpointer is not None:
                    self._checkpointer.configure(self._kept.driver_connection)
            except (SQLAlchemyError, self._dbapi.Error) as exc:
                raise self._unavailable(exc) from None
            self._kept_pid = os.getpid()
        return self._kept

    def _discard_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            try:
                kept.invalidate()
            except Exception:  # the connection is broken already; dropping it is the point
                log.debug("discarding a broken ledger connection failed", exc_info=True)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (no lock)."""
        try:
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
                yield connection
                connection.rollback()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
