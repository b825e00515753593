"""`riskguard check`: verdicts, exit codes, and one clear error line for every kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskguard.cli.app import app
from riskguard.examples import read_example

runner = CliRunner()
STATE = "example:state_moderate"


@pytest.fixture(autouse=True)
def _no_posture_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def write(tmp_path: Path, name: str, payload: object) -> str:
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    return str(path)


def intent(**changes: object) -> dict[str, object]:
    data: dict[str, object] = json.loads(read_example("intent_btc"))
    data.update(changes)
    return data


def test_reasonable_btc_intent_is_approved_with_exit_code_0() -> None:
    result = run("check", "--preset", "moderate", "--state", STATE, "--intent", "example:intent_btc")
    assert result.exit_code == 0, result.output
    assert "APPROVED" in result.stdout
    assert "trade_gt_max_trade_nav_pct" in result.stdout  # the gate table lists every gate


def test_oversized_intent_is_vetoed_with_exit_code_1_and_both_size_reasons() -> None:
    result = run("check", "--preset", "moderate", "--state", STATE, "--intent", "example:intent_too_big")
    assert result.exit_code == 1
    assert "VETO" in result.stdout
    assert "reasons: trade_gt_max_trade_nav_pct, trade_gt_10pct_equity" in result.stdout


def test_json_output_is_the_full_decision_detail() -> None:
    result = run("check", "--state", STATE, "--intent", "example:intent_too_big", "--json")
    detail = json.loads(result.stdout)
    assert detail["veto"] is True
    assert detail["reasons"] == ["trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity"]
    assert detail["nav_fresh"] is True
    assert detail["max_notional_allowed"] == pytest.approx(660.0)
    assert detail["clamped_by"] == "trade_gt_10pct_equity"
    assert len(detail["checks"]) > 30
    assert detail["posture"] == "moderate"


def test_posture_file_is_used_instead_of_a_preset(tmp_path: Path) -> None:
    run("config", "init", "--preset", "moderate", str(tmp_path / "p.yaml"))
    text = (tmp_path / "p.yaml").read_text().replace("max_trade_nav_pct: 0.20", "max_trade_nav_pct: 0.10")
    (tmp_path / "p.yaml").write_text(text)
    result = run("check", "--posture", str(tmp_path / "p.yaml"), "--state", STATE, "--intent", "example:intent_btc",
                 "--json")
    assert result.exit_code == 1
    assert "trade_gt_max_trade_nav_pct" in json.loads(result.stdout)["reasons"]


def test_env_override_tightens_the_preset() -> None:
    result = runner.invoke(app, ["check", "--state", STATE, "--intent", "example:intent_btc", "--json"],
                           env={"RISKGUARD_TRADE__MAX_TRADE_NAV_PCT": "0.1"})
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reasons"] == ["trade_gt_max_trade_nav_pct"]


def test_unknown_symbol_fails_closed_as_a_veto(tmp_path: Path) -> None:
    path = write(tmp_path, "intent.json", intent(symbol="DOGEUSDT"))
    result = run("check", "--state", STATE, "--intent", path, "--json")
    assert result.exit_code == 1
    assert "unknown_symbol" in json.loads(result.stdout)["reasons"]


def test_nan_in_intent_is_bad_input_naming_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "intent.json", json.dumps(intent()).replace("600.0", "NaN"))
    result = run("check", "--state", STATE, "--intent", path)
    assert result.exit_code == 2
    assert "intent.json: notional: must be finite" in result.stderr
    assert "Traceback" not in result.output


def test_malformed_json_is_bad_input_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "state.json", '{"account": {"nav": 4400,')
    result = run("check", "--state", path, "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "state.json: invalid JSON at line 1" in result.stderr


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = run("check", "--state", str(tmp_path / "absent.json"), "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "absent.json: no such file" in result.stderr


def test_unknown_intent_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "intent.json", intent(notionl=5))
    result = run("check", "--state", STATE, "--intent", path)
    assert result.exit_code == 2
    assert "notionl: is not a field of an order intent" in result.stderr


def test_bad_state_field_is_named_with_its_position(tmp_path: Path) -> None:
    state = json.loads(read_example("state_moderate"))
    state["markets"][1]["bid"] = -3
    path = write(tmp_path, "state.json", state)
    result = run("check", "--state", path, "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "state.json: markets[1].bid: must be > 0" in result.stderr


def test_unknown_preset_is_bad_input() -> None:
    result = run("check", "--preset", "yolo", "--state", STATE, "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "unknown preset" in result.stderr


def test_bad_posture_field_is_named(tmp_path: Path) -> None:
    run("config", "init", str(tmp_path / "p.yaml"))
    text = (tmp_path / "p.yaml").read_text().replace("max_trade_nav_pct: 0.20", "max_trade_nav_pct: -1")
    (tmp_path / "p.yaml").write_text(text)
    result = run("check", "--posture", str(tmp_path / "p.yaml"), "--state", STATE, "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "trade.max_trade_nav_pct" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_preset_and_posture_together_are_refused() -> None:
    result = run("check", "--preset", "moderate", "--posture", "preset:aggressive", "--state", STATE,
                 "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "give one of them" in result.stderr


def test_unknown_example_lists_the_known_ones() -> None:
    result = run("check", "--state", "example:nope", "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "state_moderate" in result.stderr


def test_error_line_shows_bracketed_values_verbatim(tmp_path: Path) -> None:
    path = write(tmp_path, "state.json", {"markets": [["BTCUSDT"]]})
    result = run("check", "--state", path, "--intent", "example:intent_btc")
    assert result.exit_code == 2
    assert "markets[0]: must be a JSON object (got ['BTCUSDT'])" in result.stderr


def test_an_add_to_an_open_position_names_the_stop_the_position_must_carry(tmp_path: Path) -> None:
    # The example state holds an eth_trend ETH long from 2,950 (stop 2,890): 0.83 R in profit at 3,000.
    add = write(tmp_path, "add.json", {"intent_id": "eth-add", "strategy": "eth_trend", "symbol": "ETHUSDT",
                                       "side": "BUY", "notional": 120, "leverage": 3, "stop_price": 2960,
                                       "take_profit_price": 3200, "confidence": 0.8})
    result = run("check", "--preset", "moderate", "--state", STATE, "--intent", add)
    assert result.exit_code == 1, result.output
    assert "pyramid_not_in_profit" in result.stdout
    assert "the position must carry a stop at 2960" in " ".join(result.stdout.split())


@pytest.mark.parametrize(("legs", "field"), [
    ({"r_unit": -1.0, "first_qty": 0.1, "adds": 0, "last_qty": 0.1, "last_price": 2950.0,
      "last_ts_ms": 1767610800000}, "positions[0].legs.r_unit"),
    ({"r_unit": 60.0}, "positions[0].legs.first_qty"),
    ({"r_unit": 60.0, "first_qty": 0.1, "adds": "x", "last_qty": 0.1, "last_price": 2950.0,
      "last_ts_ms": 1767610800000}, "positions[0].legs.adds"),
])
def test_a_malformed_position_legs_is_refused_naming_the_field(tmp_path: Path, legs: dict[str, object],
                                                                field: str) -> None:
    state = json.loads(read_example("state_moderate"))
    state["positions"][0]["legs"] = legs
    result = run("check", "--preset", "moderate", "--state", write(tmp_path, "state.json", state),
                 "--intent", "example:intent_btc")
    assert result.exit_code == 2, result.output
    assert field in result.output
