"""`riskguard config`: init, validate, show, diff, explain."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskguard import preset
from riskguard.cli.app import app
from riskguard.config import config_hash, load_config

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_posture_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})


def test_init_writes_a_commented_posture_equal_to_the_preset(tmp_path: Path) -> None:
    path = tmp_path / "posture.yaml"
    result = run("config", "init", "--preset", "conservative", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# riskguard posture")
    assert config_hash(load_config(path, environ={})) == config_hash(preset("conservative"))


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "posture.yaml"
    path.write_text("keep me")
    result = run("config", "init", str(path))
    assert result.exit_code == 2
    assert "--force" in result.stderr
    assert path.read_text() == "keep me"
    assert run("config", "init", "--force", str(path)).exit_code == 0
    assert path.read_text() != "keep me"


def test_init_refuses_an_unknown_preset(tmp_path: Path) -> None:
    result = run("config", "init", "--preset", "yolo", str(tmp_path / "p.yaml"))
    assert result.exit_code == 2
    assert not (tmp_path / "p.yaml").exists()


def test_validate_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    run("config", "init", str(path))
    result = run("config", "validate", str(path))
    assert result.exit_code == 0
    assert "valid" in result.stdout and config_hash(preset("moderate")) in result.stdout


def test_validate_lists_every_problem_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    run("config", "init", str(path))
    text = path.read_text().replace("max_trade_nav_pct: 0.20", "max_trade_nav_pct: -1")
    path.write_text(text.replace("max_leverage: 4}", "max_leverage: 500}", 1))
    result = run("config", "validate", str(path))
    assert result.exit_code == 2
    assert "trade.max_trade_nav_pct" in result.stderr
    assert "symbols.BTCUSDT.max_leverage" in result.stderr


def test_validate_reports_a_missing_file() -> None:
    result = run("config", "validate", "/nonexistent/posture.yaml")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_show_prints_the_effective_posture_with_env_overrides_and_hash() -> None:
    result = run("config", "show", "--preset", "moderate", "--json",
                 env={"RISKGUARD_TRADE__MAX_TRADE_NAV_PCT": "0.18"})
    payload = json.loads(result.stdout)
    assert payload["posture"]["trade"]["max_trade_nav_pct"] == 0.18
    assert payload["config_hash"] != config_hash(preset("moderate"))


def test_show_yaml_carries_the_config_hash() -> None:
    result = run("config", "show", "preset:moderate")
    assert result.exit_code == 0
    assert f"config_hash {config_hash(preset('moderate'))}" in result.stdout
    assert "max_trade_nav_pct: 0.2" in result.stdout


def test_diff_of_identical_postures_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    run("config", "init", str(path))
    result = run("config", "diff", "preset:moderate", str(path))
    assert result.exit_code == 0
    assert "identical" in result.stdout


def test_diff_lists_changed_settings_and_exits_1() -> None:
    result = run("config", "diff", "preset:moderate", "preset:aggressive", "--json")
    assert result.exit_code == 1
    changes = {c["path"]: (c["left"], c["right"]) for c in json.loads(result.stdout)["changes"]}
    assert changes["trade.max_trade_nav_pct"][0] == 0.2
    assert "name" in changes


def test_diff_table_names_the_setting() -> None:
    result = run("config", "diff", "preset:conservative", "preset:moderate")
    assert result.exit_code == 1
    assert "trade.max_trade_nav_pct" in result.stdout


def test_explain_lists_threshold_value_and_enforcing_gate() -> None:
    result = run("config", "explain", "--preset", "moderate", "--json")
    settings = {s["path"]: s for s in json.loads(result.stdout)["settings"]}
    row = settings["trade.max_trade_nav_pct"]
    assert row["value"] == 0.2
    assert row["gate"] == "trade_gt_max_trade_nav_pct"
    assert settings["portfolio.max_open_positions"]["gate"] == "global_concurrency_exceeded"
    assert settings["symbols.SOLUSDT.max_leverage"]["value"] == 3


def test_explain_table_shows_gates() -> None:
    result = run("config", "explain", "--preset", "moderate")
    assert result.exit_code == 0
    assert "trade_gt_10pct_equity" in result.stdout


def test_explain_of_unknown_preset_is_bad_input() -> None:
    result = run("config", "explain", "--preset", "nope")
    assert result.exit_code == 2
    assert "unknown preset" in result.stderr
