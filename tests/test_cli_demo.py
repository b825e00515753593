"""`riskguard demo` and its reusable step list: every verdict kind with the expected reasons."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskguard import preset
from riskguard.cli.app import app
from riskguard.cli.demo_steps import DEMO_STEPS, DemoResult, run_demo

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_posture_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def results() -> list[DemoResult]:
    return run_demo(preset("moderate"))[0]


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


def by_step(results: list[DemoResult]) -> dict[int, DemoResult]:
    return {r.number: r for r in results}


def test_reasonable_btc_and_eth_entries_are_approved(results: list[DemoResult]) -> None:
    steps = by_step(results)
    assert (steps[1].detail["symbol"], steps[1].verdict) == ("BTCUSDT", "APPROVED")
    assert (steps[2].detail["symbol"], steps[2].verdict) == ("ETHUSDT", "APPROVED")


def test_oversized_trade_is_vetoed_by_the_trade_cap_and_the_equity_clamp(results: list[DemoResult]) -> None:
    reasons = by_step(results)[3].detail["reasons"]
    assert "trade_gt_max_trade_nav_pct" in reasons
    assert "trade_gt_10pct_equity" in reasons


def test_excessive_leverage_is_vetoed(results: list[DemoResult]) -> None:
    assert by_step(results)[4].detail["reasons"] == ["leverage_exceeded"]


def test_burst_hits_the_cooldown(results: list[DemoResult]) -> None:
    assert "cooldown_active" in by_step(results)[5].detail["reasons"]


def test_burst_adding_to_an_entry_that_is_not_in_profit_breaks_the_pyramiding_rules(
        results: list[DemoResult]) -> None:
    reasons = by_step(results)[5].detail["reasons"]
    assert {"pyramid_not_in_profit", "pyramid_add_too_close", "pyramid_add_too_soon"} <= set(reasons)


def test_resize_variant_shrinks_the_oversized_trade(results: list[DemoResult]) -> None:
    step = by_step(results)[6]
    assert step.verdict == "RESIZED"
    assert step.detail["clamped_by"] is not None
    sized, allowed = step.detail["sized"]["notional"], step.detail["max_notional_allowed"]
    assert sized <= allowed < step.detail["requested"]["notional"]
    assert step.detail["posture"] == "moderate-resize"


def test_global_cap_of_four_stops_a_fifth_position(results: list[DemoResult]) -> None:
    steps = by_step(results)
    assert steps[7].verdict == "APPROVED"
    assert steps[8].detail["open_positions"] == 4
    assert steps[8].detail["reasons"] == ["global_concurrency_exceeded"]


def test_nav_drop_vetoes_a_previously_approved_trade(results: list[DemoResult]) -> None:
    steps = by_step(results)
    assert steps[9].step.intent.notional == steps[2].step.intent.notional
    assert steps[9].detail["nav"] < steps[2].detail["nav"]
    assert steps[9].detail["reasons"] == ["trade_gt_10pct_equity"]  # 640 USDT > 15 % of 3,900 = 585


def test_stale_nav_vetoes_with_nav_fresh_false(results: list[DemoResult]) -> None:
    detail = by_step(results)[11].detail
    assert detail["reasons"] == ["nav_stale"]
    assert detail["nav_fresh"] is False


def test_reducing_order_passes_while_halted_and_new_risk_does_not(results: list[DemoResult]) -> None:
    steps = by_step(results)
    assert steps[12].detail["trading_state"] == "HALTED"
    assert steps[12].verdict == "APPROVED" and steps[12].detail["reducing"] is True
    assert steps[13].detail["reasons"] == ["trading_halted"]


def test_every_step_produces_one_result(results: list[DemoResult]) -> None:
    assert [r.number for r in results] == list(range(1, len(DEMO_STEPS) + 1))


def test_demo_is_deterministic() -> None:
    first = [(r.verdict, r.detail["reasons"], r.detail["sized"]) for r in run_demo(preset("moderate"))[0]]
    second = [(r.verdict, r.detail["reasons"], r.detail["sized"]) for r in run_demo(preset("moderate"))[0]]
    assert first == second


def test_demo_command_prints_approved_resized_and_veto_rows_with_reasons() -> None:
    started = time.perf_counter()
    result = run("demo", "--walkthrough")
    assert time.perf_counter() - started < 2.0
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("APPROVED", "RESIZED", "VETO", "trade_gt_max_trade_nav_pct", "leverage_exceeded",
                 "cooldown_active", "global_concurrency_exceeded", "nav_stale", "trading_halted", "clamped_by"):
        assert text in out, text
    assert "config_hash" in out and "moderate" in out


def test_demo_json_is_the_list_of_decisions() -> None:
    payload = json.loads(run("demo", "--walkthrough", "--json").stdout)
    assert len(payload) == len(DEMO_STEPS)
    assert {p["verdict"] for p in payload} == {"APPROVED", "RESIZED", "VETO"}
    assert payload[0]["decision"]["config_hash"]


def test_demo_without_walkthrough_replays_the_synthetic_sample_and_writes_the_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").is_file() and (tmp_path / "report.json").is_file()
    assert "SYNTHETIC" in (tmp_path / "report.html").read_text(encoding="utf-8")
