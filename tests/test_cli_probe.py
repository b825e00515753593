"""`riskguard probe`: one JSON object per symbol, the shipped example emits on core symbols."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskguard import preset
from riskguard.cli.app import app
from riskguard.cli.probe import probe_intent, strategy_for
from riskguard.config.limits import compile_limits
from riskguard.examples import read_example
from riskguard.model.enums import Side

runner = CliRunner()
STATE = "example:state_moderate"
SUMMARY = {"symbol", "strategy", "side", "notional", "would_emit", "reasons", "max_concurrent_positions",
           "max_notional_allowed"}


@pytest.fixture(autouse=True)
def _no_posture_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_shipped_example_state_emits_on_btc_and_refuses_adding_to_the_eth_position_below_one_r() -> None:
    result = run("probe", "--preset", "moderate", "--nav", "4400", "--state", STATE,
                 "--symbols", "BTCUSDT,ETHUSDT,SOLUSDT")
    assert result.exit_code == 0, result.output
    rows = {row["symbol"]: row for row in lines(result)}
    assert list(rows) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert rows["BTCUSDT"]["would_emit"] is True
    assert rows["BTCUSDT"]["reasons"] == []
    # eth_trend holds an ETH long 50 USDT/ETH in profit with one R of 60: adding is refused.
    assert rows["ETHUSDT"]["would_emit"] is False
    assert "pyramid_not_in_profit" in rows["ETHUSDT"]["reasons"]


def test_each_line_has_exactly_the_summary_keys() -> None:
    rows = lines(run("probe", "--state", STATE, "--symbols", "BTCUSDT,ETHUSDT"))
    assert all(set(row) == SUMMARY for row in rows)
    btc = rows[0]
    assert btc["max_concurrent_positions"] == 3
    assert btc["max_notional_allowed"] == pytest.approx(660.0)  # the equity clamp: 15 % of NAV 4,400
    assert btc["strategy"] == "btc_trend"
    assert btc["notional"] == pytest.approx(440.0)  # half the trade cap


def test_verbose_adds_nav_freshness_warnings_and_checks() -> None:
    row = lines(run("probe", "--state", STATE, "--symbols", "BTCUSDT", "--verbose"))[0]
    assert row["nav_fresh"] is True
    # The example state carries no return history, so CVaR is unknown: a visible soft warning.
    assert row["warnings"] == ["cvar_limit_exceeded"]
    assert isinstance(row["checks"], list) and row["checks"][0]["gate"] == "invalid_intent"


def test_nav_override_replaces_the_state_nav() -> None:
    row = lines(run("probe", "--state", STATE, "--nav", "2000", "--symbols", "BTCUSDT", "--verbose"))[0]
    assert row["nav"] == 2000.0
    assert row["max_notional_allowed"] == pytest.approx(300.0)  # 15 % of NAV 2,000


def test_without_state_nothing_emits_and_exit_code_is_1() -> None:
    result = run("probe", "--nav", "4400", "--symbols", "BTCUSDT")
    assert result.exit_code == 1
    row = lines(result)[0]
    assert row["would_emit"] is False
    assert "market_data_stale" in row["reasons"]


def test_stale_state_vetoes_with_nav_stale(tmp_path: Path) -> None:
    state = json.loads(read_example("state_moderate"))
    state["account"]["ts_ms"] -= 120_000
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    result = run("probe", "--state", str(path), "--symbols", "BTCUSDT", "--verbose")
    row = lines(result)[0]
    assert result.exit_code == 1
    assert row["nav_fresh"] is False
    assert "nav_stale" in row["reasons"]


def test_oversized_notional_option_is_vetoed_by_the_trade_cap() -> None:
    row = lines(run("probe", "--state", STATE, "--symbols", "BTCUSDT", "--notional", "2000"))[0]
    assert row["would_emit"] is False
    assert "trade_gt_max_trade_nav_pct" in row["reasons"]


def test_default_symbols_are_the_posture_allowed_symbols() -> None:
    rows = lines(run("probe", "--state", STATE))
    assert [r["symbol"] for r in rows] == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"]


def test_unknown_symbol_does_not_emit() -> None:
    row = lines(run("probe", "--state", STATE, "--symbols", "DOGEUSDT"))[0]
    assert row["would_emit"] is False
    assert "unknown_symbol" in row["reasons"]


def test_malformed_symbol_is_bad_input() -> None:
    result = run("probe", "--state", STATE, "--symbols", "BTC-USDT")
    assert result.exit_code == 2
    assert "--symbols" in result.stderr


def test_negative_nav_is_bad_input_naming_the_option() -> None:
    result = run("probe", "--state", STATE, "--nav", "-5")
    assert result.exit_code == 2
    assert "--nav" in result.stderr


def test_confidence_outside_unit_interval_is_bad_input() -> None:
    result = run("probe", "--state", STATE, "--confidence", "1.5")
    assert result.exit_code == 2
    assert "--confidence: must be within [0, 1]" in result.stderr


def test_table_output_shows_would_emit_per_symbol() -> None:
    result = run("probe", "--state", STATE, "--symbols", "BTCUSDT,ETHUSDT", "--table")
    assert result.exit_code == 0
    assert "BTCUSDT" in result.stdout and "true" in result.stdout


def test_probe_intent_puts_stop_at_the_posture_distance_and_target_at_2r() -> None:
    limits = compile_limits(preset("moderate"))
    intent = probe_intent("BTCUSDT", limits, 4_400.0, 60_000.0, side=Side.BUY, notional=None, leverage=2.0,
                          confidence=0.8, stop_pct=None, reward_risk=2.0)
    assert intent.stop_price == pytest.approx(58_800.0)
    assert intent.take_profit_price == pytest.approx(62_400.0)
    assert intent.notional == pytest.approx(440.0)


def test_probe_intent_for_a_short_mirrors_stop_and_target() -> None:
    limits = compile_limits(preset("moderate"))
    intent = probe_intent("ETHUSDT", limits, 4_400.0, 3_000.0, side=Side.SELL, notional=300.0, leverage=2.0,
                          confidence=0.8, stop_pct=0.01, reward_risk=3.0)
    assert intent.stop_price == pytest.approx(3_030.0)
    assert intent.take_profit_price == pytest.approx(2_910.0)


def test_strategy_is_the_one_named_after_the_symbol_else_probe() -> None:
    limits = compile_limits(preset("moderate"))
    assert strategy_for("SOLUSDT", limits) == "sol_trend"
    assert strategy_for("BNBUSDT", limits) == "probe"
