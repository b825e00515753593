"""The documentation says what the code does: the reason table of docs/decision.md is the gate specs'."""

from __future__ import annotations

from pathlib import Path

from riskguard.gates.reason_table import with_reason_table

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_reason_table_of_the_decision_doc_is_the_one_the_gate_specs_write() -> None:
    text = (DOCS / "decision.md").read_text(encoding="utf-8")
    assert text == with_reason_table(text), (
        "docs/decision.md's reason table drifted from the gate specs: run "
        "`python -m riskguard.gates.reason_table docs/decision.md`")


def test_every_python_example_of_the_decision_doc_runs() -> None:
    text = (DOCS / "decision.md").read_text(encoding="utf-8")
    blocks = [block.split("\n", 1)[1].split("\n```", 1)[0] for block in text.split("```python")[1:]]
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/decision.md", "exec"), {})
