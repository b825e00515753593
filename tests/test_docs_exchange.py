"""The Python examples of docs/exchange.md run as written (offline, in a temporary directory)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "exchange.md"


def runnable_blocks() -> list[str]:
    """Every ```python block except the ones that need live Binance credentials or a running gate."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [b for b in blocks if "from_environment" not in b and "load_exchange_rules(exchange" not in b]


def test_the_paper_exchange_and_reconcile_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = runnable_blocks()
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert namespace["applied"] is not None
