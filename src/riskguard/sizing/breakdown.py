"""The explanation every sizing result carries: base, each multiplier with its reason, clamps.

Frozen slotted dataclasses (built on the hot path); ``to_dict()`` is the JSON form the engine puts
under ``detail["sizing"]`` and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One multiplier applied to the risk (or to the stop): ``value`` x, with a human ``reason``."""

    name: str
    value: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "value": self.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Clamp:
    """A bound that changed a value: ``before`` -> ``after`` because of ``limit`` (named by ``name``)."""

    name: str
    limit: float
    before: float
    after: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "limit": self.limit, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class RiskBreakdown:
    """How the risk fraction was reached: ``base`` x every adjustment, then the clamps, = ``risk_pct``.

    ``method`` is ``"atr_risk"`` (base risk % of section B) or ``"kelly"`` (fractional Kelly of
    section E). All values are fractions of NAV at risk (lost if the stop is hit).
    """

    method: str
    base: float
    adjustments: tuple[Adjustment, ...]
    clamps: tuple[Clamp, ...]
    risk_pct: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "base": self.base,
            "adjustments": [a.to_dict() for a in self.adjustments],
            "clamps": [c.to_dict() for c in self.clamps],
            "risk_pct": self.risk_pct,
        }


@dataclass(frozen=True, slots=True)
class PositionSize:
    """A sized position: risk fraction -> risk budget (USDT) -> qty at the stop distance, capped.

    ``risk_usdt`` is the loss at the stop of the emitted size (<= ``risk_budget_usdt`` once caps
    bite). ``below_min_position`` means the size fell under the posture's minimum position and
    ``qty`` / ``notional_usdt`` are 0 (the sizer never rounds a trade *up* to a minimum).
    ``stop`` is the ATR multiple used when the stop came from the ATR, else None.
    """

    risk: RiskBreakdown
    nav: float
    price: float
    stop_distance: float
    stop: Adjustment | None
    risk_budget_usdt: float
    qty: float
    notional_usdt: float
    risk_usdt: float
    clamps: tuple[Clamp, ...]
    below_min_position: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``sizing`` entry of a decision detail)."""
        return {
            **self.risk.to_dict(),
            "nav": self.nav,
            "price": self.price,
            "stop_distance": self.stop_distance,
            "stop": None if self.stop is None else self.stop.to_dict(),
            "risk_budget_usdt": self.risk_budget_usdt,
            "qty": self.qty,
            "notional_usdt": self.notional_usdt,
            "risk_usdt": self.risk_usdt,
            "position_clamps": [c.to_dict() for c in self.clamps],
            "below_min_position": self.below_min_position,
        }
