"""reserve_many: several intents of one process decided in one transaction, in order, each as
reserve() would decide it with no other writer in between."""

from __future__ import annotations

from typing import Any

import pytest

from ledger_fixtures import Clock, buy, consistency_problems, db_url, make_gate, pg_url, posture
from riskguard.ledger import Ledger
from riskguard.runtime import LEDGER_UNAVAILABLE, replay_decision

__all__ = ["db_url", "pg_url"]


def _capped(max_open: int) -> Any:
    return posture(**{"portfolio.max_open_positions": max_open,
                      "portfolio.max_open_positions_high_confidence": max_open})


def _verdict(outcome: tuple[bool, dict[str, Any], str | None]) -> tuple[Any, ...]:
    veto, detail, reservation_id = outcome
    return veto, tuple(detail["reasons"]), detail["sized"]["notional"], reservation_id is not None


def test_intents_reserved_together_count_each_others_reservations(db_url: str) -> None:
    gate = make_gate(db_url, Clock(), _capped(2), nav=50_000.0)
    outcomes = gate.reserve_many([buy(f"i{n}", strategy=f"s{n}", notional=300.0) for n in range(3)])
    assert [veto for veto, _, _ in outcomes] == [False, False, True]
    assert outcomes[2][1]["reasons"] == ["global_concurrency_exceeded"]
    assert len(gate.ledger.reservations()) == 2


def test_reserve_many_decides_exactly_as_the_same_reserves_one_by_one(db_url: str, tmp_path: Any) -> None:
    intents = [buy(f"i{n}", ["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3], strategy=f"s{n % 2}", notional=900.0 + n)
               for n in range(7)]
    together = make_gate(db_url, Clock(), _capped(4), nav=20_000.0)
    alone = make_gate(f"sqlite:///{tmp_path / 'alone.db'}", Clock(), _capped(4), nav=20_000.0)
    assert [_verdict(o) for o in together.reserve_many(intents)] == [_verdict(alone.reserve(i)) for i in intents]


def test_every_decision_of_a_batch_is_stored_and_replays(db_url: str) -> None:
    gate = make_gate(db_url, Clock(), _capped(3), nav=50_000.0)
    gate.reserve(buy("before", "ETHUSDT", strategy="s9"))
    outcomes = gate.reserve_many([buy(f"i{n}", strategy=f"s{n}", notional=300.0 + n) for n in range(4)])
    for _, detail, _ in outcomes:
        assert replay_decision(gate.ledger, detail["decision_id"]).matches
    assert consistency_problems(gate.ledger) == []


def test_intent_ids_already_decided_or_repeated_return_the_first_decision(db_url: str) -> None:
    gate = make_gate(db_url, Clock(), _capped(5), nav=50_000.0)
    _, first, first_reservation = gate.reserve(buy("a", strategy="s1"))
    outcomes = gate.reserve_many([buy("a", strategy="s1"), buy("b", strategy="s2"), buy("b", strategy="s2")])
    assert outcomes[0][1]["decision_id"] == first["decision_id"] and outcomes[0][2] == first_reservation
    assert outcomes[1][1]["decision_id"] == outcomes[2][1]["decision_id"]
    assert sorted(r.intent_id for r in gate.ledger.reservations()) == ["a", "b"]


def test_a_batch_of_intents_already_decided_writes_nothing(db_url: str) -> None:
    gate = make_gate(db_url)
    gate.reserve(buy("a"))
    version = gate.ledger.account().version
    assert not gate.reserve_many([buy("a"), buy("a")])[1][0]
    assert gate.ledger.account().version == version


def test_empty_batch_returns_nothing(db_url: str) -> None:
    assert make_gate(db_url).reserve_many([]) == []


def test_unreachable_database_vetoes_every_intent_of_a_batch(db_url: str) -> None:
    gate = make_gate(db_url)
    gate.ledger = Ledger("postgresql+psycopg://bot:s3cret@127.0.0.1:1/none")
    outcomes = gate.reserve_many([buy("a"), buy("b", strategy="s2")])
    assert [(veto, detail["reasons"], rid) for veto, detail, rid in outcomes] == [
        (True, [LEDGER_UNAVAILABLE], None), (True, [LEDGER_UNAVAILABLE], None)]


@pytest.mark.parametrize("size", [2, 5])
def test_batches_and_single_reserves_mixed_never_exceed_the_cap(db_url: str, size: int) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, _capped(4), nav=50_000.0)
    other = make_gate(db_url, clock, _capped(4), migrate=False, nav=None, actor="other")
    for round_ in range(4):
        gate.reserve_many([buy(f"g{round_}-{n}", strategy=f"g{round_}-{n}", notional=200.0) for n in range(size)])
        other.reserve(buy(f"o{round_}", strategy=f"o{round_}", notional=200.0))
        assert len(gate.ledger.reservations()) <= 4
    assert consistency_problems(gate.ledger) == []
