"""RiskGate: one process's binding of a RiskEngine to the shared ledger.

``veto, detail, reservation_id = gate.reserve(intent)`` runs every gate against the ledger's book
inside one transaction that holds the account lock, stores the decision with its inputs, and for
an approved risk-adding intent records a reservation that counts against every cap (in every
process) until it is filled, released or expires. It reads top to bottom as lock (the account
row) -> load (the ledger's book into the engine, ``RiskEngine.load_state``) -> decide
(``RiskEngine.decide``, a typed ``Verdict``) -> record (decision, reservation, expiry, version in
one write).

The process keeps the book it last read together with the account's ``version``; under the lock
it reloads positions, reservations and counters only when another writer bumped the version. The
engine's book is rebuilt from that state before every check, or kept from the last reserve when it
is bit-identical to that rebuild (see ``RiskGate._reusable_book``), so a decision depends only on
its stored inputs and replays bit-for-bit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from riskguard.book.book import Book
from riskguard.book.reservation import Reservation
from riskguard.config.hashing import canonical_json
from riskguard.engine.engine import RiskEngine
from riskguard.engine.verdict import Verdict
from riskguard.ledger.errors import LedgerError, LedgerUnavailable
from riskguard.ledger.hotpath import DECISION_COLUMNS, RESERVATION_COLUMNS, ReserveCursor
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.rows import ACTIVE, AccountRow, CloseResult, FillResult
from riskguard.ledger.state import BookState
from riskguard.ledger.stop_moves import StopMove
from riskguard.model.codec import encode as dumps
from riskguard.model.decision import Detail
from riskguard.model.enums import TradingState
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.runtime.inputs import DecisionInputs, InputsMemo, encode_inputs
from riskguard.runtime.return_chain import ReturnChain
from riskguard.runtime.stored_book import BookChain
from riskguard.runtime.unavailable import unavailable_detail

log = logging.getLogger("riskguard.runtime")

def risk_fraction(engine: RiskEngine, intent: OrderIntent, price: float | None) -> float:
    """Loss at the stop per USDT of notional (the posture's default stop distance without a stop)."""
    if intent.stop_price is None or not price:
        return engine.limits.default_stop_distance_pct
    return abs(price - intent.stop_price) / price


class RiskGate:
    """Engine + ledger for one process. Market snapshots are per process (``update_market``);
    NAV marks and the trading state live in the ledger (``mark_nav``, ``set_trading_state``).

    Threads of a process may share one gate: its calls are serialised by a lock (the engine, its
    book and the cached ledger state are one unit), so two threads' reserves are decided one
    after the other, exactly as two processes' are.
    """

    def __init__(self, engine: RiskEngine, ledger: Ledger, *, actor: str = "riskguard") -> None:
        self.engine = engine
        self.ledger = ledger
        self.actor = actor
        self._lock = threading.RLock()
        self.state = BookState()
        limits = engine.limits
        ledger.ensure_account(limits.posture.mode.value, actor=actor)
        ledger.store_posture(limits.config_hash, limits.name, canonical_json(limits.posture))
        self._memo = InputsMemo()  # each market snapshot and instrument's JSON form, converted once
        # The engine book the last successful reserve left behind, the marks it was built with and
        # the fingerprint of its aggregates then (see _reusable_book).
        self._book: Book | None = None
        self._book_marks: dict[str, float] = {}
        self._book_print: tuple[Any, ...] = ()
        self._prefetch = ledger.postgres  # read the book with the lock query (see ReserveCursor.lock_for_intent)
        self._ttl_ms = round(limits.posture.ledger.reservation_ttl_s * 1000.0)
        # The engine's CVaR return data as last stored in the ledger: its data version and the JSON
        # reference (the return set's hash, or null without data) every decision's inputs carry.
        self._returns_version = -1
        self._returns_hash: str | None = None
        self._return_chain = ReturnChain()  # each return set stored as a change to the last one
        self.book_chain = BookChain()  # each decision's book stored by reference to the last one's

    # -- feeding ---------------------------------------------------------------------------
    def update_market(self, snapshot: MarketSnapshot) -> bool:
        """Take a mark / top-of-book snapshot for this process's decisions."""
        with self._lock:
            return self.engine.update_market(snapshot)

    def mark_nav(self, snapshot: AccountSnapshot, *, source: str = "exchange") -> bool:
        """Store a NAV mark in the ledger (seen by every process); a mark dated beyond the posture's
        ``account.max_clock_skew_s`` after the engine's clock is refused (InputValidationError)."""
        with self._lock:
            return self.ledger.mark_nav(snapshot, actor=self.actor, source=source, now_ms=self.engine.clock(),
                                        max_clock_skew_ms=self.engine.limits.max_clock_skew_ms)

    def set_trading_state(self, state: TradingState | str, reason: str) -> AccountRow:
        """Change the account's trading state in the ledger (an event with this gate's actor)."""
        with self._lock:
            account = self.ledger.set_trading_state(state, reason, actor=self.actor, now_ms=self.engine.clock())
            self.engine.set_trading_state(account.trading_state, account.state_reason)
            return account

    # -- deciding --------------------------------------------------------------------------
    def reserve(self, intent: OrderIntent | Signal) -> tuple[bool, Detail, str | None]:
        """Decide on ``intent`` against the shared ledger. Returns ``(veto, detail, reservation_id)``;
        the reservation id is None for vetoes and for approved reducing intents. A :class:`Signal`
        is sized by the engine (policy, sizing, resize to fit) and decided in the same step, once:
        the reservation holds its executable size (``detail["sized"]``); its ``signal_id`` is the
        intent id.

        The same ``intent_id`` again returns the first stored decision and reserves nothing more.
        When the database is unreachable the intent is vetoed (reason ``ledger_unavailable``):
        riskguard never approves what it could not record.
        """
        with self._lock:
            return self._reserve_or_veto([intent])[0]

    def reserve_many(self, intents: Sequence[OrderIntent | Signal]) -> list[tuple[bool, Detail, str | None]]:
        """Decide on several intents in one transaction, in order: each against the ledger's book
        plus the reservations of the ones before it, exactly as the same calls of :meth:`reserve`
        one after the other with no other writer in between would, and each stored as its own
        decision. For a bot whose signals fire together: one lock, one reload and one commit for
        all of them. Returns one ``(veto, detail, reservation_id)`` per intent, in order; an
        ``intent_id`` already decided (before, or earlier in the list) returns that decision.
        """
        if not intents:
            return []
        with self._lock:
            return self._reserve_or_veto(list(intents))

    def _reserve_or_veto(self, intents: list[OrderIntent | Signal]) -> list[tuple[bool, Detail, str | None]]:
        try:
            return self._reserve(intents)
        except LedgerUnavailable as exc:
            self.state, self._book = BookState(), None
            self.book_chain.reset()
            log.error("reserve %s vetoed: %s", ", ".join(map(_intent_id, intents)), exc)
            return [(True, unavailable_detail(self.engine, intent, str(exc)), None) for intent in intents]
        except BaseException:
            self.state, self._book = BookState(), None
            self.book_chain.reset()
            raise

    def _reserve(self, intents: list[OrderIntent | Signal]) -> list[tuple[bool, Detail, str | None]]:
        """lock -> load -> decide -> record, in one transaction holding the account lock."""
        engine = self.engine
        now = engine.clock()
        marks = {symbol: m.mark_price for symbol, m in engine.markets.items()}
        # Everything that does not depend on the ledger is gathered before the lock is taken.
        markets = tuple(engine.markets[symbol] for symbol in sorted(engine.markets))
        returns = self._returns_reference()
        with self.ledger.kept_transaction() as cursor:
            hot = ReserveCursor(cursor, self.ledger.account_id, self.ledger.postgres)
            # lock: the account row, and the decisions already stored for these intent ids
            account, outcomes = self._lock_account(hot, intents)
            fresh = [intent for intent in intents if _intent_id(intent) not in outcomes]
            if not fresh:
                return [outcomes[_intent_id(i)] for i in intents]
            # load: the ledger's book as of now into the engine
            expire = self._load(hot, account, now, marks)
            snapshot = account.snapshot()
            book, state = self.engine.book, self.state
            version = state.version if expire is None else expire[1]
            first = True
            for intent in fresh:
                if _intent_id(intent) in outcomes:  # the same intent_id earlier in this list
                    continue
                if not first:
                    # The book holds what a rebuild from the state would: a rebuild adds the
                    # state's reservations in order, and the previous decision appended its own
                    # last; the counters are reset from the state as a rebuild sets them.
                    state.apply_counters(book)
                first = False
                inputs = DecisionInputs(intent, markets, engine.instruments.get(intent.symbol), returns, self._ttl_ms,
                                        snapshot, account.trading_state, account.state_reason,
                                        self.book_chain.book(state), state.size_multiplier)
                # decide
                verdict = engine.decide(intent, now_ms=now, commit=True)
                # record: the decision, its reservation, the expiry and the account's new version
                version, reservation_id = self._record(hot, verdict, inputs, now, version, expire)
                expire = None  # the expiry rides with the first write
                outcomes[_intent_id(intent)] = (verdict.veto, verdict.detail, reservation_id)
        # Committed: the book now equals a fresh build of the state (see _reusable_book).
        self._book, self._book_marks, self._book_print = book, marks, _fingerprint(book)
        return [outcomes[_intent_id(i)] for i in intents]

    def _lock_account(self, hot: ReserveCursor, intents: list[OrderIntent | Signal],
                      ) -> tuple[AccountRow, dict[str, tuple[bool, Detail, str | None]]]:
        """Lock the account row; the stored outcome of every intent id already decided."""
        first = _intent_id(intents[0])
        account, duplicate = hot.lock_for_intent(first, prefetch=self._prefetch)
        decided = {first} if duplicate else set()
        if len(intents) > 1:
            decided |= hot.decided(list({_intent_id(i) for i in intents[1:]}))
        outcomes: dict[str, tuple[bool, Detail, str | None]] = {}
        for intent_id in decided:
            record = hot.first_decision(intent_id)
            outcomes[intent_id] = (not record.approved, record.detail, record.reservation_id)
        return account, outcomes

    def _load(self, hot: ReserveCursor, account: AccountRow, now: int, marks: dict[str, float]
              ) -> tuple[int, int, int] | None:
        """Bring the cached state up to the ledger (reloading when another process wrote), drop the
        stale reservations, and hand the engine the book and account to decide against. Returns
        the expiry to write (``(now, version, how many)``), or None."""
        engine = self.engine
        version = account.version
        # Another process wrote since this one's last reserve: it probably will again.
        self._prefetch = self.ledger.postgres and version != self.state.version
        if version != self.state.version:
            self.state, self._book = hot.load_state(engine.limits, now, account), None
        state = self.state
        # The cached book equals the ledger here, so it knows what is stale.
        stale = sum(1 for r in state.reservations if r.expires_ms <= now)
        expire: tuple[int, int, int] | None = None
        if stale:
            expire = (now, version + 1, stale)
            state.reservations = [r for r in state.reservations if r.expires_ms > now]
        if expire is None and self._reusable_book(marks):
            book = engine.book
            state.apply_counters(book)
        else:
            book = state.build_book(engine.limits, marks)
        engine.load_state(book=book, account=account.snapshot(), trading_state=account.trading_state,
                          reason=account.state_reason, size_multiplier=state.size_multiplier)
        return expire

    def _record(self, hot: ReserveCursor, verdict: Verdict, inputs: DecisionInputs, now: int,
                version: int, expire: tuple[int, int, int] | None) -> tuple[int, str | None]:
        """Store one decision (and for an approval adding risk its reservation, also added to the
        engine's book and the state); returns the account's version after it and the reservation id."""
        engine, state, intent = self.engine, self.state, verdict.order
        adds_risk = not verdict.veto and not verdict.reducing
        reservation_id: str | None = None
        reservation_row: tuple[Any, ...] | None = None
        counters: str | None = None
        if not verdict.veto:
            version += 1
            if adds_risk:
                reservation = self._reservation(intent, verdict, now)
                reservation_id = reservation.reservation_id
                reservation_row = self._reservation_row(intent, verdict, reservation, now, version)
                engine.book.add_reservation(reservation)
                state.reservations.append(reservation)
            state.absorb_counters(engine.book, engine.limits, now)
            counters = dumps(state.counters_dict())
        decision = {
            "decision_id": verdict.decision_id, "account_id": self.ledger.account_id,
            "intent_id": intent.intent_id, "strategy": intent.strategy, "symbol": intent.symbol,
            "approved": not verdict.veto, "adds_risk": adds_risk, "reservation_id": reservation_id, "ts_ms": now,
            "config_hash": engine.limits.config_hash, "version": version,
            "inputs": encode_inputs(inputs, self._memo),
            "detail": dumps(verdict.detail)}
        hot.write(tuple(decision[c] for c in DECISION_COLUMNS), reservation_row, expire, version, counters, now)
        # Later books of this transaction may refer to it: they commit, or fail, together.
        self.book_chain.stored(verdict.decision_id)
        state.version = version
        return version, reservation_id

    def _reusable_book(self, marks: dict[str, float]) -> bool:
        """True when the engine's book is bit-identical, aggregates included, to what
        ``state.build_book(limits, marks)`` would build now, so the rebuild can be skipped.

        The last successful reserve built that book from the state (or reused one) and, at most,
        appended the reservation it stored, which ``build_book`` of the new state adds last, in the
        same order, so every float aggregate comes out of the same additions. Since then this state
        must not have been reloaded (another writer) or lost a reservation to expiry (removing one
        subtracts floats, which a fresh build never does), the engine must still hold that book,
        with the same marks, and nothing else (a mark moved and back, a position added by hand) may
        have touched its aggregates: their fingerprint compares exactly (no aggregate can become
        -0.0, which alone would compare equal to 0.0, from sums starting at 0.0). Counters and
        remembered intents are reset from the state by ``apply_counters``.
        """
        book = self._book
        return (book is not None and book is self.engine.book and marks == self._book_marks
                and _fingerprint(book) == self._book_print)

    def _reservation(self, intent: OrderIntent, verdict: Verdict, now: int) -> Reservation:
        notional = verdict.notional
        if notional is None or verdict.qty is None:
            raise LedgerError(f"approved intent {intent.intent_id} has no sized notional; refusing to reserve")
        fraction = risk_fraction(self.engine, intent, verdict.price)
        return Reservation(reservation_id=_reservation_id(verdict), intent_id=intent.intent_id,
                           strategy=intent.strategy, symbol=intent.symbol, side=intent.side,  # type: ignore[arg-type]
                           notional=float(notional), risk_usdt=float(notional) * fraction,
                           opens_new=verdict.opens_new, expires_ms=now + self._ttl_ms, leverage=intent.leverage)

    def _reservation_row(self, intent: OrderIntent, verdict: Verdict, reservation: Reservation, now: int,
                         version: int) -> tuple[Any, ...]:
        row = {
            "reservation_id": reservation.reservation_id, "account_id": self.ledger.account_id,
            "intent_id": intent.intent_id, "decision_id": verdict.decision_id, "strategy": intent.strategy,
            "symbol": intent.symbol, "side": reservation.side.value, "qty": float(verdict.qty or 0.0),
            "price": float(verdict.price or 0.0), "notional": reservation.notional,
            "risk_usdt": reservation.risk_usdt, "opens_new": reservation.opens_new, "leverage": intent.leverage,
            "stop_price": intent.stop_price, "take_profit_price": intent.take_profit_price, "filled_qty": 0.0,
            "status": ACTIVE, "created_ms": now, "expires_ms": reservation.expires_ms, "created_version": version,
            "ended_ms": None, "ended_version": None}
        return tuple(row[c] for c in RESERVATION_COLUMNS)

    def _returns_reference(self) -> str | None:
        """The reference (SHA-256) to the engine's CVaR return data, None without any: the data is
        stored in the ledger once per change, content-addressed, so a replay feeds the same."""
        cvar = self.engine.cvar
        version = cvar.data_version
        if version != self._returns_version:
            self._returns_hash = self._return_chain.reference(self.ledger, cvar.return_arrays())
            self._returns_version = version
        return self._returns_hash

    # -- after the decision ----------------------------------------------------------------
    def fill(self, reservation_id: str, qty: float, price: float, fee: float = 0.0) -> FillResult:
        """Record a (partial) fill of a reservation (qty base units, price and fee USDT)."""
        with self._lock:
            return self.ledger.fill(reservation_id, qty, price, fee, now_ms=self.engine.clock())

    def placed(self, reservation_id: str) -> bool:
        """The reservation's order was sent: it keeps its budget until filled or released (no TTL).
        Call it before sending the order; False means too late (expired or ended): do not send."""
        with self._lock:
            return self.ledger.placed(reservation_id, now_ms=self.engine.clock())

    def release(self, reservation_id: str) -> bool:
        """Return a reservation's unfilled budget."""
        with self._lock:
            return self.ledger.release(reservation_id, now_ms=self.engine.clock())

    def close(self, strategy: str, symbol: str, price: float, *, qty: float | None = None,
              fee: float = 0.0, funding: float = 0.0) -> CloseResult:
        """Close (or reduce) a position at ``price`` USDT, booking realised PnL (and, first, any
        ``funding`` USDT received (> 0) or paid (< 0) on it, in the same transaction)."""
        with self._lock:
            return self.ledger.close(strategy, symbol, price, qty=qty, fee=fee, funding=funding,
                                     now_ms=self.engine.clock())

    def book_funding(self, strategy: str, symbol: str, amount: float) -> float:
        """Book a funding payment on an open position (USDT; > 0 received, < 0 paid) as realised
        PnL; returns the account's realised PnL after it."""
        with self._lock:
            return self.ledger.book_funding(strategy, symbol, amount, now_ms=self.engine.clock())

    def move_stop(self, strategy: str, symbol: str, stop_price: float, *, reason: str,
                  actor: str | None = None) -> StopMove:
        """Tighten the stop of an open position to ``stop_price`` (USDT) in the ledger, once the
        replacement stop is on the exchange: the book's total risk at stop drops for every process
        (the version is bumped, so each reloads before its next decision) and a ``stop_moved`` event
        records ``reason`` and ``actor`` (default: this gate's). A loosening move (StopLoosened), no
        open position (LedgerNotFound) and a bad price (InputValidationError) are refused by name;
        the same stop again changes nothing (``moved`` False)."""
        with self._lock:
            return self.ledger.move_stop(strategy, symbol, stop_price, reason=reason, actor=actor or self.actor,
                                         ts_ms=self.engine.clock())

    def refresh(self) -> BookState:
        """Reload the engine's book from the ledger now (e.g. before a dry-run ``would_emit``)."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> BookState:
        engine = self.engine
        now = engine.clock()
        with self.ledger.reading() as conn:
            account = self.ledger.read_account(conn)
            self.state = self.ledger.load_state(conn, engine.limits, now, account)
        self.book_chain.reset()
        marks = {symbol: m.mark_price for symbol, m in engine.markets.items()}
        engine.load_state(book=self.state.build_book(engine.limits, marks), account=account.snapshot(),
                          trading_state=account.trading_state, reason=account.state_reason,
                          size_multiplier=self.state.size_multiplier)
        return self.state


def _intent_id(intent: OrderIntent | Signal) -> str:
    """The id a decision is stored (and made idempotent) under: a signal's id for a signal."""
    return intent.intent_id if isinstance(intent, OrderIntent) else intent.signal_id


def _reservation_id(verdict: Verdict) -> str:
    return f"res-{verdict.decision_id}"


def _fingerprint(book: Book) -> tuple[Any, ...]:
    """Every aggregate of ``book`` that adding or removing a position, reservation or mark changes."""
    return (book.version, book.long_notional, book.short_notional, book.total_risk_usdt, book.open_count,
            tuple(book.group_notional.items()), tuple(book.strategy_open.items()),
            tuple(book.strategy_positions.items()),
            tuple((s, e.long_qty, e.short_qty, e.price, e.reserved_long, e.reserved_short)
                  for s, e in book.symbols.items()))
