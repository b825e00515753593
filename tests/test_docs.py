"""The documentation lists every reason code the engine can emit."""

from __future__ import annotations

from pathlib import Path

from riskguard.gates import GATE_NAMES

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_decision_doc_lists_every_reason_code() -> None:
    text = (DOCS / "decision.md").read_text(encoding="utf-8")
    missing = [name for name in GATE_NAMES if f"`{name}`" not in text]
    assert not missing, f"docs/decision.md misses {missing}"
