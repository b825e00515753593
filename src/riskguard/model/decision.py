"""Gate results and the decision detail.

A gate result is a plain dict (``GateCheck``): the hot path builds one per gate per decision,
and a dict literal is the cheapest immutable-enough record CPython offers that is also the
JSON form the detail carries, so no conversion step is paid per check.
"""

from __future__ import annotations

from typing import Any, TypedDict


class GateCheck(TypedDict):
    """One gate's verdict: ``observed`` vs ``threshold``; ``headroom_notional`` is the largest
    notional (USDT) of this intent the gate would pass, for size-bound gates (else None)."""

    gate: str
    passed: bool
    reason: str
    observed: Any
    threshold: Any
    headroom_notional: float | None
    severity: str
    note: str | None


Detail = dict[str, Any]
"""The JSON-serialisable decision detail (see docs/decision.md for every key)."""
