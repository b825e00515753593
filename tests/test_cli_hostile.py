"""Every command, fed hostile input, answers with at most one `error:` line and exit code 1 or 2:
never a traceback, never an unexpected error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskguard.cli.app import app

runner = CliRunner()
INTENT_OK = "example:intent_btc"
STATE_OK = "example:state_moderate"


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RISKGUARD_")]:
        monkeypatch.delenv(key)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Hostile files: binary, empty, a JSON list, absurd numbers, a markup-looking name, not OHLCV."""
    made = {
        "binary": tmp_path / "bin.json", "empty": tmp_path / "empty.json", "list": tmp_path / "list.json",
        "absurd": tmp_path / "absurd.json", "markup": tmp_path / "[red]x:date:.json",
        "junk_csv": tmp_path / "junk.csv", "half_ohlcv": tmp_path / "BTC_USDT_USDT-1h-futures.csv",
        "yaml": tmp_path / "bad.yaml", "dir": tmp_path / "adir",
    }
    made["binary"].write_bytes(b"\x00\xff\xfe\x80garbage")
    made["empty"].write_text("")
    made["list"].write_text("[1, 2, 3]")
    made["absurd"].write_text(json.dumps({
        "intent_id": "x", "strategy": "s", "symbol": "BTCUSDT", "side": "BUY", "notional": 10**400,
        "ts_ms": 1_767_618_000_000_000, "price": 5e-324}))
    made["markup"].write_text("{")
    made["junk_csv"].write_text("a,b\n1,2\n")
    made["half_ohlcv"].write_text("date,open\n2024-01-01,1\n")
    made["yaml"].write_text("trade: [unclosed\n")
    made["dir"].mkdir()
    return {k: str(v) for k, v in made.items()}


def _cases(f: dict[str, str], tmp: Path) -> list[list[str]]:
    db = f"sqlite:///{tmp / 'none.db'}"
    cases: list[list[str]] = []
    for ref in ("/nonexistent.json", f["binary"], f["empty"], f["list"], f["absurd"], f["markup"], f["dir"]):
        cases += [["check", "--intent", ref, "--state", STATE_OK], ["check", "--intent", INTENT_OK, "--state", ref],
                  ["probe", "--state", ref]]
    for ref in ("/nonexistent.yaml", f["yaml"], f["binary"], f["dir"], "preset:nope"):
        cases += [["check", "--posture", ref, "--intent", INTENT_OK, "--state", STATE_OK],
                  ["config", "validate", ref], ["config", "show", ref], ["config", "explain", ref],
                  ["config", "diff", ref, "preset:moderate"], ["status", "--posture", ref],
                  ["demo", "--walkthrough", "--posture", ref]]
    cases += [
        ["check", "--preset", "moderate", "--posture", "preset:moderate", "--intent", INTENT_OK, "--state", STATE_OK],
        ["probe", "--nav", "-5", "--state", STATE_OK], ["probe", "--nav", "nan", "--state", STATE_OK],
        ["probe", "--nav", "1e400", "--state", STATE_OK], ["probe", "--symbols", "[bold]X", "--state", STATE_OK],
        ["examples", ":date:"], ["examples", "[red]nope"],
        ["config", "init", "/proc/riskguard.yaml"], ["config", "init", f["dir"]],
        ["config", "init", "--preset", "[red]x", str(tmp / "p.yaml")],
        ["replay", "--data", f["junk_csv"]], ["replay", "--data", f["half_ohlcv"]], ["replay", "--data", f["binary"]],
        ["replay", "--data", "/nonexistent-dir"], ["replay", "--synthetic", "--out", "/proc/riskguard-out"],
        ["replay", "--synthetic", "--out", f["binary"]], ["replay", "--synthetic", "--start", "yesterday-ish"],
        ["replay", "--synthetic", "--strategy", "nope"], ["replay", "--signals", f["binary"], "--synthetic"],
        ["replay", "--synthetic", "--data", f["junk_csv"]],
        ["calibrate", "--grid", f["binary"], "--synthetic"], ["calibrate", "--grid", "/nonexistent.yaml"],
        ["calibrate", "--grid", "example:calibrate_grid", "--synthetic", "--out", f["binary"]],
        ["calibrate", "--grid", "example:calibrate_grid", "--synthetic", "--workers", "0"],
        ["demo", "--out", f["binary"]], ["demo", "--out", "/proc/riskguard-out"], ["demo", "--data", f["junk_csv"]],
        ["db", "state", "--db-url", db], ["db", "state", "--db-url", "not a url://x"],
        ["db", "state", "--db-url", "postgresql+psycopg://u:secret@127.0.0.1:1/x"],
        ["db", "state", "--db-url", db, "--set", "SIDEWAYS", "--reason", "r"],
        ["db", "upgrade", "--db-url", "/proc/riskguard.db"], ["db", "upgrade", "--db-url", f["binary"]],
        ["db", "repair-marks", "--db-url", db], ["db", "repair-marks", "--db-url", f["binary"]],
        ["decisions", "list", "--db-url", db], ["decisions", "show", "nope", "--db-url", db],
        ["decisions", "explain", "[red]x", "--db-url", f["binary"]], ["decisions", "replay", ":date:", "--db-url", db],
        ["--log-level", "LOUD", "demo"],
    ]
    return cases


def test_no_command_prints_a_traceback_or_an_unexpected_error_for_hostile_input(
        files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    failures = []
    for argv in _cases(files, tmp_path):
        result = runner.invoke(app, argv, env={"COLUMNS": "200"})
        text = result.stdout + result.stderr
        problems = []
        if result.exit_code not in (1, 2):
            problems.append(f"exit {result.exit_code}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            problems.append(f"raised {type(result.exception).__name__}: {result.exception}")
        if "Traceback" in text or "unexpected " in text:
            problems.append("traceback or unexpected error")
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        if result.exit_code == 2 and "Usage:" not in result.stderr and len(errors) != 1:
            problems.append(f"{len(errors)} error lines")
        if problems:
            failures.append(f"{argv}: {'; '.join(problems)}\n{text[-600:]}")
    assert not failures, "\n\n".join(failures)


def test_an_unwritable_out_is_refused_before_the_run_in_one_line(tmp_path: Path) -> None:
    existing_file = tmp_path / "report"
    existing_file.write_text("not a directory")
    for argv in (["replay", "--synthetic", "--out", str(existing_file)],
                 ["replay", "--synthetic", "--out", "/proc/riskguard-report"],
                 ["demo", "--out", str(existing_file)]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: --out: ") and len(result.stderr.splitlines()) == 1
        assert "replay" not in result.stdout  # nothing ran


def test_a_data_file_that_is_not_ohlcv_is_named_with_every_missing_column(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["replay", "--data", str(junk), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {junk}:(columns): not OHLCV: missing column(s) "
                                     "date/timestamp/time/datetime/open_time, open, high, low, close (got ['a', 'b'])")
