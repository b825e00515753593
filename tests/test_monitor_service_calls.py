"""The functions the service's GET /v1/monitor and POST /v1/killswitch call."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ledger_fixtures import Clock, db_url, make_gate, posture
from monitor_fixtures import open_position
from riskguard.ledger.errors import LedgerError
from riskguard.model.enums import TradingState
from riskguard.model.snapshots import AccountSnapshot
from riskguard.monitor.service_calls import KillSwitchRequest, kill_switch_command, monitor_view

__all__ = ["db_url"]


def test_monitor_view_reports_and_changes_nothing(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    open_position(gate, None, "btc")
    gate.mark_nav(AccountSnapshot(nav=4_100.0, ts_ms=clock.advance(60_000)))  # past every daily rung
    view = monitor_view(gate.ledger, posture(), now_ms=clock.now)
    assert view["metrics"]["metrics"]["open_positions"]["value"] == 1.0
    assert view["trigger"] == "drawdown" and view["actions"]["dry_run"] is True
    assert view["kill_switch_status"]["active"] is False and view["open_alerts"] == []
    assert gate.ledger.account().trading_state is TradingState.ACTIVE and gate.ledger.events("alert") == []


def test_kill_switch_command_activates_and_releases_with_the_callers_label(db_url: str) -> None:
    gate = make_gate(db_url)
    activated = kill_switch_command(gate.ledger, posture(), KillSwitchRequest(action="activate", reason="api"),
                                    actor="token:1a2b3c4d")
    assert activated["status"] == "no_exchange" and activated["actor"] == "token:1a2b3c4d"
    released = kill_switch_command(gate.ledger, posture(), KillSwitchRequest(action="release", reason="ok"),
                                   actor="token:1a2b3c4d")
    assert released["active"] is False and released["released_by"] == "token:1a2b3c4d"
    with pytest.raises(LedgerError, match="no kill switch is active"):
        kill_switch_command(gate.ledger, posture(), KillSwitchRequest(action="release", reason="again"), actor="x")


def test_a_kill_switch_request_names_its_bad_field() -> None:
    with pytest.raises(ValidationError, match="trigger"):
        KillSwitchRequest.model_validate({"action": "activate", "reason": "x", "trigger": "boredom"})
    with pytest.raises(ValidationError, match="reason"):
        KillSwitchRequest.model_validate({"action": "activate", "reason": ""})
