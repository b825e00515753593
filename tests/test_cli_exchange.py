"""``riskguard exchange ...`` and ``riskguard reconcile`` (paper exchange, recorded Binance answers;
sockets blocked for the whole module)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from binance_fixtures import HttpError, no_network, offline_client, recorded_body
from ledger_fixtures import buy, make_gate
from riskguard.cli.app import app
from riskguard.exchange.binance import BinanceUsdm

pytestmark = pytest.mark.usefixtures("no_network")
__all__ = ["no_network"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_riskguard_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def use_recorded_binance(monkeypatch: pytest.MonkeyPatch, routes: dict[tuple[str, str], Any]) -> None:
    def offline(*, testnet: bool = False) -> BinanceUsdm:
        return BinanceUsdm(offline_client(routes, testnet=testnet), retries=0)

    monkeypatch.setattr(BinanceUsdm, "from_environment", staticmethod(offline))


@pytest.fixture
def ledger_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    gate = make_gate(url, nav=10_000.0)
    gate.ledger.dispose()
    yield url


def test_exchange_instruments_of_the_paper_exchange_as_json() -> None:
    result = run("exchange", "instruments", "--paper", "--symbol", "btcusdt", "--json")
    assert result.exit_code == 0, result.output
    (btc,) = json.loads(result.stdout)
    assert (btc["symbol"], btc["tick_size"], btc["step_size"]) == ("BTCUSDT", 0.1, 0.001)
    assert btc["brackets"][0]["maintenance_margin_rate"] == 0.004


def test_exchange_account_table_shows_nav() -> None:
    result = run("exchange", "account", "--paper", "--paper-balance", "2500")
    assert result.exit_code == 0 and "2500" in result.stdout


def test_exchange_positions_and_orders_of_an_empty_paper_account() -> None:
    for command in ("positions", "orders"):
        result = run("exchange", command, "--paper", "--json")
        assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_paper_and_testnet_exclude_each_other() -> None:
    result = run("exchange", "account", "--paper", "--testnet")
    assert result.exit_code == 2 and "exclude" in result.output


def test_exchange_account_from_recorded_binance_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    use_recorded_binance(monkeypatch, {("GET", "/fapi/v3/account"): recorded_body("account_v3_balance.json")})
    result = run("exchange", "account", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["nav"] == 31.022612


def test_exchange_positions_from_recorded_binance_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    use_recorded_binance(monkeypatch, {("GET", "/fapi/v3/positionRisk"): recorded_body("positionRisk_v3.json")})
    result = run("exchange", "positions", "--testnet")
    assert result.exit_code == 0, result.output
    assert "BTCUSDT" in result.stdout and "64847" in result.stdout  # liquidation price


def test_an_exchange_error_is_one_line_with_the_binance_code_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = HttpError(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    use_recorded_binance(monkeypatch, {("GET", "/fapi/v3/account"): refused})
    result = run("exchange", "account")
    assert result.exit_code == 2
    assert "-2015" in result.output and "Traceback" not in result.output


def test_reconcile_in_sync_exits_0(ledger_url: str) -> None:
    result = run("reconcile", "--db-url", ledger_url, "--paper", "--paper-balance", "10000", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["in_sync"] is True


def test_reconcile_drift_exits_1_and_apply_repairs(ledger_url: str) -> None:
    gate = make_gate(ledger_url, nav=None, migrate=False)
    _, _, reservation_id = gate.reserve(buy("held", "BTCUSDT", notional=400.0))
    assert reservation_id is not None
    gate.fill(reservation_id, 0.008, 50_000.0)
    gate.ledger.dispose()
    result = run("reconcile", "--db-url", ledger_url, "--paper", "--paper-balance", "10000")
    assert result.exit_code == 1
    assert "position_missing_on_exchange" in result.stdout
    applied = run("reconcile", "--db-url", ledger_url, "--paper", "--paper-balance", "10000", "--apply", "--json")
    assert applied.exit_code == 1
    report = json.loads(applied.stdout)
    assert report["applied"] is True and report["unrepaired"] == []


def test_reconcile_with_no_ledger_is_bad_input(tmp_path: Path) -> None:
    result = run("reconcile", "--db-url", f"sqlite:///{tmp_path / 'missing.db'}", "--paper")
    assert result.exit_code == 2 and "no ledger" in result.output


@pytest.mark.parametrize("command", [["reconcile"], ["exchange"], ["exchange", "account"]], ids=" ".join)
def test_help_has_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "riskguard" in result.stdout and "Example" in result.stdout
