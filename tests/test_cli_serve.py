"""`riskguard serve`: help with an example, refuses to start without tokens, and the CLI does not
import the web stack until the command runs (start-up stays fast without the service extra)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from riskguard.cli.app import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_riskguard_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


def test_serve_help_has_an_example_and_binds_loopback_by_default() -> None:
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example" in result.stdout and "riskguard serve" in result.stdout
    assert "127.0.0.1" in result.stdout


def test_serve_without_any_token_refuses_to_start_with_bad_input() -> None:
    result = runner.invoke(app, ["serve", "--port", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "no API token" in result.stderr


def test_serve_with_a_malformed_token_setting_refuses_to_start() -> None:
    result = runner.invoke(app, ["serve"], env={"COLUMNS": "200", "RISKGUARD_API_TOKENS": "abc:owner"})
    assert result.exit_code == 2 and "unknown scope" in result.stderr


def test_the_cli_does_not_import_the_web_stack_until_serve_runs() -> None:
    code = ("import sys, riskguard.cli.app; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'httpx') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
