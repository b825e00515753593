"""RiskGate: one process's binding of a RiskEngine to the shared ledger.

``veto, detail, reservation_id = gate.reserve(intent)`` runs every gate against the ledger's book
inside one transaction that holds the account lock, stores the decision with its inputs, and for
an approved risk-adding intent records a reservation that counts against every cap (in every
process) until it is filled, released or expires.

The process keeps the book it last read together with the account's ``version``; under the lock
it reloads positions, reservations and counters only when another writer bumped the version. The
engine's book is rebuilt from that state before every check, or kept from the last reserve when it
is bit-identical to that rebuild (see ``RiskGate._reusable_book``), so a decision depends only on
its stored inputs and replays bit-for-bit.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from typing import Any

from riskguard.book.book import DAY_MS, Book
from riskguard.book.reservation import Reservation
from riskguard.config.hashing import canonical_json
from riskguard.engine.engine import RiskEngine
from riskguard.ledger.bookchain import BookChain
from riskguard.ledger.errors import LedgerError, LedgerUnavailable
from riskguard.ledger.hotpath import DECISION_COLUMNS, RESERVATION_COLUMNS, ReserveCursor
from riskguard.ledger.ledger import (
    ACTIVE,
    AccountRow,
    CloseResult,
    FillResult,
    Ledger,
    dumps,
)
from riskguard.ledger.state import BookState
from riskguard.model.decision import Detail
from riskguard.model.enums import TradingState
from riskguard.model.instrument import InstrumentRules
from riskguard.model.intent import OrderIntent
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

log = logging.getLogger("riskguard.ledger")

LEDGER_UNAVAILABLE = "ledger_unavailable"


def apply_account(engine: RiskEngine, account: AccountSnapshot | None, state: TradingState, reason: str) -> None:
    """Set the engine's NAV and trading state from the ledger, discarding any private history."""
    if (account is None or account != engine.account or engine.day != account.ts_ms // DAY_MS
            or engine.day_high_nav != max(account.day_start_nav or account.nav, account.nav)):
        engine.account = None
        engine.day = -1
        engine.day_high_nav = 0.0
        if account is not None:
            engine.update_account(account)
    # else: the engine holds exactly what a reset and re-feed of this mark would give it (a repeated
    # mark is a no-op for the drawdown windows and the ladder), so the ~40 us re-feed is skipped.
    engine.set_trading_state(state, reason)


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
        self._instrument_cache: dict[str, tuple[InstrumentRules, str]] = {}
        self._market_cache: dict[str, tuple[MarketSnapshot, str]] = {}
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
        self._returns_json = "null"
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
    def reserve(self, intent: OrderIntent) -> tuple[bool, Detail, str | None]:
        """Decide on ``intent`` against the shared ledger. Returns ``(veto, detail, reservation_id)``;
        the reservation id is None for vetoes and for approved reducing intents.

        The same ``intent_id`` again returns the first stored decision and reserves nothing more.
        When the database is unreachable the intent is vetoed (reason ``ledger_unavailable``):
        riskguard never approves what it could not record.
        """
        with self._lock:
            return self._reserve_or_veto([intent])[0]

    def reserve_many(self, intents: Sequence[OrderIntent]) -> list[tuple[bool, Detail, str | None]]:
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

    def _reserve_or_veto(self, intents: list[OrderIntent]) -> list[tuple[bool, Detail, str | None]]:
        try:
            return self._reserve(intents)
        except LedgerUnavailable as exc:
            self.state, self._book = BookState(), None
            self.book_chain.reset()
            log.error("reserve %s vetoed: %s", ", ".join(i.intent_id for i in intents), exc)
            return [(True, self._unavailable_detail(intent, str(exc)), None) for intent in intents]
        except BaseException:
            self.state, self._book = BookState(), None
            self.book_chain.reset()
            raise

    def _reserve(self, intents: list[OrderIntent]) -> list[tuple[bool, Detail, str | None]]:
        engine, ledger = self.engine, self.ledger
        now = engine.clock()
        # Everything that does not depend on the ledger is encoded before the lock is taken.
        markets = engine.markets
        shared = f'"markets":[{self._markets_json(markets)}],'
        returns = f'"returns":{self._returns_reference()},"ttl_ms":{self._ttl_ms},'
        before_lock = [f'{{"intent":{dumps(intent.to_dict())},{shared}'
                       f'"instrument":{self._instrument_json(engine.instruments.get(intent.symbol))},{returns}'
                       for intent in intents]
        marks = {symbol: m.mark_price for symbol, m in markets.items()}
        outcomes: dict[str, tuple[bool, Detail, str | None]] = {}
        with ledger.kept_transaction() as cursor:
            hot = ReserveCursor(cursor, ledger.account_id, ledger.postgres)
            account, duplicate = hot.lock_for_intent(intents[0].intent_id, prefetch=self._prefetch)
            decided = {intents[0].intent_id} if duplicate else set()
            if len(intents) > 1:
                decided |= hot.decided(list({i.intent_id for i in intents[1:]}))
            for intent_id in decided:
                record = hot.first_decision(intent_id)
                outcomes[intent_id] = (not record.approved, record.detail, record.reservation_id)
            fresh = [(intent, text) for intent, text in zip(intents, before_lock, strict=True)
                     if intent.intent_id not in decided]
            if not fresh:
                return [outcomes[i.intent_id] for i in intents]
            version = account.version
            # Another process wrote since this one's last reserve: it probably will again.
            self._prefetch = ledger.postgres and version != self.state.version
            if version != self.state.version:
                reloaded = hot.load_state(engine.limits, now, account)
                reloaded.share_encodings(self.state)
                self.state, self._book = reloaded, None
            state = self.state
            # The cached book equals the ledger here, so it knows what is stale.
            stale = sum(1 for r in state.reservations if r.expires_ms <= now)
            expire: tuple[int, int, int] | None = None
            if stale:
                version += 1
                expire = (now, version, stale)
                state.reservations = [r for r in state.reservations if r.expires_ms > now]
            snapshot = account.snapshot()
            apply_account(engine, snapshot, account.trading_state, account.state_reason)
            ledger_inputs = (f'"account":{dumps(None if snapshot is None else snapshot.to_dict())},'
                             f'"trading_state":{dumps(account.trading_state.value)},'
                             f'"state_reason":{dumps(account.state_reason)},')
            rebuilt = not (expire is None and self._reusable_book(marks))
            book = engine.book = state.build_book(engine.limits, marks) if rebuilt else engine.book
            for intent, text in fresh:
                if intent.intent_id in outcomes:  # the same intent_id earlier in this list
                    continue
                # The book holds what a rebuild from the state would: a rebuild adds the state's
                # reservations in order, and the previous decision appended its own last; the
                # counters are reset from the state as a rebuild sets them.
                if not rebuilt:
                    state.apply_counters(book)
                rebuilt = False
                inputs = f'{text}{ledger_inputs}"book":{self.book_chain.encode(state)}}}'
                veto, detail = engine.check_order(intent, now_ms=now, commit=True)
                adds_risk = not veto and not detail["reducing"]
                reservation_id: str | None = None
                reservation_row: tuple[Any, ...] | None = None
                counters: str | None = None
                if not veto:
                    version += 1
                    if adds_risk:
                        reservation = self._reservation(intent, detail, now, version)
                        reservation_id = reservation.reservation_id
                        reservation_row = self._reservation_row(intent, detail, reservation, now, version)
                        book.add_reservation(reservation)
                        state.reservations.append(reservation)
                    state.absorb_counters(book, engine.limits, now)
                    counters = dumps(state.counters_dict())
                decision = {
                    "decision_id": detail["decision_id"], "account_id": ledger.account_id,
                    "intent_id": intent.intent_id, "strategy": intent.strategy, "symbol": intent.symbol,
                    "approved": not veto, "adds_risk": adds_risk, "reservation_id": reservation_id, "ts_ms": now,
                    "config_hash": engine.limits.config_hash, "version": version, "inputs": inputs,
                    "detail": dumps(detail)}
                hot.write(tuple(decision[c] for c in DECISION_COLUMNS), reservation_row, expire, version, counters)
                expire = None  # the expiry rides with the first write
                # Later books of this transaction may refer to it: they commit, or fail, together.
                self.book_chain.stored(str(decision["decision_id"]))
                outcomes[intent.intent_id] = (veto, detail, reservation_id)
                state.version = version
        # Committed: the book now equals a fresh build of the state (see _reusable_book).
        self._book, self._book_marks, self._book_print = book, marks, _fingerprint(book)
        return [outcomes[i.intent_id] for i in intents]

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

    def _reservation(self, intent: OrderIntent, detail: Detail, now: int, version: int) -> Reservation:
        sized = detail["sized"]
        notional = sized["notional"]
        if notional is None or sized["qty"] is None:
            raise LedgerError(f"approved intent {intent.intent_id} has no sized notional; refusing to reserve")
        fraction = risk_fraction(self.engine, intent, detail["requested"]["price"])
        opens_new = (intent.strategy, intent.symbol) not in self.engine.book.positions
        return Reservation(reservation_id=f"res-{detail['decision_id']}", intent_id=intent.intent_id,
                           strategy=intent.strategy, symbol=intent.symbol, side=intent.side,  # type: ignore[arg-type]
                           notional=float(notional), risk_usdt=float(notional) * fraction, opens_new=opens_new,
                           expires_ms=now + self._ttl_ms)

    def _reservation_row(self, intent: OrderIntent, detail: Detail, reservation: Reservation, now: int,
                         version: int) -> tuple[Any, ...]:
        sized = detail["sized"]
        row = {
            "reservation_id": reservation.reservation_id, "account_id": self.ledger.account_id,
            "intent_id": intent.intent_id, "decision_id": detail["decision_id"], "strategy": intent.strategy,
            "symbol": intent.symbol, "side": reservation.side.value, "qty": float(sized["qty"]),
            "price": float(detail["requested"]["price"]), "notional": reservation.notional,
            "risk_usdt": reservation.risk_usdt, "opens_new": reservation.opens_new, "leverage": intent.leverage,
            "stop_price": intent.stop_price, "take_profit_price": intent.take_profit_price, "filled_qty": 0.0,
            "status": ACTIVE, "created_ms": now, "expires_ms": reservation.expires_ms, "created_version": version,
            "ended_ms": None, "ended_version": None}
        return tuple(row[c] for c in RESERVATION_COLUMNS)

    def _instrument_json(self, rules: InstrumentRules | None) -> str:
        if rules is None:
            return "null"
        cached = self._instrument_cache.get(rules.symbol)
        if cached is None or cached[0] is not rules:
            cached = self._instrument_cache[rules.symbol] = (rules, dumps(dataclasses.asdict(rules)))
        return cached[1]

    def _returns_reference(self) -> str:
        """JSON of the reference to the engine's CVaR return data (``null`` without any): the data
        is stored in the ledger once per change, content-addressed, so a replay feeds the same."""
        cvar = self.engine.cvar
        version = cvar.data_version
        if version != self._returns_version:
            returns = cvar.returns_by_symbol()
            self._returns_json = dumps(self.ledger.store_return_set(dumps(returns))) if returns else "null"
            self._returns_version = version
        return self._returns_json

    def _markets_json(self, markets: dict[str, MarketSnapshot]) -> str:
        """The snapshots' JSON objects in symbol order, comma-separated; each snapshot (immutable)
        is encoded once, however many decisions it feeds."""
        cache = self._market_cache
        parts = []
        for symbol in sorted(markets):
            snapshot = markets[symbol]
            cached = cache.get(symbol)
            if cached is None or cached[0] is not snapshot:
                cached = cache[symbol] = (snapshot, dumps(snapshot.to_dict()))
            parts.append(cached[1])
        return ",".join(parts)

    def _unavailable_detail(self, intent: OrderIntent, message: str) -> Detail:
        limits = self.engine.limits
        return {
            "decision_id": None, "intent_id": intent.intent_id, "strategy": intent.strategy,
            "symbol": intent.symbol, "side": str(intent.side), "veto": True, "approved": False,
            "reasons": [LEDGER_UNAVAILABLE], "warnings": [], "error": message, "checks": [],
            "config_hash": limits.config_hash, "posture": limits.name, "ts_ms": self.engine.clock(),
        }

    # -- after the decision ----------------------------------------------------------------
    def fill(self, reservation_id: str, qty: float, price: float, fee: float = 0.0) -> FillResult:
        """Record a (partial) fill of a reservation (qty base units, price and fee USDT)."""
        with self._lock:
            return self.ledger.fill(reservation_id, qty, price, fee, now_ms=self.engine.clock())

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
        apply_account(engine, account.snapshot(), account.trading_state, account.state_reason)
        marks = {symbol: m.mark_price for symbol, m in engine.markets.items()}
        engine.book = self.state.build_book(engine.limits, marks)
        return self.state


def _fingerprint(book: Book) -> tuple[Any, ...]:
    """Every aggregate of ``book`` that adding or removing a position, reservation or mark changes."""
    return (book.version, book.long_notional, book.short_notional, book.total_risk_usdt, book.open_count,
            tuple(book.group_notional.items()), tuple(book.strategy_open.items()),
            tuple(book.strategy_positions.items()),
            tuple((s, e.long_qty, e.short_qty, e.price, e.reserved_long, e.reserved_short)
                  for s, e in book.symbols.items()))
