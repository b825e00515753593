"""docs/service.md's Python bot and its curl calls run against a live service and do what they say."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service_fixtures import TRADE, LiveService, running, service_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "service.md"


def block(heading: str, language: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match is not None, f"no {language} block under {heading!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    yield from running(service_settings(f"sqlite:///{tmp_path_factory.mktemp('docs') / 'ledger.db'}"))


def environment(live: LiveService) -> dict[str, str]:
    return {**os.environ, "RISKGUARD_URL": live.url, "RISKGUARD_TOKEN": TRADE}


def test_the_python_bot_reserves_fills_and_closes(live: LiveService, tmp_path: Path) -> None:
    script = tmp_path / "bot.py"
    script.write_text(block("## A bot in Python", "python"))
    done = subprocess.run([sys.executable, str(script)], env=environment(live), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "approved 300.0 USDT; position 0.005" in done.stdout
    assert "closed, realised PnL 3.0 USDT" in done.stdout


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq")
def test_the_curl_calls_reserve_fill_close_and_replay(live: LiveService, tmp_path: Path) -> None:
    done = subprocess.run(["bash", "-c", block("## The same calls with curl", "bash")], env=environment(live),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert '"veto": false' in done.stdout
    assert '"moved": true' in done.stdout and '"stop_price": 3000' in done.stdout
    assert '"replay": true' in done.stdout and '"verdict": "approved"' in done.stdout
