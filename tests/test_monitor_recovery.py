"""Staged recovery (each step recorded, stopping at the first that fails) and "what would this
posture have decided" (stored decisions re-decided under another posture, flips listed)."""

from __future__ import annotations

import json

from ledger_fixtures import Clock, buy, db_url, make_gate, posture
from monitor_fixtures import FlakyExchange, open_position, paper_exchange
from riskguard.config.monitor_schema import KillSwitchSection
from riskguard.ledger.controls import ControlStore
from riskguard.model.enums import TradingState
from riskguard.monitor.killswitch import KillSwitch, KillTrigger
from riskguard.monitor.posture_replay import replay_window
from riskguard.monitor.recovery import Recovery

__all__ = ["db_url"]

HOUR_MS = 3_600_000


def test_replay_under_a_looser_and_a_tighter_posture_lists_the_flips_with_the_gates_that_changed(
        db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    for k, notional in enumerate((300.0, 700.0, 500.0)):
        clock.advance(10)
        gate.reserve(buy(f"i{k}", "BTCUSDT", notional, f"s{k}"))
    stored = {d.intent_id: d.approved for d in gate.ledger.decisions()}
    assert stored == {"i0": True, "i1": False, "i2": True}
    loose = posture(**{"trade.equity_clamp_nav_pct": 0.3})
    result = replay_window(gate.ledger, loose, since_ms=clock.now - HOUR_MS)
    assert result.decisions == 3 and result.errors == []
    assert [f.intent_id for f in result.loosened] == ["i1"] and result.tightened == []
    assert result.loosened[0].reasons_after == [] and result.loosened[0].reasons_before
    assert [g.gate for g in result.loosened[0].gates] == ["trade_gt_10pct_equity"]
    tight = posture(**{"trade.max_trade_nav_pct": 0.08})
    result = replay_window(gate.ledger, tight, since_ms=clock.now - HOUR_MS)
    assert [f.intent_id for f in result.tightened] == ["i2"]
    assert "trade_gt_max_trade_nav_pct" in [g.gate for g in result.tightened[0].gates]


def test_replay_under_the_stored_posture_flips_nothing(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    for k, notional in enumerate((300.0, 2_000.0)):
        clock.advance(10)
        gate.reserve(buy(f"i{k}", "ETHUSDT", notional, f"s{k}"))
    result = replay_window(gate.ledger, posture(), since_ms=0)
    assert result.decisions == 2 and result.flips == []


def test_recovery_stops_at_the_first_failed_step_and_resumes_there(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    KillSwitch(gate.ledger, None, KillSwitchSection(), actor="ops", clock=clock).activate(KillTrigger.MANUAL, "test")
    recovery = Recovery(gate.ledger, posture(), actor="ops", clock=clock)
    status = recovery.run()
    assert [r.step for r in status.ran] == ["assess", "review", "root_cause"]
    assert [r.passed for r in status.ran] == [True, True, False] and status.next_step == "root_cause"
    assert "root-cause note is required" in status.ran[-1].summary
    assert gate.ledger.account().trading_state is TradingState.HALTED  # nothing reactivated
    status = recovery.run(note="stale feed from the mark-price websocket")
    assert [r.step for r in status.ran] == ["root_cause", "fixes", "reactivate"]
    assert gate.ledger.account().trading_state is TradingState.REDUCING
    events = [json.loads(e.payload) for e in gate.ledger.events("recovery")]
    assert [(e["step"], e["passed"]) for e in events] == [
        ("assess", True), ("review", True), ("root_cause", False), ("root_cause", True), ("fixes", True),
        ("reactivate", True)]


def test_assessment_fails_while_positions_are_still_open(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = FlakyExchange(paper_exchange(clock))
    open_position(gate, exchange.inner, "btc")
    exchange.fail_close["BTCUSDT"] = 99
    KillSwitch(gate.ledger, exchange, KillSwitchSection(max_attempts=1), actor="ops",  # type: ignore[arg-type]
               clock=clock).activate(KillTrigger.MANUAL, "test")
    status = Recovery(gate.ledger, posture(), exchange, actor="ops", clock=clock).run(  # type: ignore[arg-type]
        note="exchange gateway errors")
    assert [(r.step, r.passed) for r in status.ran] == [("assess", False)]
    assert "the kill switch is incomplete" in status.ran[0].summary
    assert "1 ledger position(s) still open" in status.ran[0].summary


def test_reactivation_steps_up_the_size_multiplier_over_the_configured_intervals(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    KillSwitch(gate.ledger, None, KillSwitchSection(), actor="ops", clock=clock).activate(KillTrigger.MANUAL, "test")
    recovery = Recovery(gate.ledger, posture(), actor="ops", clock=clock)
    recovery.run(note="operator error, posture fixed")
    store = ControlStore(gate.ledger)
    assert store.active() is None and not store.controls().safe_mode
    assert recovery.run().ran == []  # the interval has not passed
    seen = []
    for _ in range(3):
        clock.advance(HOUR_MS)
        status = recovery.run()
        seen.append((gate.ledger.account().trading_state, store.controls().size_multiplier))
    assert seen == [(TradingState.ACTIVE, 0.25), (TradingState.ACTIVE, 0.5), (TradingState.ACTIVE, 1.0)]
    assert status.done and status.next_step is None
    assert len(gate.ledger.events("size_multiplier")) == 3
