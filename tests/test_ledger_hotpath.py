"""reserve()'s shortcuts: the engine book kept between reserves, unique versions of rebuilt books,
and WAL checkpoints off the reserve path. Each must leave decisions exactly as a fresh rebuild
would make them."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ledger_fixtures import PRICES, Clock, buy, db_url, make_gate, mark_markets, pg_url, posture
from riskguard.book.book import Book
from riskguard.book.reservation import Reservation
from riskguard.ledger import RiskGate, replay_decision
from riskguard.ledger.state import BookState
from riskguard.model.codec import encode as dumps
from riskguard.model.enums import PositionSide, Side
from riskguard.model.position import Position

__all__ = ["db_url", "pg_url"]


def _bits(book: Book) -> dict[str, Any]:
    """Every field of a book with floats as their exact bits (the version aside: it only has to be unique)."""
    fields = {f.name: getattr(book, f.name) for f in dataclasses.fields(book) if f.name != "version"}
    fields["symbols"] = [(s, [v.hex() for v in (e.long_qty, e.short_qty, e.price, e.reserved_long,
                                                e.reserved_short)]) for s, e in book.symbols.items()]
    for name in ("long_notional", "short_notional", "total_risk_usdt"):
        fields[name] = fields[name].hex()
    fields["group_notional"] = [(g, v.hex()) for g, v in book.group_notional.items()]
    fields["position_risk"] = [(k, v.hex()) for k, v in book.position_risk.items()]
    fields["positions"] = list(book.positions.items())
    fields["reservations"] = list(book.reservations.items())
    fields["recent_orders"] = list(book.recent_orders)
    fields["seen_intents"] = list(book.seen_intents.items())
    return fields


def _fresh(gate: RiskGate) -> Book:
    marks = {symbol: m.mark_price for symbol, m in gate.engine.markets.items()}
    return gate.state.build_book(gate.engine.limits, marks)


class _CheckingEngine:
    """Stands in for a gate's engine: runs ``before`` ahead of every decision, delegates the rest
    (the compiled engine's methods cannot be replaced on the instance)."""

    def __init__(self, engine: Any, before: Any) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_before", before)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._engine, name, value)

    def check_order(self, intent: Any, **kwargs: Any) -> Any:
        self._before(intent)
        return self._engine.check_order(intent, **kwargs)


def _two_gates(db_url: str) -> tuple[Clock, RiskGate, RiskGate]:
    """A clock and two processes' gates on one account: short TTL, 50 positions allowed."""
    clock = Clock()
    the_posture = posture(**{"ledger.reservation_ttl_s": 0.5, "portfolio.max_open_positions": 50,
                             "portfolio.max_open_positions_high_confidence": 50})
    gate = make_gate(db_url, clock, the_posture, nav=50_000.0)
    return clock, gate, make_gate(db_url, clock, the_posture, migrate=False, nav=None, actor="other")


def test_kept_book_is_bit_identical_to_a_rebuild_and_every_decision_replays(db_url: str) -> None:
    clock, gate, other = _two_gates(db_url)
    builds = 0
    original = type(gate.state).build_book
    engine = gate.engine
    mismatches: list[str] = []

    def counting(state: Any, limits: Any, marks: dict[str, float]) -> Book:
        nonlocal builds
        builds += 1
        return original(state, limits, marks)

    def compare(intent: Any) -> None:
        # The book this decision is taken against, next to a rebuild from the same state and marks.
        nonlocal builds
        if _bits(engine.book) != _bits(_fresh(gate)):
            mismatches.append(intent.intent_id)
        builds -= 1

    type(gate.state).build_book = counting  # type: ignore[method-assign]
    gate.engine = _CheckingEngine(engine, compare)  # type: ignore[assignment]
    try:
        decisions = []
        rng = np.random.default_rng(7)
        for n in range(60):
            symbol = ["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3]
            clock.advance(int(rng.integers(0, 120)))
            if n % 11 == 5:  # a mark that moves and comes back: the kept book's floats moved too
                price = PRICES[symbol]
                mark_markets(gate, clock(), {**PRICES, symbol: price * 1.001})
                mark_markets(gate, clock(), PRICES)
            if n % 13 == 7:  # another process writes: this one reloads
                _, detail, rid = other.reserve(buy(f"o{n}", symbol, strategy="s9"))
                if rid is not None:
                    other.fill(rid, detail["sized"]["qty"] / 2, PRICES[symbol])
            if n == 31:  # a position added to the engine by hand, outside the ledger
                gate.engine.add_position(Position(symbol="SOLUSDT", side=PositionSide.LONG, qty=1.0,
                                                  entry_price=150.0, strategy="manual", opened_ts_ms=clock()))
            side = "BUY" if rng.random() < 0.6 else "SELL"
            notional = 300.0 + float(rng.integers(0, 5)) * 0.1
            _, detail, _ = gate.reserve(buy(f"i{n}", symbol, notional=notional, strategy=f"s{n % 4}", side=side))
            decisions.append(detail["decision_id"])
    finally:
        type(gate.state).build_book = original  # type: ignore[method-assign]
        gate.engine = engine
    assert mismatches == []
    assert 0 < builds < 60  # some reserves reused the book, the others rebuilt it
    for decision_id in decisions:
        result = replay_decision(gate.ledger, decision_id)
        assert result.matches, (decision_id, result.differences)


def test_book_inside_a_batch_is_bit_identical_to_a_rebuild_before_every_decision(db_url: str) -> None:
    clock, gate, other = _two_gates(db_url)
    engine = gate.engine
    mismatches: list[str] = []

    def compare(intent: Any) -> None:
        if _bits(engine.book) != _bits(_fresh(gate)):
            mismatches.append(intent.intent_id)

    gate.engine = _CheckingEngine(engine, compare)  # type: ignore[assignment]
    decisions = []
    try:
        rng = np.random.default_rng(3)
        for n in range(20):
            clock.advance(int(rng.integers(0, 200)))
            if n % 5 == 2:
                other.reserve(buy(f"o{n}", "ETHUSDT", strategy="s9"))
            batch = [buy(f"i{n}-{k}", ["BTCUSDT", "ETHUSDT", "SOLUSDT"][k % 3], strategy=f"s{k}",
                         notional=300.0 + float(rng.integers(0, 5)), side="BUY" if rng.random() < 0.6 else "SELL")
                     for k in range(1 + n % 4)]
            decisions += [detail["decision_id"] for _, detail, _ in gate.reserve_many(batch)]
    finally:
        gate.engine = engine
    assert mismatches == []
    for decision_id in decisions:
        result = replay_decision(gate.ledger, decision_id)
        assert result.matches, (decision_id, result.differences)


def test_rebuilt_books_with_as_many_items_do_not_share_cached_cvar(db_url: str) -> None:
    # The CVaR gate memoises by Book.version; two rebuilt books holding one reservation each must
    # not be taken for the same book (the second decision would use the first book's exposure).
    def third_decision(reset_caches: bool) -> dict[str, Any]:
        clock = Clock()
        gate = make_gate(db_url, clock, posture(**{"ledger.reservation_ttl_s": 1.0}), nav=100_000.0,
                         account_id=f"cvar-{reset_caches}")

        def feed() -> None:
            for k, symbol in enumerate(sorted(PRICES)):
                gate.engine.update_returns(symbol, np.random.default_rng(k).normal(0.0, 0.03, 300))

        feed()
        gate.reserve(buy("a1", "BTCUSDT", 3_000.0))
        clock.advance(600)
        gate.reserve(buy("a2", "SOLUSDT", 3_000.0, side="SELL"))
        clock.advance(600)  # a1 expires: the next book holds a2 alone, as many items as a1's book
        if reset_caches:
            feed()  # new return data clears every CVaR cache
        _, detail, _ = gate.reserve(buy("a3", "BTCUSDT", 3_000.0))
        gate.ledger.dispose()
        return next(c for c in detail["checks"] if c["gate"] == "cvar_limit_exceeded")

    cached = third_decision(False)
    assert cached["observed"] is not None
    assert cached == third_decision(True)


def test_wal_checkpoints_run_on_a_thread_and_stop_with_the_ledger(tmp_path: Any) -> None:
    clock = Clock()
    gate = make_gate(f"sqlite:///{tmp_path / 'ledger.db'}", clock,
                     posture(**{"ledger.reservation_ttl_s": 0.05}), nav=1_000_000.0)
    checkpointer = gate.ledger._checkpointer
    assert checkpointer is not None
    checkpointer.every = 5
    for n in range(40):
        clock.advance(3)
        gate.reserve(buy(f"w{n}", "BTCUSDT", 300.0))
    thread = checkpointer._thread
    assert thread is not None and thread.is_alive()
    gate.ledger.dispose()
    assert not thread.is_alive()
    assert checkpointer.checkpoints >= 1


def test_book_json_reuses_encodings_only_for_equal_reservations() -> None:
    def reservation(n: int, notional: float) -> Reservation:
        return Reservation(reservation_id=f"r{n}", intent_id=f"i{n}", strategy="s", symbol="BTCUSDT",
                           side=Side.BUY, notional=notional, risk_usdt=notional * 0.01, opens_new=n % 2 == 0,
                           expires_ms=1_000 + n)

    state = BookState(version=3, reservations=[reservation(n, 100.0 + n) for n in range(30)])
    assert state.to_json() == dumps(state.to_dict())
    # Read back after another process wrote: equal copies, one partly filled, several ended, new ones.
    reloaded = BookState(version=4, reservations=[reservation(n, 100.0 + n) for n in range(5, 30)]
                         + [reservation(40 + n, 7.0) for n in range(40)])
    reloaded.reservations[3] = reservation(8, 54.0)
    reloaded.share_encodings(state)
    for _ in range(4):  # eviction of encodings no longer held runs on the way
        assert reloaded.to_json() == dumps(reloaded.to_dict())
        reloaded.reservations = reloaded.reservations[20:]
    assert len(reloaded._encoded_ids) < 30  # the encodings of ended reservations were dropped
