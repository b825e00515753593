"""The service's one binding of engine and ledger (the only module of the service that imports the
runtime's ``RiskGate``): dry-run checks, reserves of intents and signals, the after-decision calls,
NAV and market marks, the trading state and every read the API and the dashboard make.

Every call holds one lock: the gate is serialised by its own lock anyway, and the dry-run engine,
the markets both engines see and the cached book of the dry run are one unit with it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from riskguard.book.book import Book
from riskguard.config.limits import Limits
from riskguard.engine.engine import RiskEngine
from riskguard.ledger.database import READ_ONLY
from riskguard.ledger.errors import LedgerUnavailable
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.rows import AccountRow, CloseResult, DecisionRecord, FillResult
from riskguard.ledger.state import BookState
from riskguard.ledger.stop_moves import StopMove
from riskguard.model.decision import Detail
from riskguard.model.enums import TradingState
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.runtime.gate import RiskGate
from riskguard.runtime.replay import ReplayResult, replay_record
from riskguard.service.budget import budget_snapshot
from riskguard.service.settings import ServiceSettings

NAV_HISTORY_SHOWN = 500  # newest NAV marks the dashboard charts


class ServiceCore:
    """Engine + ledger of one service process. Thread-safe (one lock)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.db_url, account_id=settings.account_id, pack_after_s=settings.pack_after_s)
        try:
            if settings.migrate:
                self.ledger.upgrade()
            self.gate = RiskGate(RiskEngine(settings.posture), self.ledger, actor=settings.actor)
        except BaseException:
            self.ledger.dispose()
            raise
        self.limits: Limits = self.gate.engine.limits
        # Dry runs decide on their own engine, so they never disturb the book the gate keeps between
        # reserves; its book is rebuilt only when the ledger's version, the marks or an expiry moved.
        self._dry = RiskEngine(self.limits)
        self._dry_key: tuple[int, tuple[tuple[str, float], ...]] | None = None
        self._dry_state = BookState()
        self._dry_connection: Connection | None = None
        self._dry_account: AccountRow | None = None  # the account row the dry run's book was built with
        self._dry_data_version = -1
        self._lock = threading.Lock()

    def close_ledger(self) -> None:
        """Close the ledger's connections (at shutdown)."""
        with self._lock:
            self._drop_dry_connection()
        self.ledger.dispose()

    @contextmanager
    def _dry_reading(self) -> Iterator[Connection]:
        """A read transaction on the connection dry runs keep (a pool checkout per check costs more
        than the check itself); a failure drops the connection and surfaces as LedgerUnavailable."""
        try:
            if self._dry_connection is None:
                self._dry_connection = self.ledger.engine.connect().execution_options(**{READ_ONLY: True})
            connection = self._dry_connection
            yield connection
            connection.rollback()  # end the snapshot: the next check reads what was committed since
        except SQLAlchemyError as exc:
            self._drop_dry_connection()
            origin = getattr(exc, "orig", None) or exc
            first_line = (str(origin).strip().splitlines() or [type(origin).__name__])[0]
            raise LedgerUnavailable(f"ledger database {self.ledger.url} unavailable: {first_line}") from None

    def _drop_dry_connection(self) -> None:
        connection, self._dry_connection = self._dry_connection, None
        self._dry_account, self._dry_data_version = None, -1
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except SQLAlchemyError:  # it is broken already; dropping it is the point
                pass

    def now_ms(self) -> int:
        """The service clock (UTC epoch ms)."""
        return self.gate.engine.clock()

    # -- marks -----------------------------------------------------------------------------
    def update_markets(self, snapshots: Sequence[MarketSnapshot]) -> None:
        """Take market snapshots for this process's decisions (dry runs and reserves)."""
        if not snapshots:
            return
        with self._lock:
            self._feed(snapshots)

    def _feed(self, snapshots: Sequence[MarketSnapshot]) -> None:
        for snapshot in snapshots:
            self.gate.update_market(snapshot)
            self._dry.update_market(snapshot)

    def mark_nav(self, snapshot: AccountSnapshot, source: str) -> bool:
        """Store a NAV mark (seen by every process); False when older than the stored one."""
        with self._lock:
            return self.gate.mark_nav(snapshot, source=source)

    # -- deciding --------------------------------------------------------------------------
    def check(self, order: OrderIntent | Signal, markets: Sequence[MarketSnapshot] = ()) -> tuple[bool, Detail]:
        """A dry run against the ledger's current book: ``(veto, detail)``; nothing is stored."""
        with self._lock:
            self._feed(markets)
            return self._check(order)

    def check_now(self, order: OrderIntent | Signal) -> tuple[bool, Detail] | None:
        """The dry run decided at once from what this process holds, for a caller that must never
        wait (the event loop): ``(veto, detail)`` as :meth:`check` gives it, or None when it cannot be
        decided that way (then call :meth:`check`, off the loop). None unless the core's lock is free
        (it is tried, never waited for), the ledger is SQLite, nothing was committed to it since the
        last dry run read it, and that run's book is still current (same marks, no reservation of it
        expired). The one ledger access is ``PRAGMA data_version`` (SQLite reads its WAL index in
        shared memory), with SQLite's busy timeout set to 0 for it (~10 us in all), so a lock held
        elsewhere answers None at once instead of waiting."""
        if self.ledger.postgres or not self._lock.acquire(blocking=False):
            return None
        try:
            account, now = self._dry_account, self._dry.clock()
            if account is None or not self._nothing_committed_without_waiting():
                return None
            book = self._current_book(account, now)
            return None if book is None else self._decide(order, account, book, now)
        finally:
            self._lock.release()

    def _check(self, order: OrderIntent | Signal) -> tuple[bool, Detail]:
        ledger, now = self.ledger, self._dry.clock()
        with self._dry_reading() as conn:
            unchanged = self._dry_account is not None and self._unchanged_since_last_read(conn)
            account = self._dry_account if unchanged and self._dry_account is not None else ledger.read_account(conn)
            book = self._current_book(account, now)
            if book is None:
                self._dry_key = None
                self._dry_state = ledger.load_state(conn, self.limits, now, account)
                self._dry_state.reservations = [r for r in self._dry_state.reservations if r.expires_ms > now]
                book = self._dry_state.build_book(self.limits, self._marks())
                self._dry_key = self._book_key(account)
            self._dry_account = account
        return self._decide(order, account, book, now)

    def _marks(self) -> dict[str, float]:
        return {symbol: m.mark_price for symbol, m in self._dry.markets.items()}

    def _book_key(self, account: AccountRow) -> tuple[int, tuple[tuple[str, float], ...]]:
        return account.version, tuple(sorted(self._marks().items()))

    def _current_book(self, account: AccountRow, now: int) -> Book | None:
        """The dry run engine's book when it is the one ``account``'s ledger version and the current
        marks give and none of its reservations expired (its counters reset); None otherwise."""
        if self._book_key(account) != self._dry_key or any(r.expires_ms <= now for r in self._dry_state.reservations):
            return None
        book = self._dry.book
        self._dry_state.apply_counters(book)
        return book

    def _decide(self, order: OrderIntent | Signal, account: AccountRow, book: Book, now: int) -> tuple[bool, Detail]:
        engine = self._dry
        engine.load_state(book=book, account=account.snapshot(), trading_state=account.trading_state,
                          reason=account.state_reason, size_multiplier=self._dry_state.size_multiplier)
        return engine.check_order(order, now_ms=now, commit=False)

    def _nothing_committed_without_waiting(self) -> bool:
        """:meth:`_unchanged_since_last_read` on the kept connection with SQLite's busy timeout 0
        (False when SQLite answers busy); a change also drops the kept account row, so that the next
        :meth:`check` reads it."""
        connection = self._dry_connection
        driver = None if connection is None else connection.connection.driver_connection
        if driver is None:
            return False
        timeout_ms = int(driver.execute("PRAGMA busy_timeout").fetchone()[0])
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            version = int(driver.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return False
        finally:
            driver.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        if version != self._dry_data_version:
            self._dry_account, self._dry_data_version = None, version
            return False
        return True

    def _unchanged_since_last_read(self, conn: Connection) -> bool:
        """True when nothing was committed to the ledger since the dry run last read it: SQLite's
        ``PRAGMA data_version`` on the kept connection changes whenever another connection commits
        (about 5 us, against ~150 us for reading the account row through a read transaction). On
        PostgreSQL, False (the account row is read every time)."""
        if self.ledger.postgres:
            return False
        driver = conn.connection.driver_connection
        if driver is None:
            return False
        version = int(driver.execute("PRAGMA data_version").fetchone()[0])
        unchanged = version == self._dry_data_version
        self._dry_data_version = version
        return unchanged

    def reserve(self, order: OrderIntent | Signal,
                markets: Sequence[MarketSnapshot] = ()) -> tuple[bool, Detail, str | None]:
        """Decide and record: ``(veto, detail, reservation_id)``. The same ``intent_id`` (a signal's
        ``signal_id``) again returns the first stored decision. A signal is sized against the ledger's
        book first (clamped to the caps, as a dry run shows); the sized intent is what is decided and
        stored (``detail["sizing"]`` and ``detail["intent"]`` of the answer say how it was sized). A
        signal that cannot be sized (no NAV, no price) is vetoed without being stored."""
        with self._lock:
            self._feed(markets)
            if isinstance(order, OrderIntent):
                return self.gate.reserve(order)
            veto, sized = self._check(order)
            if sized["intent"] is None:
                return veto, sized, None
            intent = dict(sized["intent"])
            if not veto and sized["sized"]["notional"]:
                # The engine clamps a signal's risk-based size to what the caps allow: reserve that size.
                intent["notional"] = sized["sized"]["notional"]
            veto, detail, reservation_id = self.gate.reserve(OrderIntent.from_dict(intent))
            if detail.get("sizing") is None:
                detail = {**detail, "sizing": sized["sizing"], "intent": sized["intent"]}
            return veto, detail, reservation_id

    # -- after the decision ----------------------------------------------------------------
    def fill(self, reservation_id: str, qty: float, price: float, fee: float) -> FillResult:
        """Record a (partial) fill (qty base units, price and fee USDT)."""
        with self._lock:
            return self.gate.fill(reservation_id, qty, price, fee)

    def placed(self, reservation_id: str) -> bool:
        """The reservation's order is being sent: it keeps its budget until filled or released;
        False when too late (expired or ended: do not send)."""
        with self._lock:
            return self.gate.placed(reservation_id)

    def release(self, reservation_id: str) -> bool:
        """Return a reservation's unfilled budget; False when it was no longer active."""
        with self._lock:
            return self.gate.release(reservation_id)

    def close(self, strategy: str, symbol: str, price: float, qty: float | None, fee: float,
              funding: float) -> CloseResult:
        """Close (or reduce) a position at ``price`` USDT."""
        with self._lock:
            return self.gate.close(strategy, symbol, price, qty=qty, fee=fee, funding=funding)

    def move_stop(self, strategy: str, symbol: str, stop_price: float, reason: str, actor: str) -> StopMove:
        """Tighten an open position's stop to ``stop_price`` USDT (refused when it would loosen)."""
        with self._lock:
            return self.gate.move_stop(strategy, symbol, stop_price, reason=reason, actor=actor)

    def set_trading_state(self, state: TradingState, reason: str, actor: str) -> AccountRow:
        """Change the account's trading state, recorded with ``actor`` and ``reason``."""
        with self._lock:
            row = self.ledger.set_trading_state(state, reason, actor=actor, now_ms=self.now_ms())
            self.gate.engine.set_trading_state(row.trading_state, row.state_reason)
            return row

    # -- reading ---------------------------------------------------------------------------
    def account(self) -> AccountRow:
        """The account row (trading state, NAV, realised PnL)."""
        return self.ledger.account()

    def positions(self) -> list[dict[str, Any]]:
        """Open positions."""
        return [p.to_dict() for p in self.ledger.positions()]

    def reservations(self) -> list[dict[str, Any]]:
        """Active reservations."""
        return [dict(row._mapping) for row in self.ledger.reservations()]

    def decisions(self, limit: int, approved: bool | None, symbol: str | None,
                  strategy: str | None) -> list[DecisionRecord]:
        """The newest stored decisions."""
        return self.ledger.decisions(limit=limit, approved=approved, symbol=symbol, strategy=strategy)

    def decision(self, decision_id: str) -> DecisionRecord:
        """One stored decision (LedgerNotFound when absent)."""
        return self.ledger.decision(decision_id)

    def replay(self, record: DecisionRecord) -> ReplayResult:
        """Re-run a stored decision with its stored inputs and posture."""
        returns_hash = record.inputs.get("returns")
        returns = None if returns_hash is None else self.ledger.return_set(str(returns_hash))
        return replay_record(record, self.ledger.posture_json(record.config_hash), returns)

    def ready(self) -> None:
        """Raise when the ledger cannot be read or is not at the newest schema."""
        if not self.ledger.schema_is_current():
            raise RuntimeError("the ledger schema is not at the newest revision")
        self.ledger.account()

    def marks(self) -> dict[str, float]:
        """symbol -> mark price (USDT) of this process's latest market snapshots."""
        with self._lock:  # the markets dict changes under reserves in other threads
            return {symbol: m.mark_price for symbol, m in self.gate.engine.markets.items()}

    def budget(self) -> dict[str, Any]:
        """Every cap's use against its limit, positions, reservations, NAV and drawdown (see budget.py)."""
        now = self.now_ms()
        with self.ledger.reading() as conn:
            account = self.ledger.read_account(conn)
            state = self.ledger.load_state(conn, self.limits, now, account)
        state.reservations = [r for r in state.reservations if r.expires_ms > now]
        marks = self.marks()
        navs = [(int(row.ts_ms), float(row.nav)) for row in self.ledger.equity_marks()[-NAV_HISTORY_SHOWN:]
                if row.nav is not None]
        return budget_snapshot(state, self.limits, account, marks, navs, now)


def fill_dict(result: FillResult) -> dict[str, Any]:
    """JSON form of a fill's outcome."""
    return asdict(result)


def close_dict(result: CloseResult) -> dict[str, Any]:
    """JSON form of a close's outcome."""
    return asdict(result)
