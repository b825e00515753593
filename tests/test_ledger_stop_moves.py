"""Stop moves in the shared ledger (SQLite and PostgreSQL): a tighter stop is stored with a
``stop_moved`` event and lowers the book's risk at stop for every process; a looser one, or one for
no open position, is refused by name and changes nothing."""

from __future__ import annotations

import json

import pytest

from ledger_fixtures import Clock, buy, db_url, make_gate, pg_url, rows
from riskguard.ledger import STOP_MOVED, LedgerNotFound, StopLoosened
from riskguard.ledger import tables as t
from riskguard.model.errors import InputValidationError
from riskguard.runtime import RiskGate

__all__ = ["db_url", "pg_url"]

ENTRY = 50_000.0  # BTCUSDT in the ledger tests; buy() puts the stop 1 % away


def opened(gate: RiskGate, side: str = "BUY", strategy: str = "s1") -> float:
    """Open a 400 USDT BTCUSDT position of ``strategy``; returns its quantity."""
    gate.engine.clock.advance(10)  # type: ignore[attr-defined]
    veto, detail, reservation_id = gate.reserve(buy(f"open-{strategy}-{side}", side=side, strategy=strategy))
    assert not veto and reservation_id is not None, detail["reasons"]
    qty = float(detail["sized"]["qty"])
    gate.fill(reservation_id, qty, ENTRY)
    return qty


def stop_of(gate: RiskGate, strategy: str = "s1") -> float | None:
    (position,) = [p for p in gate.ledger.positions() if p.strategy == strategy]
    return position.stop_price


def test_a_tighter_stop_is_stored_with_its_event_and_a_new_version(db_url: str) -> None:
    gate = make_gate(db_url)
    qty = opened(gate)
    before = gate.ledger.account().version
    move = gate.move_stop("s1", "BTCUSDT", 49_800.0, reason="chandelier")
    assert (move.previous_stop, move.stop_price, move.moved, move.side) == (49_500.0, 49_800.0, True, "LONG")
    assert move.risk_usdt == pytest.approx(qty * 200.0)
    assert stop_of(gate) == 49_800.0 and gate.ledger.account().version == move.version == before + 1
    (event,) = gate.ledger.events(STOP_MOVED)
    payload = json.loads(event.payload)
    assert (event.actor, payload["from"], payload["to"], payload["reason"]) == ("test", 49_500.0, 49_800.0,
                                                                               "chandelier")
    assert payload["risk_usdt_before"] == pytest.approx(qty * 500.0)


def test_every_process_decides_with_the_lower_risk_after_a_move(db_url: str) -> None:
    gate = make_gate(db_url)
    qty = opened(gate)
    other = make_gate(db_url, Clock(gate.engine.clock()), migrate=False, nav=None, actor="other")
    other.refresh()
    assert other.engine.book.total_risk_usdt == pytest.approx(qty * 500.0)
    gate.move_stop("s1", "BTCUSDT", 50_000.0, reason="lock")
    other.engine.clock.advance(10)  # type: ignore[attr-defined]
    veto, detail, _ = other.reserve(buy("after-move", "ETHUSDT", strategy="s2"))
    assert not veto, detail["reasons"]
    (risk,) = [c for c in detail["checks"] if c["gate"] == "total_risk_exceeded"]
    assert risk["observed"] == pytest.approx(400.0 * 0.01)  # the new ETH trade's own risk: BTC is at break-even


@pytest.mark.parametrize(("side", "looser", "tighter"), [("BUY", 49_400.0, 49_600.0), ("SELL", 50_600.0, 50_400.0)])
def test_a_looser_stop_is_refused_naming_stop_price_and_changes_nothing(db_url: str, side: str, looser: float,
                                                                        tighter: float) -> None:
    gate = make_gate(db_url)
    opened(gate, side)
    gate.move_stop("s1", "BTCUSDT", tighter, reason="lock")
    version = gate.ledger.account().version
    with pytest.raises(StopLoosened, match="stop_price") as refused:
        gate.move_stop("s1", "BTCUSDT", looser, reason="manual")
    assert refused.value.field == "stop_price"
    assert stop_of(gate) == tighter and gate.ledger.account().version == version
    assert len(gate.ledger.events(STOP_MOVED)) == 1


def test_a_stop_for_no_open_position_is_refused(db_url: str) -> None:
    gate = make_gate(db_url)
    opened(gate)
    with pytest.raises(LedgerNotFound, match="stop_price has no position"):
        gate.move_stop("s1", "ETHUSDT", 2_990.0, reason="manual")
    with pytest.raises(LedgerNotFound):
        gate.move_stop("nobody", "BTCUSDT", 49_900.0, reason="manual")
    assert gate.ledger.events(STOP_MOVED) == []


def test_the_same_stop_again_changes_nothing(db_url: str) -> None:
    gate = make_gate(db_url)
    opened(gate)
    first = gate.move_stop("s1", "BTCUSDT", 49_700.0, reason="lock")
    again = gate.move_stop("s1", "BTCUSDT", 49_700.0, reason="lock")
    assert (again.moved, again.previous_stop, again.version) == (False, 49_700.0, first.version)
    assert len(gate.ledger.events(STOP_MOVED)) == 1


@pytest.mark.parametrize(("side", "beyond"), [("BUY", 50_300.0), ("SELL", 49_700.0)])
def test_a_stop_beyond_entry_counts_no_risk(db_url: str, side: str, beyond: float) -> None:
    gate = make_gate(db_url)
    opened(gate, side)
    assert gate.move_stop("s1", "btcusdt", beyond, reason="lock").risk_usdt == 0.0
    gate.refresh()
    assert gate.engine.book.total_risk_usdt == 0.0


@pytest.mark.parametrize(("field", "values"), [
    ("stop_price", {"stop_price": float("nan")}), ("stop_price", {"stop_price": 0.0}),
    ("stop_price", {"stop_price": 1e300}), ("reason", {"reason": "  "}), ("reason", {"reason": "x" * 65}),
    ("actor", {"actor": ""})])
def test_a_bad_move_is_refused_naming_the_field(db_url: str, field: str, values: dict[str, object]) -> None:
    gate = make_gate(db_url)
    opened(gate)
    arguments: dict[str, object] = {"stop_price": 49_800.0, "reason": "lock", "actor": "bot"} | values
    with pytest.raises(InputValidationError) as refused:
        gate.ledger.move_stop("s1", "BTCUSDT", **arguments)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert stop_of(gate) == 49_500.0


def test_a_position_without_a_stop_takes_any_stop(db_url: str) -> None:
    gate = make_gate(db_url)
    opened(gate)
    with gate.ledger.transaction() as conn:
        conn.execute(t.positions.update().values(stop_price=None))
    move = gate.move_stop("s1", "BTCUSDT", 45_000.0, reason="reconciled")
    assert (move.previous_stop, move.moved) == (None, True)
    assert [r.stop_price for r in rows(gate.ledger, t.positions)] == [45_000.0]
