"""The account's operating size multiplier (the monitor's reduce-size action, a staged recovery's
0.25 -> 0.5 -> 1.0) acts on every process's next decision through the ledger, and is stored with
the decision so that it replays exactly."""

from __future__ import annotations

import pytest

from ledger_fixtures import Clock, db_url, make_gate
from riskguard.ledger.controls import ControlStore
from riskguard.model.signal import Signal
from riskguard.runtime import RiskGate, replay_decision

__all__ = ["db_url"]


def _signal(signal_id: str, strategy: str) -> Signal:
    # A wide ATR keeps the risk-based size below every cap, so the multiplier alone moves it.
    return Signal(signal_id, strategy, "BTCUSDT", "BUY", confidence=0.8, expected_rr=3.0, atr=5_000.0)


def _reduce_size(gate: RiskGate, multiplier: float, clock: Clock) -> None:
    ControlStore(gate.ledger).set_operating(size_multiplier=multiplier, state=None, reason="weekly drawdown 7 %",
                                            actor="monitor", now_ms=clock(), kind="drawdown_action")


def test_a_reduce_size_action_halves_the_next_signal_of_another_process(db_url: str) -> None:
    clock = Clock()
    bot, monitor = make_gate(db_url, clock), make_gate(db_url, clock, nav=None)
    _, before, _ = bot.reserve(_signal("sig-1", "s1"))
    _reduce_size(monitor, 0.5, clock)
    _, after, _ = bot.reserve(_signal("sig-2", "s2"))
    assert after["sizing"]["operating_size_multiplier"] == 0.5
    assert after["sizing"]["notional_usdt"] == pytest.approx(before["sizing"]["notional_usdt"] * 0.5, rel=1e-12)


def test_a_signal_sized_under_a_multiplier_replays_exactly(db_url: str) -> None:
    clock = Clock()
    bot = make_gate(db_url, clock)
    _reduce_size(bot, 0.25, clock)
    _, detail, _ = bot.reserve(_signal("sig-1", "s1"))
    assert detail["sizing"]["operating_size_multiplier"] == 0.25
    assert replay_decision(bot.ledger, detail["decision_id"]).matches


def test_back_at_full_size_the_decision_is_stored_as_before_the_multiplier_existed(db_url: str) -> None:
    clock = Clock()
    bot = make_gate(db_url, clock)
    _reduce_size(bot, 0.5, clock)
    _reduce_size(bot, 1.0, clock)
    _, detail, _ = bot.reserve(_signal("sig-1", "s1"))
    assert "operating_size_multiplier" not in detail["sizing"]
    assert "size_multiplier" not in bot.ledger.decision(detail["decision_id"]).inputs

