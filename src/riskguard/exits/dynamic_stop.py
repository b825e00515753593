"""Dynamic stop adjustment: a protective stop that follows the trade and the market, and only tightens.

Given an open position's exit plan, the best price reached since entry, the last price and the
current ATR, :func:`adjust_stop` proposes the new stop as the tightest of:

- the current stop (a stop never loosens, whatever volatility does);
- the lock ladder: once the best price has moved ``trigger_r`` R in the trade's favour, the stop
  locks ``lock_r`` R of profit (``lock_r`` 0 = break-even);
- the target lock: once take-profit target ``break_even_after_target`` (0 = the first) has filled,
  the stop locks ``break_even_offset_r`` R beyond entry (0 = break-even);
- the trailing stop, armed once the best price has moved ``chandelier_after_r`` R: ``atr_multiple``
  current ATRs (the chandelier) and/or ``trail_pct`` of the best price behind the best price,
  whichever is tighter. Its distance is multiplied by ``high_vol_tighten`` while the regime is
  HIGH_VOL and by ``reduced_size_tighten`` while the operating size multiplier is below 1 (the
  drawdown ladder or the recovery reduced size): when the market turns violent or the account is
  losing, open profits are protected more closely. A wider market (or the regime calming down)
  widens the trail, but the ratchet keeps the stop where it was: only a new extreme, a calmer ATR
  or a tightening moves it.

The stop always stays at least one tick on the safe side of the last price (a stop at or through
the price would be a market exit, which is the exit rules' call, not the adjuster's), and moves
smaller than ``min_move_ticks`` ticks are not sent (each move is a cancel + replace on the
exchange, and Binance rate-limits orders). A move comes with its replacement STOP_MARKET order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskguard.config.exits_schema import DynamicStopSection
from riskguard.exits.orders import protective_stop
from riskguard.exits.plan import ExitPlan
from riskguard.exits.rounding import ceil_to, floor_to
from riskguard.model import validation as v
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError

UNCHANGED = "unchanged"
LOCK = "lock"
"""The lock ladder in R bound the stop."""
BREAK_EVEN_TARGET = "break_even_target"
"""The lock after a take-profit target filled bound the stop."""
CHANDELIER = "chandelier"
"""The ATR trail bound the stop (no tightening applied)."""
TRAIL_PCT = "trail_pct"
"""The percentage trail bound the stop (no tightening applied)."""
HIGH_VOL = "high_vol"
"""The trail, tightened because the regime is HIGH_VOL, bound the stop."""
REDUCED_SIZE = "reduced_size"
"""The trail, tightened because the size multiplier is below 1 (and the regime is not HIGH_VOL), bound the stop."""


@dataclass(frozen=True, slots=True)
class LockStep:
    """At ``trigger_r`` R of favourable move, the stop locks ``lock_r`` R of profit."""

    trigger_r: float
    lock_r: float


@dataclass(frozen=True, slots=True)
class DynamicStopRule:
    """The posture's ``exits.dynamic_stop`` section as plain floats. ``atr_multiple`` and
    ``trail_pct`` are None when that trail is not used (both None: no trailing). Built by hand,
    the fields added after the first four default to "off" (no target lock, no percentage trail,
    no tightening); the posture's defaults come through :func:`compile_dynamic_stop_rule`."""

    lock_steps: tuple[LockStep, ...]
    atr_multiple: float | None
    chandelier_after_r: float
    min_move_ticks: int
    break_even_after_target: int | None = None
    break_even_offset_r: float = 0.0
    trail_pct: float | None = None
    high_vol_tighten: float = 1.0
    reduced_size_tighten: float = 1.0


def compile_dynamic_stop_rule(section: DynamicStopSection) -> DynamicStopRule:
    """Compile the validated ``exits.dynamic_stop`` posture section."""
    trailing = section.trailing
    return DynamicStopRule(
        lock_steps=tuple(LockStep(step.trigger_r, step.lock_r) for step in section.lock_steps),
        atr_multiple=section.atr_multiple if trailing else None,
        chandelier_after_r=section.chandelier_after_r,
        min_move_ticks=section.min_move_ticks,
        break_even_after_target=section.break_even_after_target,
        break_even_offset_r=section.break_even_offset_r,
        trail_pct=section.trail_pct if trailing else None,
        high_vol_tighten=section.high_vol_tighten,
        reduced_size_tighten=section.reduced_size_tighten,
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
    tightened_by: tuple[str, ...] = ()
    """The tightenings applied to the trail this time (``high_vol``, ``reduced_size``), bound or not."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


def _regime(value: Regime | str | None) -> Regime | None:
    if value is None or type(value) is Regime:
        return value
    try:
        return Regime(str(value).strip().upper())
    except ValueError:
        raise InputValidationError("regime", f"must be one of {[r.value for r in Regime]}", value) from None


def _size_multiplier(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0.0 < value <= 1.0:
        raise InputValidationError("size_multiplier", "must be a number in (0, 1]", value)
    return float(value)


def _targets_filled(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputValidationError("targets_filled", "must be a whole number >= 0", value)
    return value


def adjust_stop(rule: DynamicStopRule, plan: ExitPlan, current_stop: float, best_price: float,
                last_price: float, atr: float, *, symbol: str | None = None, targets_filled: int = 0,
                regime: Regime | str | None = None, size_multiplier: float = 1.0) -> StopUpdate:
    """The stop ``plan``'s position should carry now (see the module docstring).

    ``current_stop``, ``best_price`` (highest high since entry for a long, lowest low for a short)
    and ``last_price`` in USDT; ``atr`` in price units. ``targets_filled``: how many of the plan's
    take-profit targets have filled (arms the target lock). ``regime``: the market regime now
    (HIGH_VOL tightens the trail; None = not known, no tightening). ``size_multiplier``: the
    account's operating size multiplier in (0, 1] (below 1 tightens the trail). Raises
    InputValidationError naming the field for a non-positive or non-finite price or ATR, a
    negative ``targets_filled``, an unknown ``regime`` or a ``size_multiplier`` outside (0, 1].
    ``symbol`` is the exchange symbol of the replacement order (e.g. ``BTC/USDT:USDT``); default:
    the plan's symbol.
    """
    stop_now = v.positive("current_stop", current_stop)
    best = v.positive("best_price", best_price)
    last = v.positive("last_price", last_price)
    atr_now = v.positive("atr", atr)
    filled = _targets_filled(targets_filled)
    regime_now = _regime(regime)
    multiplier = _size_multiplier(size_multiplier)
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
    if rule.break_even_after_target is not None and filled > rule.break_even_after_target:
        locked = plan.entry_price + direction * rule.break_even_offset_r * r_unit
        if tighter(locked, candidate):
            candidate, reason = locked, BREAK_EVEN_TARGET
    tightened: list[str] = []
    has_trail = rule.atr_multiple is not None or rule.trail_pct is not None
    if has_trail and favourable_r >= rule.chandelier_after_r:
        scale = 1.0
        if regime_now is Regime.HIGH_VOL and rule.high_vol_tighten < 1.0:
            scale *= rule.high_vol_tighten
            tightened.append(HIGH_VOL)
        if multiplier < 1.0 and rule.reduced_size_tighten < 1.0:
            scale *= rule.reduced_size_tighten
            tightened.append(REDUCED_SIZE)
        trails = []
        if rule.atr_multiple is not None:
            trails.append((best - direction * rule.atr_multiple * atr_now * scale, CHANDELIER))
        if rule.trail_pct is not None:
            trails.append((best - direction * rule.trail_pct * best * scale, TRAIL_PCT))
        for trail, kind in trails:
            if tighter(trail, candidate):
                candidate, reason = trail, (tightened[0] if tightened else kind)

    # On the tick, rounded away from the price (never tighter than the rule asked), and at least
    # one tick on the safe side of the last price.
    candidate = floor_to(candidate, tick) if direction == 1 else ceil_to(candidate, tick)
    ceiling = last - direction * tick
    if tighter(candidate, ceiling):
        candidate = floor_to(ceiling, tick) if direction == 1 else ceil_to(ceiling, tick)
    if not tighter(candidate, stop_now) or abs(candidate - stop_now) < rule.min_move_ticks * tick * (1 - 1e-9):
        return StopUpdate(stop_now, False, UNCHANGED, favourable_r, None, tuple(tightened))
    order = protective_stop(symbol or plan.symbol, plan.side, plan.qty, candidate)
    return StopUpdate(candidate, True, reason, favourable_r, order, tuple(tightened))
