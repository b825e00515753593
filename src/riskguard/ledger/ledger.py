"""The shared ledger: positions, reservations, fills, decisions, events and equity marks of an account.

Every bot process, on one host or many, writes through one ledger. Each operation is one
transaction that first locks the account row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite
``BEGIN IMMEDIATE``), so competing writers are serialised per account and a crash at any point
leaves either the whole operation or none of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from riskguard.book.book import DAY_MS
from riskguard.book.reservation import Reservation
from riskguard.config.limits import Limits
from riskguard.engine.engine import wall_clock_ms
from riskguard.ledger import tables as t
from riskguard.ledger.bookchain import resolve_book
from riskguard.ledger.database import READ_ONLY, HostLock, create_db_engine, is_sqlite, redact
from riskguard.ledger.encoding import dumps as _dumps
from riskguard.ledger.errors import LedgerError, LedgerNotFound, LedgerUnavailable
from riskguard.ledger.marks import DEFAULT_MAX_CLOCK_SKEW_MS, refuse_future_mark
from riskguard.ledger.migrate import current_revision, head_revision, upgrade
from riskguard.ledger.state import BookState
from riskguard.ledger.walcheckpoint import WalCheckpointer
from riskguard.model.enums import PositionSide, Side, TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position
from riskguard.model.snapshots import AccountSnapshot

log = logging.getLogger("riskguard.ledger")

ACTIVE, FILLED, RELEASED, EXPIRED = "ACTIVE", "FILLED", "RELEASED", "EXPIRED"
_FULL = 1e-9  # relative slack when comparing filled quantity to the reserved quantity


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


# Statements of the other writers, built once: SQLAlchemy reuses their compiled form (reserve() uses hotpath.py).
_LOCK_ACCOUNT = select(t.accounts).where(t.accounts.c.account_id == bindparam("a")).with_for_update()
_READ_ACCOUNT = select(t.accounts).where(t.accounts.c.account_id == bindparam("a"))
_BUMP = update(t.accounts).where(t.accounts.c.account_id == bindparam("a")).values(version=bindparam("v"))
_EXPIRE = (update(t.reservations)
           .where(t.reservations.c.account_id == bindparam("a"), t.reservations.c.status == ACTIVE,
                  t.reservations.c.expires_ms <= bindparam("now"))
           .values(status=EXPIRED, ended_ms=bindparam("now"), ended_version=bindparam("v")))


def dumps(value: Any) -> str:
    """Compact JSON; floats keep their exact repr (inf as Infinity) so replays compare exactly."""
    return _dumps(value)


def canonical_dumps(value: Any) -> str:
    """Compact JSON with sorted keys, for comparing documents."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


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


def _account(row: Row[Any]) -> AccountRow:
    return AccountRow(row.account_id, int(row.version), row.mode, TradingState(row.trading_state),
                      row.state_reason, row.state_actor, int(row.state_ts_ms), row.nav,
                      None if row.nav_ts_ms is None else int(row.nav_ts_ms), row.available_balance,
                      row.day_high_nav, float(row.realized_pnl), row.counters)


def _position(row: Row[Any]) -> Position:
    return Position(symbol=row.symbol, side=row.side, qty=row.qty, entry_price=row.entry_price,
                    strategy=row.strategy, leverage=row.leverage, stop_price=row.stop_price,
                    take_profit_price=row.take_profit_price, opened_ts_ms=int(row.opened_ts_ms))


def _book_reservation(row: Row[Any], held: set[tuple[str, str]]) -> Reservation:
    # Budget still held = the unfilled fraction. Once part is filled the position holds the slot;
    # if that position was closed since, the unfilled remainder could open it again: a slot again.
    remaining = max(0.0, 1.0 - row.filled_qty / row.qty)
    opens_new = bool(row.opens_new) and (row.filled_qty == 0.0 or (row.strategy, row.symbol) not in held)
    return Reservation(reservation_id=row.reservation_id, intent_id=row.intent_id, strategy=row.strategy,
                       symbol=row.symbol, side=Side(row.side), notional=row.notional * remaining,
                       risk_usdt=row.risk_usdt * remaining, opens_new=opens_new, expires_ms=int(row.expires_ms))


class Ledger:
    """The durable source of truth for one account's book (``account_id``) in one database.

    ``url`` is a SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``) or an SQLite
    file path. The schema must be at the newest migration (``riskguard db upgrade`` or
    :meth:`upgrade`).
    """

    def __init__(self, url: str, *, account_id: str = "default") -> None:
        self.url = redact(url)
        self.account_id = account_id
        self.engine: Engine = create_db_engine(url)
        self._host_lock = HostLock(self.engine) if is_sqlite(self.engine) else None
        database = self.engine.url.database
        self._checkpointer = WalCheckpointer(database) if self._host_lock is not None and database else None
        self._postgres = self.engine.dialect.name == "postgresql"
        self._dbapi: Any = self.engine.dialect.loaded_dbapi
        self._kept: Any = None  # the pooled connection reserve() keeps checked out, see kept_transaction
        self._kept_pid = -1

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
    def transaction(self) -> Iterator[Connection]:
        """One serialised write transaction; database failures surface as LedgerUnavailable."""
        try:
            if self._host_lock is None:
                with self.engine.begin() as connection:
                    yield connection
            else:
                with self._host_lock.held(), self.engine.begin() as connection:
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

    # -- account ---------------------------------------------------------------------------
    def ensure_account(self, mode: str, *, actor: str = "riskguard", now_ms: int | None = None) -> AccountRow:
        """Create the account row (ACTIVE) if it does not exist; returns the current row."""
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.account_id == self.account_id)).first()
            if row is not None:
                return _account(row)
            conn.execute(insert(t.accounts).values(
                account_id=self.account_id, version=0, mode=mode, trading_state=TradingState.ACTIVE.value,
                state_reason="account created", state_actor=actor, state_ts_ms=now, realized_pnl=0.0))
            self._event(conn, now, actor, "account_created", {"mode": mode})
            created = conn.execute(select(t.accounts).where(t.accounts.c.account_id == self.account_id)).one()
            return _account(created)

    def lock_account(self, conn: Connection) -> AccountRow:
        """Read the account row, locking it until the transaction ends (serialises writers)."""
        row = conn.execute(_LOCK_ACCOUNT, {"a": self.account_id}).first()
        if row is None:
            raise LedgerNotFound(f"account {self.account_id!r} does not exist in the ledger {self.url}")
        return _account(row)

    def read_account(self, conn: Connection) -> AccountRow:
        """Read the account row without locking it."""
        row = conn.execute(_READ_ACCOUNT, {"a": self.account_id}).first()
        if row is None:
            raise LedgerNotFound(f"account {self.account_id!r} does not exist in the ledger {self.url}")
        return _account(row)

    def account(self) -> AccountRow:
        """The account row (no lock)."""
        with self.reading() as conn:
            return self.read_account(conn)

    def bump(self, conn: Connection, version: int) -> None:
        """Store the account's new book version."""
        conn.execute(_BUMP, {"a": self.account_id, "v": version})

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
            conn.execute(update(t.accounts).where(t.accounts.c.account_id == self.account_id).values(
                nav=snapshot.nav, nav_ts_ms=snapshot.ts_ms, available_balance=snapshot.available_balance,
                day_high_nav=high))
            conn.execute(insert(t.equity_marks).values(
                account_id=self.account_id, ts_ms=snapshot.ts_ms, nav=snapshot.nav,
                available_balance=snapshot.available_balance, realized_pnl=current.realized_pnl,
                source=source, actor=actor))
            return True

    # -- the book --------------------------------------------------------------------------
    def load_state(self, conn: Connection, limits: Limits, now_ms: int, account: AccountRow) -> BookState:
        """Positions, active reservations and approval counters as of now (inside a transaction)."""
        account_id = self.account_id
        positions = [_position(r) for r in conn.execute(
            select(t.positions).where(t.positions.c.account_id == account_id)
            .order_by(t.positions.c.strategy, t.positions.c.symbol))]
        held = {(p.strategy, p.symbol) for p in positions}
        reservations = [_book_reservation(r, held) for r in conn.execute(
            select(t.reservations).where(t.reservations.c.account_id == account_id,
                                         t.reservations.c.status == ACTIVE)
            .order_by(t.reservations.c.created_version, t.reservations.c.reservation_id))]
        state = BookState(version=account.version, positions=positions, reservations=reservations)
        if account.counters is not None:
            state.load_counters(json.loads(account.counters), limits, now_ms)
        return state

    def expire(self, *, now_ms: int | None = None) -> int:
        """Return the budget of every reservation whose TTL has passed; returns how many expired."""
        now = wall_clock_ms() if now_ms is None else now_ms
        with self.transaction() as conn:
            account = self.lock_account(conn)
            return self.expire_in(conn, account.version, now)

    def expire_in(self, conn: Connection, version: int, now_ms: int) -> int:
        """Expire every stale reservation inside an open transaction that holds the account lock;
        bumps the version when any expired. Returns how many expired."""
        result = conn.execute(_EXPIRE, {"a": self.account_id, "now": now_ms, "v": version + 1})
        if result.rowcount:
            self.bump(conn, version + 1)
        return int(result.rowcount)

    def store_posture(self, config_hash: str, name: str, canonical: str) -> None:
        """Keep the canonical posture JSON behind a config hash (once)."""
        # Several gates may start at once on a new ledger: insert-or-ignore, never read-then-insert.
        with self.transaction() as conn:
            dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(dialect_insert(t.postures)
                         .values(config_hash=config_hash, name=name, canonical_json=canonical)
                         .on_conflict_do_nothing(index_elements=[t.postures.c.config_hash]))

    def posture_json(self, config_hash: str) -> str:
        """The canonical posture JSON stored under ``config_hash``."""
        with self.reading() as conn:
            value = conn.execute(select(t.postures.c.canonical_json).where(
                t.postures.c.config_hash == config_hash)).scalar()
        if value is None:
            raise LedgerNotFound(f"posture {config_hash} is not stored in the ledger")
        return str(value)

    def store_return_set(self, returns_json: str) -> str:
        """Keep a return set (the JSON of ``PortfolioCvar.returns_by_symbol``) under the SHA-256 of
        its text, once; returns the hash that decisions refer to."""
        returns_hash = hashlib.sha256(returns_json.encode("ascii")).hexdigest()
        with self.transaction() as conn:
            dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(dialect_insert(t.return_sets)
                         .values(returns_hash=returns_hash, returns_json=returns_json)
                         .on_conflict_do_nothing(index_elements=[t.return_sets.c.returns_hash]))
        return returns_hash

    def return_set(self, returns_hash: str) -> dict[str, list[float]]:
        """The return set stored under ``returns_hash`` (symbol -> simple returns, oldest first)."""
        with self.reading() as conn:
            value = conn.execute(select(t.return_sets.c.returns_json).where(
                t.return_sets.c.returns_hash == returns_hash)).scalar()
        if value is None:
            raise LedgerNotFound(f"return set {returns_hash} is not stored in the ledger")
        data: dict[str, list[float]] = json.loads(value)
        return data

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
            row = conn.execute(select(t.reservations).where(
                t.reservations.c.reservation_id == reservation_id,
                t.reservations.c.account_id == self.account_id)).first()
            if row is None:
                raise LedgerNotFound(f"reservation {reservation_id!r} does not exist")
            if row.status in (FILLED, RELEASED):
                raise LedgerError(f"reservation {reservation_id} is {row.status}; it cannot be filled")
            remaining = row.qty - row.filled_qty
            if qty > remaining * (1.0 + _FULL):
                raise InputValidationError("qty", f"exceeds the unfilled {remaining} of reservation "
                                                  f"{reservation_id}", qty)
            version = account.version + 1
            side = Side(row.side)
            signed_after, realized = self._trade(conn, row.strategy, row.symbol, side, qty, price, now, version,
                                                 row.leverage, row.stop_price, row.take_profit_price)
            realized -= fee
            filled = row.filled_qty + qty
            status = row.status
            values: dict[str, Any] = {"filled_qty": filled}
            if filled >= row.qty * (1.0 - _FULL):
                if status == ACTIVE:
                    values.update(ended_ms=now, ended_version=version)
                status = FILLED
            values["status"] = status
            conn.execute(update(t.reservations).where(t.reservations.c.reservation_id == reservation_id)
                         .values(**values))
            self._record_fill(conn, account, reservation_id, row.strategy, row.symbol, side, qty, price, fee,
                              realized, signed_after, now, version, "fill")
            return FillResult(reservation_id, signed_after, status, realized)

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
            if amount > row.qty * (1.0 + _FULL):
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
        row = conn.execute(select(t.positions).where(
            t.positions.c.account_id == self.account_id, t.positions.c.strategy == strategy,
            t.positions.c.symbol == symbol)).first()
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
               target: float | None) -> tuple[float, float]:
        """Apply a trade to the position row; returns (signed qty after, realised PnL before fees)."""
        key = (t.positions.c.account_id == self.account_id, t.positions.c.strategy == strategy,
               t.positions.c.symbol == symbol)
        row = conn.execute(select(t.positions).where(*key)).first()
        direction = 1.0 if side is Side.BUY else -1.0
        if row is None:
            conn.execute(insert(t.positions).values(
                account_id=self.account_id, strategy=strategy, symbol=symbol,
                side=(PositionSide.LONG if side is Side.BUY else PositionSide.SHORT).value, qty=qty,
                entry_price=price, leverage=leverage, stop_price=stop, take_profit_price=target,
                opened_ts_ms=now, opened_version=version))
            return direction * qty, 0.0
        held = row.qty if row.side == PositionSide.LONG.value else -row.qty
        if held * direction > 0:
            total = row.qty + qty
            entry = (row.qty * row.entry_price + qty * price) / total
            conn.execute(update(t.positions).where(*key).values(qty=total, entry_price=entry))
            return direction * total, 0.0
        closed = min(qty, row.qty)
        realized = (price - row.entry_price) * closed * (1.0 if held > 0 else -1.0)
        left = row.qty - closed
        flip = qty - closed
        if left > row.qty * _FULL:
            conn.execute(update(t.positions).where(*key).values(qty=left))
            return (left if held > 0 else -left), realized
        if flip > qty * _FULL:
            conn.execute(update(t.positions).where(*key).values(
                side=(PositionSide.LONG if side is Side.BUY else PositionSide.SHORT).value, qty=flip,
                entry_price=price, leverage=leverage, stop_price=stop, take_profit_price=target,
                opened_ts_ms=now, opened_version=version))
            return direction * flip, realized
        conn.execute(t.positions.delete().where(*key))
        return 0.0, realized

    def _record_fill(self, conn: Connection, account: AccountRow, reservation_id: str | None, strategy: str,
                     symbol: str, side: Side, qty: float, price: float, fee: float, realized: float,
                     signed_after: float, now: int, version: int, kind: str) -> None:
        conn.execute(insert(t.fills).values(
            account_id=self.account_id, reservation_id=reservation_id, strategy=strategy, symbol=symbol,
            side=side.value, kind=kind, qty=qty, price=price, fee=fee, realized_pnl=realized,
            position_qty_after=signed_after, ts_ms=now, version=version))
        total = account.realized_pnl + realized
        conn.execute(update(t.accounts).where(t.accounts.c.account_id == self.account_id).values(
            version=version, realized_pnl=total))
        if realized != 0.0 or fee != 0.0:
            conn.execute(insert(t.equity_marks).values(
                account_id=self.account_id, ts_ms=now, nav=account.nav, available_balance=account.available_balance,
                realized_pnl=total, source=kind, actor="ledger"))

    # -- reading ---------------------------------------------------------------------------
    def positions(self) -> list[Position]:
        """Open positions, ordered by strategy and symbol."""
        with self.reading() as conn:
            return [_position(r) for r in conn.execute(
                select(t.positions).where(t.positions.c.account_id == self.account_id)
                .order_by(t.positions.c.strategy, t.positions.c.symbol))]

    def reservations(self, status: str | None = ACTIVE) -> list[Row[Any]]:
        """Reservation rows (active ones by default; ``status=None`` for all)."""
        query = select(t.reservations).where(t.reservations.c.account_id == self.account_id)
        if status is not None:
            query = query.where(t.reservations.c.status == status)
        with self.reading() as conn:
            return list(conn.execute(query.order_by(t.reservations.c.created_version)))

    def events(self, kind: str | None = None) -> list[Row[Any]]:
        """Events in time order (optionally of one kind)."""
        query = select(t.events).where(t.events.c.account_id == self.account_id)
        if kind is not None:
            query = query.where(t.events.c.kind == kind)
        with self.reading() as conn:
            return list(conn.execute(query.order_by(t.events.c.event_id)))

    def equity_marks(self) -> list[Row[Any]]:
        """Equity marks in time order."""
        with self.reading() as conn:
            return list(conn.execute(select(t.equity_marks).where(t.equity_marks.c.account_id == self.account_id)
                                     .order_by(t.equity_marks.c.mark_id)))

    def decision(self, decision_id: str) -> DecisionRecord:
        """One stored decision (any account of this database)."""
        with self.reading() as conn:
            row = conn.execute(select(t.decisions).where(t.decisions.c.decision_id == decision_id)).first()
            if row is None:
                raise LedgerNotFound(f"decision {decision_id!r} does not exist")
            return _with_full_books(conn, [decision_record(row)])[0]

    def decisions(self, *, limit: int = 50, approved: bool | None = None, symbol: str | None = None,
                  strategy: str | None = None, all_accounts: bool = False) -> list[DecisionRecord]:
        """The newest decisions first."""
        d = t.decisions.c
        query = select(t.decisions)
        if not all_accounts:
            query = query.where(d.account_id == self.account_id)
        if approved is not None:
            query = query.where(d.approved.is_(approved))
        if symbol is not None:
            query = query.where(d.symbol == symbol.upper())
        if strategy is not None:
            query = query.where(d.strategy == strategy)
        with self.reading() as conn:
            rows = conn.execute(query.order_by(d.ts_ms.desc(), d.decision_id.desc()).limit(limit))
            return _with_full_books(conn, [decision_record(r) for r in rows])


def _with_full_books(conn: Connection, records: list[DecisionRecord]) -> list[DecisionRecord]:
    """``records`` with every book stored by reference (``ledger.bookchain``) resolved to the full book."""
    stored: dict[str, dict[str, Any]] = {}

    def stored_book_of(decision_id: str) -> dict[str, Any]:
        book = stored.get(decision_id)
        if book is None:
            text = conn.execute(select(t.decisions.c.inputs).where(t.decisions.c.decision_id == decision_id)).scalar()
            if text is None:
                raise LedgerError(f"a stored book refers to decision {decision_id!r}, which does not exist")
            book = stored[decision_id] = json.loads(text)["book"]
        return book

    resolved = []
    for record in records:
        book = record.inputs.get("book")
        if isinstance(book, dict) and "base" in book:
            record = dataclasses.replace(record, inputs={**record.inputs, "book": resolve_book(book, stored_book_of)})
        resolved.append(record)
    return resolved


def decision_record(row: Row[Any]) -> DecisionRecord:
    """Parse a decisions row; its inputs as stored (a book may be a reference, see ``Ledger.decision``)."""
    return DecisionRecord(row.decision_id, row.account_id, row.intent_id, row.strategy, row.symbol,
                          bool(row.approved), bool(row.adds_risk), row.reservation_id, int(row.ts_ms),
                          row.config_hash, int(row.version), json.loads(row.inputs), json.loads(row.detail))
