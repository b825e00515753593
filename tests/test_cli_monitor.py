"""``riskguard monitor``, ``killswitch``, ``recover`` and ``decisions replay --posture`` on a real SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ledger_fixtures import Clock, buy, make_gate, posture
from monitor_fixtures import open_position
from riskguard.cli.app import app
from riskguard.ledger import Ledger
from riskguard.model.enums import TradingState

runner = CliRunner()


def ledger_url(tmp_path: Path, positions: bool = True) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = Clock()
    gate = make_gate(url, clock)
    if positions:
        open_position(gate, None, "held", "BTCUSDT")
    gate.ledger.dispose()
    return url


def test_killswitch_activate_without_an_exchange_halts_and_says_nothing_was_closed(tmp_path: Path) -> None:
    url = ledger_url(tmp_path)
    result = runner.invoke(app, ["killswitch", "activate", "--reason", "runaway bot", "--db-url", url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "no_exchange" and report["closed"] == []
    assert any("nothing could be cancelled or closed" in note for note in report["notes"])
    assert Ledger(url).account().trading_state is TradingState.HALTED


def test_killswitch_status_json_gives_active_trigger_reason_actor_time_and_outcome(tmp_path: Path) -> None:
    url = ledger_url(tmp_path)
    runner.invoke(app, ["killswitch", "activate", "--reason", "regulator", "--trigger", "regulatory",
                        "--actor", "alice", "--db-url", url])
    result = runner.invoke(app, ["killswitch", "status", "--db-url", url, "--json"])
    assert result.exit_code == 1  # active is a finding
    status = json.loads(result.stdout)
    assert status["active"] is True and status["trigger"] == "regulatory" and status["actor"] == "alice"
    assert status["reason"] == "regulator" and status["ts_ms"] > 0 and "notes" in status["outcome"]
    released = runner.invoke(app, ["killswitch", "release", "--reason", "cleared", "--db-url", url, "--json"])
    assert released.exit_code == 0, released.output
    assert runner.invoke(app, ["killswitch", "status", "--db-url", url]).exit_code == 0


def test_killswitch_rejects_an_unknown_trigger_and_a_release_with_nothing_active(tmp_path: Path) -> None:
    url = ledger_url(tmp_path)
    bad = runner.invoke(app, ["killswitch", "activate", "--reason", "x", "--trigger", "boredom", "--db-url", url])
    assert bad.exit_code == 2 and "--trigger must be one of" in bad.output
    nothing = runner.invoke(app, ["killswitch", "release", "--reason", "x", "--db-url", url])
    assert nothing.exit_code == 2 and "no kill switch is active" in nothing.output


def test_monitor_once_json_prints_every_metric_with_unit_and_time(tmp_path: Path) -> None:
    url = ledger_url(tmp_path)
    result = runner.invoke(app, ["monitor", "--once", "--json", "--db-url", url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    metrics = data["metrics"]["metrics"]
    assert metrics["open_positions"]["value"] == 1.0
    assert {"exposure_total", "drawdown_daily", "drawdown_weekly", "drawdown_monthly", "risk_consumed",
            "correlation_risk", "var_95", "cvar", "margin_usage", "liquidation_distance_min"} <= set(metrics)
    assert all(m["unit"] and m["ts_ms"] == data["ts_ms"] for m in metrics.values())


def test_monitor_once_renders_a_table(tmp_path: Path) -> None:
    url = ledger_url(tmp_path)
    result = runner.invoke(app, ["monitor", "--once", "--db-url", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Risk monitor" in result.output and "risk_consumed" in result.output


def test_recover_stops_at_the_root_cause_without_a_note_then_proceeds_with_one(tmp_path: Path) -> None:
    url = ledger_url(tmp_path, positions=False)
    runner.invoke(app, ["killswitch", "activate", "--reason", "test", "--db-url", url])
    first = runner.invoke(app, ["recover", "--db-url", url, "--json"])
    assert first.exit_code == 1
    assert [(r["step"], r["passed"]) for r in json.loads(first.stdout)["ran"]] == [
        ("assess", True), ("review", True), ("root_cause", False)]
    second = runner.invoke(app, ["recover", "--db-url", url, "--note", "bad posture pushed", "--json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["next_step"] == "reactivate"
    assert Ledger(url).account().trading_state is TradingState.REDUCING


def posture_file(tmp_path: Path, name: str, max_trade_nav_pct: float) -> Path:
    """The tests' ledger posture with another trade.max_trade_nav_pct, as a JSON file."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(posture(**{"trade.max_trade_nav_pct": max_trade_nav_pct}).model_dump(mode="json")))
    return path


def test_decisions_replay_under_another_posture_lists_the_flips(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = Clock()
    gate = make_gate(url, clock)
    gate.reserve(buy("small", "BTCUSDT", 200.0, "s1"))
    clock.advance(10)
    gate.reserve(buy("mid", "ETHUSDT", 500.0, "s2"))
    gate.ledger.dispose()
    same = runner.invoke(app, ["decisions", "replay", "--posture", str(posture_file(tmp_path, "same", 0.2)),
                               "--since", "1500d", "--db-url", url, "--json"])
    assert same.exit_code == 0 and json.loads(same.stdout)["decisions"] == 2, same.output
    posture_file(tmp_path, "tight", 0.08)
    result = runner.invoke(app, ["decisions", "replay", "--posture", str(tmp_path / "tight.json"), "--since",
                                 "1500d", "--db-url", url, "--json"])
    assert result.exit_code == 1, result.output
    flips = json.loads(result.stdout)
    assert [f["intent_id"] for f in flips["flips"]] == ["mid"] and flips["approved_to_vetoed"] == 1
    bad = runner.invoke(app, ["decisions", "replay", "--posture", "preset:moderate", "--since", "yesterday",
                              "--db-url", url])
    assert bad.exit_code == 2 and "--since" in bad.output
