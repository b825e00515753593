"""Decision books stored by reference to the previous decision's book: what a reader gets back is
exactly the full book the decision was taken against."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from ledger_fixtures import PRICES, Clock, buy, db_url, make_gate, pg_url, posture
from riskguard.book.reservation import Reservation
from riskguard.ledger import LedgerError
from riskguard.ledger import tables as t
from riskguard.ledger.state import BookState
from riskguard.ledger.stored_books import KEYFRAME_EVERY, resolve_book
from riskguard.model.codec import encode as dumps
from riskguard.model.enums import Side
from riskguard.runtime import RiskGate, replay_decision
from riskguard.runtime.inputs import StoredBook
from riskguard.runtime.stored_book import BookChain

__all__ = ["db_url", "pg_url"]


class _RecordingChain(BookChain):
    """A BookChain that also keeps the full book JSON of every book it encodes."""

    def __init__(self) -> None:
        super().__init__()
        self.full: list[str] = []

    def book(self, state: BookState) -> StoredBook:
        self.full.append(dumps(state.to_dict()))
        return super().book(state)


def _encode(chain: BookChain, state: BookState) -> str:
    """The stored text of the book ``chain`` gives ``state``."""
    return dumps(chain.book(state).to_dict())


def _stored_books(gate: RiskGate, decision_ids: list[str]) -> list[dict[str, Any]]:
    with gate.ledger.reading() as conn:
        rows = dict(conn.execute(select(t.decisions.c.decision_id, t.decisions.c.inputs)).all())
    return [json.loads(rows[d])["book"] for d in decision_ids]


def _mixed_sequence(gate: RiskGate, other: RiskGate, clock: Clock, count: int) -> list[str]:
    """Own approvals and vetoes, expiries, another process reserving and filling, own fills and
    releases; returns the gate's decision ids in order."""
    rng = np.random.default_rng(11)
    decisions = []
    for n in range(count):
        symbol = ["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3]
        clock.advance(int(rng.integers(0, 150)))
        if n % 17 == 9:
            _, detail, rid = other.reserve(buy(f"o{n}", symbol, strategy="s9"))
            if rid is not None:
                other.fill(rid, detail["sized"]["qty"] / 2, PRICES[symbol])
        side = "BUY" if rng.random() < 0.6 else "SELL"
        # Every 7th intent puts its stop on the wrong side of the price: a veto.
        wrong_stop = {"stop_price": PRICES[symbol] * (1.01 if side == "BUY" else 0.99)} if n % 7 == 3 else {}
        _, detail, rid = gate.reserve(buy(f"i{n}", symbol, notional=300.0 + n, strategy=f"s{n % 4}", side=side,
                                          **wrong_stop))
        decisions.append(detail["decision_id"])
        if rid is not None and n % 19 == 4:
            gate.release(rid)
    return decisions


@pytest.fixture
def recorded(db_url: str) -> tuple[RiskGate, _RecordingChain, list[str]]:
    clock = Clock()
    the_posture = posture(**{"ledger.reservation_ttl_s": 0.4, "portfolio.max_open_positions": 100,
                             "portfolio.max_open_positions_high_confidence": 100})
    gate = make_gate(db_url, clock, the_posture, nav=50_000.0)
    other = make_gate(db_url, clock, the_posture, migrate=False, nav=None, actor="other")
    chain = gate.book_chain = _RecordingChain()
    return gate, chain, _mixed_sequence(gate, other, clock, 90)


def test_every_decision_reads_back_the_full_book_it_was_decided_against(
        recorded: tuple[RiskGate, _RecordingChain, list[str]]) -> None:
    gate, chain, decisions = recorded
    assert len(chain.full) == len(decisions)
    for decision_id, full in zip(decisions, chain.full, strict=True):
        assert gate.ledger.decision(decision_id).inputs["book"] == json.loads(full), decision_id


def test_most_books_are_stored_by_reference_even_when_another_process_writes(
        recorded: tuple[RiskGate, _RecordingChain, list[str]]) -> None:
    gate, _, decisions = recorded
    books = _stored_books(gate, decisions)
    by_reference = [b for b in books if "base" in b]
    assert len(by_reference) > len(books) * 3 // 4  # the other process writes before every 17th decision
    assert "base" not in books[0]
    depth = 0
    for book in books:
        depth = depth + 1 if "base" in book else 0
        assert depth < KEYFRAME_EVERY


def test_listed_decisions_carry_full_books_too(recorded: tuple[RiskGate, _RecordingChain, list[str]]) -> None:
    gate, chain, decisions = recorded
    listed = {r.decision_id: r for r in gate.ledger.decisions(limit=len(decisions) + 50)}
    for decision_id, full in zip(decisions, chain.full, strict=True):
        assert listed[decision_id].inputs["book"] == json.loads(full)


def test_every_decision_of_a_chained_sequence_replays(recorded: tuple[RiskGate, _RecordingChain, list[str]]) -> None:
    gate, _, decisions = recorded
    for decision_id in decisions:
        result = replay_decision(gate.ledger, decision_id)
        assert result.matches, (decision_id, result.differences)


def test_book_referring_to_a_missing_decision_is_an_error_not_a_guess(
        recorded: tuple[RiskGate, _RecordingChain, list[str]]) -> None:
    gate, _, decisions = recorded
    books = _stored_books(gate, decisions)
    k = next(k for k, b in enumerate(books) if "base" in b)
    with gate.ledger.transaction() as conn:
        conn.execute(delete(t.decisions).where(t.decisions.c.decision_id == books[k]["base"]))
    with pytest.raises(LedgerError, match=books[k]["base"]):
        gate.ledger.decision(decisions[k])


def _reservation(n: int) -> Reservation:
    return Reservation(reservation_id=f"r{n}", intent_id=f"i{n}", strategy="s", symbol="BTCUSDT", side=Side.BUY,
                       notional=100.0 + n, risk_usdt=1.0, opens_new=True, expires_ms=1_000 + n)


def test_reordered_reservations_are_stored_in_full() -> None:
    chain = BookChain()
    first, second = _reservation(1), _reservation(2)
    _encode(chain, BookState(version=1, reservations=[first, second]))
    chain.stored("d1")
    assert "base" not in json.loads(_encode(chain, BookState(version=2, reservations=[second, first])))


def test_expired_and_added_reservations_are_stored_as_a_delta_that_resolves_in_order() -> None:
    chain = BookChain()
    kept, expired, added = _reservation(1), _reservation(2), _reservation(3)
    first = json.loads(_encode(chain, BookState(version=1, reservations=[kept, expired])))
    chain.stored("d1")
    state = BookState(version=2, reservations=[kept, added])
    delta = json.loads(_encode(chain, state))
    assert delta["base"] == "d1" and delta["removed"] == ["r2"] and len(delta["added"]) == 1
    assert resolve_book(delta, {"d1": first}.__getitem__) == json.loads(dumps(state.to_dict()))


def test_a_book_reloaded_from_the_ledger_is_still_stored_by_reference() -> None:
    chain = BookChain()
    first = json.loads(_encode(chain, BookState(version=1, reservations=[_reservation(1), _reservation(2)])))
    chain.stored("d1")
    reloaded = BookState(version=5, reservations=[_reservation(1), _reservation(2), _reservation(3)])
    delta = json.loads(_encode(chain, reloaded))
    assert delta["base"] == "d1" and delta["removed"] == [] and len(delta["added"]) == 1
    assert resolve_book(delta, {"d1": first}.__getitem__) == json.loads(dumps(reloaded.to_dict()))


def test_a_reservation_that_changed_is_replaced_by_id() -> None:
    chain = BookChain()
    first = json.loads(_encode(chain, BookState(version=1, reservations=[_reservation(1), _reservation(2)])))
    chain.stored("d1")
    partly_filled = dataclasses.replace(_reservation(2), notional=50.0)
    state = BookState(version=2, reservations=[_reservation(1), partly_filled])
    delta = json.loads(_encode(chain, state))
    assert delta["removed"] == ["r2"] and delta["added"][0]["notional"] == 50.0
    assert resolve_book(delta, {"d1": first}.__getitem__) == json.loads(dumps(state.to_dict()))


def test_a_changed_reservation_ahead_of_unchanged_ones_gives_a_full_book() -> None:
    chain = BookChain()
    _encode(chain, BookState(version=1, reservations=[_reservation(1), _reservation(2)]))
    chain.stored("d1")
    changed = dataclasses.replace(_reservation(1), notional=50.0)
    assert "base" not in json.loads(_encode(chain, BookState(version=2, reservations=[changed, _reservation(2)])))


def test_a_full_book_is_stored_every_keyframe_interval() -> None:
    chain = BookChain(keyframe_every=3)
    kinds = []
    for n in range(7):
        kinds.append("base" in json.loads(_encode(chain, BookState(version=n, reservations=[]))))
        chain.stored(f"d{n}")
    assert kinds == [False, True, True, False, True, True, False]


@settings(max_examples=300, deadline=None)
@given(base=st.lists(st.integers(0, 30), unique=True, max_size=12),
       current=st.lists(st.integers(0, 30), unique=True, max_size=12),
       changed=st.sets(st.integers(0, 30)))
def test_a_stored_delta_always_resolves_to_the_book_and_is_used_whenever_it_can_be(
        base: list[int], current: list[int], changed: set[int]) -> None:
    chain = BookChain()
    first = json.loads(_encode(chain, BookState(version=1, reservations=[_reservation(n) for n in base])))
    chain.stored("d1")
    # ``changed`` reservations are stored with another notional now (a partial fill).
    now = [dataclasses.replace(_reservation(n), notional=1.0) if n in changed else _reservation(n) for n in current]
    state = BookState(version=2, reservations=now)
    stored = json.loads(_encode(chain, state))
    unchanged = [n for n in base if n in current and n not in changed]
    expressible = current[:len(unchanged)] == unchanged
    assert ("base" in stored) == expressible
    assert resolve_book(stored, {"d1": first}.__getitem__) == json.loads(dumps(state.to_dict()))


def test_keyframe_interval_outside_what_readers_follow_is_refused() -> None:
    with pytest.raises(ValueError, match="keyframe_every"):
        BookChain(keyframe_every=KEYFRAME_EVERY + 1)
