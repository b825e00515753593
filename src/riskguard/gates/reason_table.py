"""The reason-code table of docs/decision.md, written from the gate specs (a test holds the doc to it)."""

from __future__ import annotations

from riskguard.gates.registry import GATES

BEGIN = "<!-- reason table: generated from the gate specs by riskguard.gates.reason_table; do not edit -->"
END = "<!-- end of reason table -->"


def reason_table() -> str:
    """One markdown row per gate in evaluation order: reason, size-bound, exempt when reducing,
    default severity, posture fields read, rule."""
    rows = ["| reason | size-bound | exempt when reducing | severity | posture fields read | rule |",
            "| --- | --- | --- | --- | --- | --- |"]
    for spec in GATES:
        severity = spec.severity.value + (" (a posture may change it)" if spec.may_be_soft else "")
        reads = ", ".join(f"`{path}`" for path in spec.reads) or "-"
        rows.append(f"| `{spec.reason}` | {'yes' if spec.size_bound else ''} | "
                    f"{'yes' if spec.exempt_when_reducing else ''} | {severity} | {reads} | {spec.description} |")
    return "\n".join(rows)


def with_reason_table(markdown: str) -> str:
    """``markdown`` with the text between :data:`BEGIN` and :data:`END` replaced by the table."""
    head, rest = markdown.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{reason_table()}\n{END}{tail}"


if __name__ == "__main__":  # python -m riskguard.gates.reason_table docs/decision.md
    import sys
    from pathlib import Path

    target = Path(sys.argv[1])
    target.write_text(with_reason_table(target.read_text(encoding="utf-8")), encoding="utf-8")
