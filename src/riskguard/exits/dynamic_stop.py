"""Dynamic stop adjustment: a protective stop that follows the trade and the market, and only tightens.

Given an open position's exit plan, the best price reached since entry, the last price and the
current ATR, :func:`adjust_stop` proposes the new stop as the tightest of:

- the current stop (a stop never loosens, whatever volatility does);
- the lock ladder: once the best price has moved ``trigger_r`` R in the trade's favour, the stop
  locks ``lock_r`` R of profit (``lock_r`` 0 = break-even);
- the chandelier: ``atr_multiple`` current ATRs behind the best price, armed once the best price
  has moved ``chandelier_after_r`` R (a wider market widens the chandelier, but the ratchet keeps
  the stop where it was: only a calmer market or a new extreme tightens it).

The stop always stays at least one tick on the safe side of the last price (a stop at or through
the price would be a market exit, which is the exit rules' call, not the adjuster's), and moves
smaller than ``min_move_ticks`` ticks are not sent (each move is a cancel + replace on the
exchange, and Binance rate-limits orders). A move comes with its replacement STOP_MARKET order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.config.exits_schema import DynamicStopSection
from riskguard.exits.orders import protective_stop
from riskguard.exits.plan import ExitPlan
from riskguard.exits.rounding import ceil_to, floor_to
from riskguard.model import validation as v

UNCHANGED = "unchanged"
LOCK = "lock"
CHANDELIER = "chandelier"


@dataclass(frozen=True, slots=True)
class LockStep:
    """At ``trigger_r`` R of favourable move, the stop locks ``lock_r`` R of profit."""

    trigger_r: float
    lock_r: float


@dataclass(frozen=True, slots=True)
class DynamicStopRule:
    """The posture's ``exits.dynamic_stop`` section as plain floats."""

    lock_steps: tuple[LockStep, ...]
    atr_multiple: float
    chandelier_after_r: float
    min_move_ticks: int


def compile_dynamic_stop_rule(section: DynamicStopSection) -> DynamicStopRule:
    """Compile the validated ``exits.dynamic_stop`` posture section."""
    return DynamicStopRule(
        lock_steps=tuple(LockStep(step.trigger_r, step.lock_r) for step in section.lock_steps),
        atr_multiple=section.atr_multiple,
        chandelier_after_r=section.chandelier_after_r,
        min_move_ticks=section.min_move_ticks,
    )


@dataclass(frozen=True, slots=True)
class StopUpdate:
    """The adjuster's answer: the stop to hold (USDT, on the tick), whether it moved, which rule
    bound it, and the replacement order when it moved (ccxt ``create_order`` keyword arguments)."""

    stop_price: float
    moved: bool
    reason: str
    favourable_r: float
    order: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


def adjust_stop(rule: DynamicStopRule, plan: ExitPlan, current_stop: float, best_price: float,
                last_price: float, atr: float, *, symbol: str | None = None) -> StopUpdate:
    """The stop ``plan``'s position should carry now (see the module docstring).

    ``current_stop``, ``best_price`` (highest high since entry for a long, lowest low for a short)
    and ``last_price`` in USDT; ``atr`` in price units. Raises InputValidationError naming the field
    for a non-positive or non-finite input. ``symbol`` is the exchange symbol of the replacement
    order (e.g. ``BTC/USDT:USDT``); default: the plan's symbol.
    """
    stop_now = v.positive("current_stop", current_stop)
    best = v.positive("best_price", best_price)
    last = v.positive("last_price", last_price)
    atr_now = v.positive("atr", atr)
    direction = plan.direction
    tick = plan.tick_size
    r_unit = plan.risk_per_unit
    favourable_r = max(0.0, (best - plan.entry_price) * direction / r_unit)

    def tighter(a: float, b: float) -> bool:
        return (a - b) * direction > 0

    candidate, reason = stop_now, UNCHANGED
    for step in rule.lock_steps:
        if favourable_r >= step.trigger_r:
            locked = plan.entry_price + direction * step.lock_r * r_unit
            if tighter(locked, candidate):
                candidate, reason = locked, LOCK
    if favourable_r >= rule.chandelier_after_r:
        chandelier = best - direction * rule.atr_multiple * atr_now
        if tighter(chandelier, candidate):
            candidate, reason = chandelier, CHANDELIER

    # On the tick, rounded away from the price (never tighter than the rule asked), and at least
    # one tick on the safe side of the last price.
    candidate = floor_to(candidate, tick) if direction == 1 else ceil_to(candidate, tick)
    ceiling = last - direction * tick
    if tighter(candidate, ceiling):
        candidate = floor_to(ceiling, tick) if direction == 1 else ceil_to(ceiling, tick)
    if not tighter(candidate, stop_now) or abs(candidate - stop_now) < rule.min_move_ticks * tick * (1 - 1e-9):
        return StopUpdate(stop_now, False, UNCHANGED, favourable_r, None)
    order = protective_stop(symbol or plan.symbol, plan.side, plan.qty, candidate)
    return StopUpdate(candidate, True, reason, favourable_r, order)
