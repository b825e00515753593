"""Compare two postures setting by setting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.config.schema import Posture


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One setting that differs: dotted path, value in the first and in the second posture."""

    path: str
    left: Any
    right: Any


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"trade": {"max_trade_nav_pct": 0.2}} -> {"trade.max_trade_nav_pct": 0.2}."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def diff(left: Posture, right: Posture) -> list[SettingChange]:
    """Every setting whose value differs, sorted by path (missing on one side shows as None)."""
    a = flatten(left.model_dump(mode="json"))
    b = flatten(right.model_dump(mode="json"))
    return [SettingChange(p, a.get(p), b.get(p)) for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
