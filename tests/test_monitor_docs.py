"""docs/monitor.md: its Python example runs and prints what the page says."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "monitor.md"


def test_the_python_example_runs_and_prints_what_the_page_shows(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    assert printed.getvalue().splitlines() == ["risk consumed 0.045", "done ['BTCUSDT'] 7.38", "HALTED []"]
    assert os.path.exists(tmp_path / "monitor-example.db")


def test_the_page_lists_every_monitor_setting() -> None:
    from riskguard.config.monitor_schema import AlertsSection, KillSwitchSection, RecoverySection

    text = DOC.read_text(encoding="utf-8")
    for prefix, section in (("alerts", AlertsSection), ("kill_switch", KillSwitchSection),
                            ("recovery", RecoverySection)):
        for name in section.model_fields:
            assert f"`monitor.{prefix}.{name}`" in text or f"`{name}`" in text or f", `{name}`" in text, name
