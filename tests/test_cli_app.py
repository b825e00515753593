"""The `riskguard` app: help texts with examples, --log-level, examples command, console script."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskguard.cli.app import app
from riskguard.examples import EXAMPLES

runner = CliRunner()
COMMANDS = (["check"], ["probe"], ["demo"], ["examples"], ["config"], ["config", "init"], ["config", "validate"],
            ["config", "show"], ["config", "diff"], ["config", "explain"])


@pytest.fixture(autouse=True)
def _no_posture_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def _restore_riskguard_logger() -> Iterator[None]:
    logger = logging.getLogger("riskguard")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_top_level_help_lists_every_command_and_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("check", "probe", "config", "demo", "examples", "--log-level"):
        assert name in result.stdout
    assert "riskguard demo" in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_has_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "riskguard" in result.stdout and "Example" in result.stdout


def test_version_option_prints_the_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("riskguard ")


def test_log_level_info_logs_each_decision_with_failing_gate_and_thresholds() -> None:
    result = run("--log-level", "INFO", "check", "--state", "example:state_moderate",
                 "--intent", "example:intent_too_big", "--json")
    assert result.exit_code == 1
    assert "VETO BTCUSDT" in result.stderr
    assert "trade_gt_max_trade_nav_pct observed=" in result.stderr
    assert json.loads(result.stdout)["veto"] is True  # logs never pollute the JSON on stdout


def test_default_log_level_is_quiet() -> None:
    result = run("check", "--state", "example:state_moderate", "--intent", "example:intent_too_big", "--json")
    assert "VETO BTCUSDT" not in result.stderr


def test_unknown_log_level_is_a_usage_error() -> None:
    assert run("--log-level", "LOUD", "demo").exit_code == 2


def test_examples_lists_every_shipped_example() -> None:
    result = run("examples")
    assert result.exit_code == 0
    for name in EXAMPLES:
        assert name in result.stdout


def test_examples_name_prints_json_that_can_be_saved_and_used(tmp_path: Path) -> None:
    result = run("examples", "intent_btc")
    path = tmp_path / "intent.json"
    path.write_text(result.stdout)
    assert json.loads(result.stdout)["symbol"] == "BTCUSDT"
    assert run("check", "--state", "example:state_moderate", "--intent", str(path)).exit_code == 0


def test_examples_unknown_name_is_bad_input() -> None:
    result = run("examples", "nope")
    assert result.exit_code == 2
    assert "no such example" in result.stderr


def test_installed_console_script_runs() -> None:
    script = shutil.which("riskguard", path=str(Path(sys.executable).parent))
    assert script is not None, "the riskguard console script is not installed next to this python"
    completed = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0
    assert "probe" in completed.stdout
