"""Stored decision inputs are one typed shape, encoded once; every reserve path returns the
complete decision contract (ARCHITECTURE.md, "The public contract")."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ledger_fixtures import Clock, buy, db_url, make_gate, mark_markets, posture
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.model.signal import Signal
from riskguard.runtime import LEDGER_UNAVAILABLE, RiskGate, replay_decision
from riskguard.runtime.inputs import BookReference, DecisionInputs, encode_inputs

__all__ = ["db_url"]

CONTRACT = {"reasons", "warnings", "nav", "nav_fresh", "checks", "requested", "sized", "max_notional_allowed",
            "open_positions", "max_concurrent_positions", "trading_state", "policy", "config_hash", "decision_id"}


def _unreachable(gate: RiskGate) -> None:
    gate.ledger = Ledger("postgresql+psycopg://bot:s3cret@127.0.0.1:1/none")


def test_a_ledger_unavailable_veto_carries_every_key_of_a_decision(db_url: str) -> None:
    gate = make_gate(db_url)
    _, decided, _ = gate.reserve(buy("a"))
    _unreachable(gate)
    veto, detail, reservation_id = gate.reserve(buy("b"))
    assert veto and reservation_id is None and detail["reasons"] == [LEDGER_UNAVAILABLE]
    assert set(detail) >= CONTRACT and set(decided) <= set(detail)
    assert set(detail) - set(decided) == {"error"}


def test_a_ledger_unavailable_veto_decides_nothing_and_allows_nothing(db_url: str) -> None:
    gate = make_gate(db_url)
    _unreachable(gate)
    _, detail, _ = gate.reserve(buy("a", notional=400.0))
    assert detail["decision_id"] is None and detail["checks"] == []
    assert detail["max_notional_allowed"] == 0.0 and detail["sized"]["notional"] is None
    assert detail["requested"]["notional"] == 400.0 and detail["trading_state"] == "ACTIVE"
    assert detail["config_hash"] == gate.engine.limits.config_hash


def test_a_signal_vetoed_for_an_unavailable_ledger_has_no_size_and_the_full_detail(db_url: str) -> None:
    gate = make_gate(db_url)
    _unreachable(gate)
    veto, detail, reservation_id = gate.reserve(Signal("sig-1", "s1", "BTCUSDT", "BUY", confidence=0.8,
                                                       expected_rr=3.0, atr=500.0))
    assert veto and reservation_id is None and detail["reasons"] == [LEDGER_UNAVAILABLE]
    assert set(detail) >= CONTRACT and detail["intent_id"] == "sig-1"
    assert detail["requested"]["notional"] is None and detail["sized"]["notional"] is None


def test_every_intent_of_a_batch_vetoed_for_an_unavailable_ledger_gets_the_full_detail(db_url: str) -> None:
    gate = make_gate(db_url)
    _unreachable(gate)
    outcomes = gate.reserve_many([buy("a"), buy("b", "ETHUSDT")])
    assert [(veto, detail["reasons"], set(detail) >= CONTRACT) for veto, detail, _ in outcomes] == [
        (True, [LEDGER_UNAVAILABLE], True), (True, [LEDGER_UNAVAILABLE], True)]


def test_an_invalid_intent_is_vetoed_with_the_full_detail_stored_and_replayed(db_url: str) -> None:
    gate = make_gate(db_url)
    veto, detail, reservation_id = gate.reserve(buy("a", side="SELL", reduce_only=True))
    assert veto and reservation_id is None and detail["reasons"] == ["invalid_intent"]
    assert set(detail) >= CONTRACT
    assert replay_decision(gate.ledger, detail["decision_id"]).matches


def _stored_inputs(gate: RiskGate) -> list[str]:
    with gate.ledger.reading() as conn:
        return list(conn.execute(select(t.decisions.c.inputs).order_by(t.decisions.c.version)).scalars())


def test_stored_inputs_read_back_as_the_typed_shape_and_encode_to_the_same_text(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, posture(**{"ledger.reservation_ttl_s": 1}))
    other = make_gate(db_url, clock, posture(**{"ledger.reservation_ttl_s": 1}), migrate=False, actor="other")
    for n in range(12):
        clock.advance(300)
        mark_markets(gate, clock())
        mark_markets(other, clock())
        (other if n % 5 == 4 else gate).reserve(buy(f"i{n}", ["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3],
                                                    notional=100.0, strategy=f"s{n % 4}"))
    texts = _stored_inputs(gate)
    parsed = [DecisionInputs.from_dict(json.loads(text)) for text in texts]
    assert [encode_inputs(inputs) for inputs in parsed] == texts
    assert any(isinstance(inputs.book.reservations, BookReference) for inputs in parsed)
    for record in gate.ledger.decisions(limit=100):
        assert replay_decision(gate.ledger, record.decision_id).matches


def test_stored_inputs_name_every_input_a_replay_needs(db_url: str) -> None:
    gate = make_gate(db_url)
    _, detail, _ = gate.reserve(buy("a"))
    stored: dict[str, Any] = gate.ledger.decision(detail["decision_id"]).inputs
    assert list(stored) == ["intent", "markets", "instrument", "returns", "ttl_ms", "account", "trading_state",
                            "state_reason", "book"]
    inputs = DecisionInputs.from_dict(stored)
    assert inputs.intent.intent_id == "a" and inputs.account is not None and inputs.account.nav == 4_400.0
    assert [m.symbol for m in inputs.markets] == sorted(m.symbol for m in inputs.markets)
