"""Fraction of NAV -> executable order quantity under the exchange's rules.

Caps are applied in notional (USDT), then the quantity is floored to the step size so that
rounding can never push a size above a cap (``floor_to_step`` is ``riskguard.model.rounding``'s,
re-exported here); the result says whether what is left is executable
(min qty, min notional) and which caps bound it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskguard.model.instrument import InstrumentRules
from riskguard.model.rounding import floor_to_step
from riskguard.sizing._checks import non_negative, positive

__all__ = ["QtyResult", "exchange_leverage_notional_cap", "floor_to_step", "fraction_to_qty"]


def exchange_leverage_notional_cap(rules: InstrumentRules, leverage: float) -> float:
    """Largest notional (USDT) the exchange accepts at ``leverage``: just below the cap of the last
    leverage bracket that still allows it (caps are exclusive: a notional at the cap is in the next
    bracket); 0.0 if none does."""
    if not rules.brackets:
        return math.inf if leverage <= rules.max_leverage else 0.0
    cap = 0.0
    for bracket in rules.brackets:
        if bracket.max_leverage >= leverage:
            cap = bracket.notional_cap
    return math.nextafter(cap, 0.0)


@dataclass(frozen=True, slots=True)
class QtyResult:
    """An executable quantity and what shaped it.

    ``qty`` (contracts) and ``notional_usdt`` are 0 when ``executable`` is False; ``rounded_qty``
    keeps the floored quantity for diagnostics. ``capped_by`` names every cap below the target.
    ``margin_usdt`` = notional / leverage.
    """

    qty: float
    notional_usdt: float
    margin_usdt: float
    leverage: float
    target_notional_usdt: float
    cap_notional_usdt: float
    rounded_qty: float
    executable: bool
    below_min_qty: bool
    below_min_notional: bool
    capped_by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an infinite cap is reported as None)."""
        out = {f: getattr(self, f) for f in self.__slots__}
        out["capped_by"] = list(self.capped_by)
        if math.isinf(self.cap_notional_usdt):
            out["cap_notional_usdt"] = None
        return out


def fraction_to_qty(
    fraction: float,
    nav: float,
    price: float,
    leverage: float,
    rules: InstrumentRules,
    *,
    available_margin: float | None = None,
    max_notional: float | None = None,
) -> QtyResult:
    """Turn ``fraction`` of NAV committed as margin into an executable quantity.

    Target notional = fraction x nav x leverage (USDT), capped by ``max_notional`` (USDT),
    ``available_margin`` x leverage (USDT of free margin), the exchange's leverage brackets and
    ``rules.max_qty``; then floored to ``rules.step_size``. Not executable (qty 0) if the result
    is below ``rules.min_qty`` or ``rules.min_notional``.
    """
    f = non_negative("fraction", fraction)
    nav_ = positive("nav", nav)
    price_ = positive("price", price)
    lev = positive("leverage", leverage)
    target = f * nav_ * lev
    caps: list[tuple[str, float]] = [
        ("exchange_leverage_bracket", exchange_leverage_notional_cap(rules, lev)),
        ("max_qty", rules.max_qty * price_),
    ]
    if max_notional is not None:
        caps.append(("max_notional", non_negative("max_notional", max_notional)))
    if available_margin is not None:
        caps.append(("available_margin", non_negative("available_margin", available_margin) * lev))
    cap = math.inf
    capped_by: list[str] = []
    for name, value in caps:
        if value < target:
            capped_by.append(name)
        cap = min(cap, value)
    allowed = min(target, cap)
    qty_cap = min(allowed / price_, rules.max_qty)
    rounded = floor_to_step(qty_cap, rules.step_size)
    below_qty = rounded < rules.min_qty
    below_notional = rounded * price_ < rules.min_notional
    executable = not (below_qty or below_notional)
    qty = rounded if executable else 0.0
    notional = qty * price_
    return QtyResult(
        qty=qty,
        notional_usdt=notional,
        margin_usdt=notional / lev,
        leverage=lev,
        target_notional_usdt=target,
        cap_notional_usdt=cap,
        rounded_qty=rounded,
        executable=executable,
        below_min_qty=below_qty,
        below_min_notional=below_notional,
        capped_by=tuple(capped_by),
    )
