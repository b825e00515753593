"""riskguard status: the staged flags and each symbol's policy with its reasons."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import SHARED_DATA
from riskguard.cli.app import app

runner = CliRunner()
DATA = SHARED_DATA / "freqtrade-testdata"


def test_status_without_candles_shows_every_stage_in_shadow_and_regimes_unknown() -> None:
    result = runner.invoke(app, ["status", "--preset", "moderate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["active_stages"] == []
    assert report["policies"]["BTCUSDT"]["policy"]["regime"] is None
    assert any("regime unknown" in note for note in report["policies"]["BTCUSDT"]["policy"]["notes"])


@pytest.mark.skipif(not DATA.is_dir(), reason=f"needs the shared candles in {DATA} (set RISKGUARD_SHARED_DATA)")
def test_status_with_real_candles_labels_every_core_symbol() -> None:
    result = runner.invoke(app, ["status", "--preset", "moderate", "--data", str(DATA), "--json"])
    assert result.exit_code == 0, result.output
    policies = json.loads(result.output)["policies"]
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"):
        assert policies[symbol]["policy"]["regime"] is not None


def test_status_table_names_the_stages() -> None:
    result = runner.invoke(app, ["status", "--preset", "moderate"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "use_for_trading_gate" in result.output and "shadow" in result.output


def test_status_with_missing_data_directory_is_bad_input() -> None:
    result = runner.invoke(app, ["status", "--data", "/nonexistent/dir"])
    assert result.exit_code == 2
    assert "nonexistent" in result.output
