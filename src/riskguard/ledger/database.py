"""Connecting to the ledger database: SQLite (WAL, embedded default) or PostgreSQL, same code.

SQLite transactions that write start with ``BEGIN IMMEDIATE`` so that competing reservations are
serialised at their start (no deadlock-prone lock upgrade). Writers on one host additionally take
an ``flock`` on ``<db>.lock``: the kernel queues them fairly, where SQLite's busy handler would
sleep in growing steps and starve some processes under heavy contention.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from riskguard.ledger.errors import LedgerError

DEFAULT_DB_URL = "sqlite:///riskguard.db"
ENV_DB_URL = "RISKGUARD_DB_URL"
_SQLITE_BUSY_TIMEOUT_S = 60.0
READ_ONLY = "riskguard_read_only"
"""Execution option marking a connection that only reads (SQLite then begins DEFERRED)."""


def default_url() -> str:
    """``$RISKGUARD_DB_URL`` or the embedded SQLite file ``riskguard.db`` in the working directory."""
    return os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL


_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")
"""``scheme://user:PASSWORD@``: the password in a URL's authority."""
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)
"""``?password=...``: a password passed as a connection parameter."""


def redact(url: str) -> str:
    """The URL (or file path) exactly as given, with only its password hidden: safe for messages and
    logs, and recognisable (no re-encoding of the path)."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1***@", url))


def normalise_url(url: str) -> str:
    """Accept a bare file path as an SQLite database; refuse unknown schemes by name."""
    if "://" not in url:
        return f"sqlite:///{os.path.abspath(url)}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        raise LedgerError(f"db_url: not a database URL: {redact(url)}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(f"db_url: only sqlite and postgresql are supported, got {redact(url)}")
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded SQLite backend."""
    return engine.dialect.name == "sqlite"


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` (a URL or an SQLite file path) with the ledger's connection settings."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise LedgerError("db_url: the ledger needs an SQLite file, not an in-memory database")
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                         connect_args={"connect_timeout": 5})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE below is honoured.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode is consistent after a process crash; only power loss can drop the
        # last commits, never corrupt or half-apply one.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Another writer invalidates this connection's page cache; mapped pages are re-read without copies.
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Readers take no write lock; writers take it at BEGIN, not at their first write.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class HostLock:
    """An exclusive ``flock`` on a sidecar file, serialising SQLite writers on this host fairly."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        self.path = f"{database}.lock" if database else None
        self._fd: int | None = None
        self._pid = -1

    def _descriptor(self) -> int | None:
        if self.path is None:
            return None
        # A descriptor inherited over fork shares the lock with the parent: reopen per process.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the duration of the block (no-op for PostgreSQL)."""
        fd = self._descriptor()
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the descriptor."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
