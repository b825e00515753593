"""A cap that can never bind is a warning of `riskguard config validate` naming the field and the
cap that stops first; `--strict` turns it into a finding (exit 1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import posture_with
from riskguard import preset
from riskguard.cli.app import app
from riskguard.config.binding import unbindable_caps

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_posture_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


def _fields(**overrides: object) -> list[str]:
    return [w.field for w in unbindable_caps(posture_with(**overrides))]


@pytest.mark.parametrize("name", ["conservative", "moderate", "aggressive"])
def test_the_shipped_presets_have_no_cap_that_can_never_bind(name: str) -> None:
    assert unbindable_caps(preset(name)) == []


def test_a_global_position_cap_of_999_can_never_bind_section_c() -> None:
    (warning, *_) = unbindable_caps(posture_with(**{"portfolio.max_open_positions": 999,
                                                    "portfolio.max_open_positions_high_confidence": 999}))
    assert warning.field == "portfolio.max_open_positions"
    assert "at most 880 positions fit" in warning.reason and "min_notional_usdt = 5" in warning.reason


def test_a_trade_cap_above_every_symbol_cap_can_never_bind() -> None:
    (warning,) = unbindable_caps(posture_with(**{"trade.max_trade_nav_pct": 5}))
    assert warning.field == "trade.max_trade_nav_pct"
    assert "0.25" in warning.reason and "BTCUSDT" in warning.reason


def test_a_symbol_cap_above_the_gross_cap_can_never_bind() -> None:
    assert "symbols.BTCUSDT.max_nav_pct" in _fields(**{"symbols.BTCUSDT.max_nav_pct": 1.5})


def test_a_strategy_allowed_more_positions_than_symbols_can_never_bind() -> None:
    assert _fields(**{"strategies.btc_trend.max_concurrent_positions": 9}) == [
        "strategies.btc_trend.max_concurrent_positions"]


def test_a_correlation_group_looser_than_its_members_can_never_bind() -> None:
    assert _fields(**{"portfolio.correlation_groups.majors.max_nav_pct": 0.9}) == [
        "portfolio.correlation_groups.majors.max_nav_pct"]


def test_config_validate_warns_naming_the_field_and_still_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    run("config", "init", str(path))
    path.write_text(path.read_text().replace("max_trade_nav_pct: 0.20", "max_trade_nav_pct: 5"))
    result = run("config", "validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: trade.max_trade_nav_pct = 5 can never bind: ")
    assert "1 warning(s)" in result.stdout


def test_config_validate_strict_makes_a_warning_a_finding_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    run("config", "init", str(path))
    path.write_text(path.read_text().replace("max_open_positions: 4 ", "max_open_positions: 999 ")
                    .replace("max_open_positions_high_confidence: 4", "max_open_positions_high_confidence: 999"))
    result = run("config", "validate", str(path), "--strict", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["valid"] and "portfolio.max_open_positions" in [w["field"] for w in report["warnings"]]
    assert run("config", "validate", "preset:moderate", "--strict").exit_code == 0
