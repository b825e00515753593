"""``riskguard replay`` / ``calibrate`` command functions and the demo replay."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from riskguard.cli.replay_cmd import calibrate, replay, run_demo_replay

app = typer.Typer(pretty_exceptions_enable=False)
app.command()(replay)
app.command()(calibrate)
runner = CliRunner()


def test_replay_writes_the_reports_and_prints_the_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", "--synthetic", "--symbols", "BTCUSDT,ETHUSDT", "--end", "2024-02-01",
                                 "--strategy", "ema_trend", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "pass rate" in result.output and "SYNTHETIC DATA" in result.output
    for name in ("report.json", "report.html", "equity.svg", "drawdown.svg", "exposure.svg", "vetoes.svg"):
        assert (tmp_path / name).is_file()


def test_replay_json_is_the_report_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", "--synthetic", "--symbols", "BTCUSDT", "--end", "2024-01-20",
                                 "--no-ledger", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("args", [
    ["replay", "--data", "/no/such/file.feather"],
    ["replay", "--synthetic", "--strategy", "martingale"],
    ["replay", "--synthetic", "--symbols", "DOGEUSDT"],
    ["replay", "--synthetic", "--start", "yesterday-ish"],
    ["replay", "--preset", "reckless"],
    ["calibrate", "--grid", "/no/such/grid.yaml"],
])
def test_bad_input_exits_2_with_one_error_line(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("error:")


def test_demo_replay_on_the_synthetic_sample_finishes_well_within_a_minute(tmp_path: Path) -> None:
    started = time.perf_counter()
    assert run_demo_replay(None, tmp_path, json_output=True) == 0
    assert time.perf_counter() - started < 60.0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["posture"] == "moderate" and report["synthetic"] is True
    assert report["summary"]["approved"] > 0 and report["options"]["ledger"] is True


def test_demo_replay_with_missing_data_returns_2(tmp_path: Path) -> None:
    assert run_demo_replay(tmp_path / "missing", tmp_path, json_output=False) == 2


def test_replay_prints_the_summary_before_it_writes_the_report(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import riskguard.replay.report as report

    calls: list[str] = []
    real_print, real_write = report.print_summary, report.write_report
    monkeypatch.setattr(report, "print_summary", lambda *a, **k: (calls.append("summary"), real_print(*a, **k))[1])
    monkeypatch.setattr(report, "write_report", lambda *a, **k: (calls.append("report"), real_write(*a, **k))[1])
    result = runner.invoke(app, ["replay", "--synthetic", "--symbols", "BTCUSDT", "--end", "2024-01-20",
                                 "--no-ledger", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls == ["summary", "report"]


def test_replay_with_its_report_imports_neither_scipy_nor_matplotlib(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from riskguard.cli.app import app\n"
            "try:\n"
            f"    app(['replay', '--synthetic', '--symbols', 'BTCUSDT', '--end', '2024-01-20', '--no-ledger', "
            f"'--json', '--out', {str(tmp_path)!r}])\n"
            "except SystemExit:\n"
            "    pass\n"
            "print('heavy:', sorted(m for m in ('scipy', 'matplotlib') if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "heavy: []" in done.stderr
    assert (tmp_path / "report.html").is_file()
