"""Pyramiding: when, and by how much, a strategy may add to a winning position.

A position is a list of legs (the first entry, then each add). One R is the first leg's stop
distance (price units), fixed for the life of the position, and the position's *initial risk* is
the first leg's loss at its stop (USDT). The rule is the posture's (riskguard.config.limits.PyramidRule,
the same the engine's ``pyramid_*`` gates enforce on every add intent). An add is allowed only when:

1. fewer than ``max_adds`` adds were made;
2. the whole position's unrealised profit at the add's price is at least ``min_profit_r`` times
   its initial risk (adds step up behind a winner, never average down);
3. price has moved at least ``min_add_distance_r`` R beyond the last leg's fill, and (when the
   time is given) ``min_add_interval_ms`` passed since it;
4. the add is at most ``size_ratio`` of the last leg's quantity (each layer smaller than the one
   below it);
5. after the add, the loss of the whole position at its stop is at most ``max_combined_risk_r``
   times the initial risk (and at most ``max_loss_usdt`` when given: the per-trade max loss). The
   stop of the combined position is raised as far as needed, but never closer to the add's price
   than one R (a stop inside the noise would be hit at once).

:func:`plan_add` answers with the largest quantity that satisfies every rule, the stop the
combined position must carry, and the replacement stop order; rules 1 to 3 are refusals, rules
4 and 5 bound the size. The engine still decides the add as an order intent (the pyramid gates,
notional, leverage, exposure, total risk at the new stop): a plan never bypasses a cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskguard.config.limits import PyramidRule, compile_pyramid_rule
from riskguard.exits.orders import protective_stop
from riskguard.exits.rounding import ceil_to, floor_to
from riskguard.model import validation as v
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules
from riskguard.model.position import parse_position_side

__all__ = ["AddPlan", "Leg", "PyramidPosition", "PyramidRule", "compile_pyramid_rule", "plan_add"]

MAX_ADDS_REACHED = "max_adds_reached"
NOT_IN_PROFIT = "not_far_enough_in_profit"
TOO_CLOSE = "too_close_to_last_leg"
TOO_SOON = "too_soon_after_last_leg"
NO_ROOM_FOR_RISK = "combined_risk_exceeds_initial"
BELOW_MIN_QTY = "add_below_min_qty"


@dataclass(frozen=True, slots=True)
class Leg:
    """One fill of the position: ``qty`` base units at ``price`` USDT, at ``ts_ms`` (epoch ms, 0 = unknown)."""

    qty: float
    price: float
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class PyramidPosition:
    """An open position as legs, oldest first, with its current stop (USDT) and its one R (price units)."""

    symbol: str
    side: PositionSide
    legs: tuple[Leg, ...]
    stop_price: float
    r_unit: float

    @classmethod
    def opened(cls, symbol: str, side: PositionSide | str, qty: float, entry_price: float,
               stop_price: float, ts_ms: int = 0) -> PyramidPosition:
        """A fresh position of one leg; one R = ``|entry_price - stop_price|``. Raises
        InputValidationError naming the field for a stop on the wrong side of entry or at it."""
        position_side = parse_position_side("side", side)
        entry = v.positive("entry_price", entry_price)
        stop = v.positive("stop_price", stop_price)
        direction = 1 if position_side is PositionSide.LONG else -1
        if (entry - stop) * direction <= 0:
            raise InputValidationError("stop_price", "must lie on the losing side of the entry price", stop_price)
        return cls(v.symbol("symbol", symbol), position_side, (Leg(v.positive("qty", qty), entry, ts_ms),), stop,
                   abs(entry - stop))

    @property
    def direction(self) -> int:
        """+1 long, -1 short."""
        return 1 if self.side is PositionSide.LONG else -1

    @property
    def qty(self) -> float:
        """Total quantity, base units."""
        return math.fsum(leg.qty for leg in self.legs)

    @property
    def average_entry(self) -> float:
        """Quantity-weighted entry price, USDT."""
        return math.fsum(leg.qty * leg.price for leg in self.legs) / self.qty

    @property
    def initial_risk_usdt(self) -> float:
        """The first leg's loss at one R, USDT: the budget every later add is measured against."""
        return self.legs[0].qty * self.r_unit

    def risk_at(self, stop_price: float) -> float:
        """Loss of the whole position if stopped at ``stop_price``, USDT (negative = locked-in profit)."""
        return (self.average_entry - stop_price) * self.direction * self.qty

    def with_add(self, qty: float, price: float, stop_price: float, ts_ms: int = 0) -> PyramidPosition:
        """The position after an add of ``qty`` at ``price`` (at ``ts_ms``) with the combined stop ``stop_price``."""
        return PyramidPosition(self.symbol, self.side, (*self.legs, Leg(qty, price, ts_ms)), stop_price, self.r_unit)


@dataclass(frozen=True, slots=True)
class AddPlan:
    """The answer to "may I add, and how much": ``allowed`` with ``max_qty`` > 0 (base units, on
    the step grid) and the combined position's ``stop_price`` (USDT, on the tick), or a refusal
    with ``reason``. ``risk_usdt`` is the combined loss at that stop (at ``max_qty``)."""

    allowed: bool
    reason: str | None
    max_qty: float
    stop_price: float
    average_entry: float
    risk_usdt: float
    profit_r: float
    stop_order: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


def _required_stop(position: PyramidPosition, add_qty: float, price: float, budget: float) -> float:
    """The loosest stop (USDT, unrounded) at which the combined position loses at most ``budget``."""
    total = position.qty + add_qty
    average = (position.average_entry * position.qty + price * add_qty) / total
    return average - position.direction * budget / total


def plan_add(rule: PyramidRule, instrument: InstrumentRules, position: PyramidPosition, price: float,
             qty: float | None = None, *, symbol: str | None = None, now_ms: int | None = None,
             max_loss_usdt: float | None = None) -> AddPlan:
    """Plan an add to ``position`` at ``price`` (USDT): the largest allowed quantity, at most
    ``qty`` when given (base units), and the stop the combined position must carry.

    ``symbol`` is the exchange symbol of the replacement stop order (e.g. ``BTC/USDT:USDT``);
    default: the position's symbol. ``now_ms`` (epoch ms) checks the time since the last leg;
    ``max_loss_usdt`` (the per-trade max loss, trade.max_loss_nav_pct x NAV) caps the combined
    risk further. Raises InputValidationError naming the field for a non-positive price or quantity.
    """
    add_price = v.positive("price", price)
    wanted = math.inf if qty is None else v.positive("qty", qty)
    direction = position.direction
    tick = instrument.tick_size
    last = position.legs[-1]
    profit_r = position.risk_at(add_price) * -1.0 / position.initial_risk_usdt
    distance_r = (add_price - last.price) * direction / position.r_unit

    def refuse(reason: str) -> AddPlan:
        return AddPlan(False, reason, 0.0, position.stop_price, position.average_entry,
                       position.risk_at(position.stop_price), profit_r, None)

    if len(position.legs) - 1 >= rule.max_adds:
        return refuse(MAX_ADDS_REACHED)
    if profit_r < rule.min_profit_r:
        return refuse(NOT_IN_PROFIT)
    if distance_r < rule.min_add_distance_r:
        return refuse(TOO_CLOSE)
    if now_ms is not None and now_ms - last.ts_ms < rule.min_add_interval_ms:
        return refuse(TOO_SOON)

    budget = rule.max_combined_risk_r * position.initial_risk_usdt
    if max_loss_usdt is not None and v.positive("max_loss_usdt", max_loss_usdt) < budget:
        budget = max_loss_usdt
    # The tightest stop the add may carry: one R from its own price, rounded away from the price.
    tightest = add_price - direction * position.r_unit
    tightest = floor_to(tightest, tick) if direction == 1 else ceil_to(tightest, tick)
    # Risk at the tightest stop grows linearly with the add: solve held + q * (price - stop) <= budget.
    held_risk = position.risk_at(tightest)
    per_unit = (add_price - tightest) * direction
    by_risk = (budget - held_risk) / per_unit
    by_ratio = rule.size_ratio * last.qty
    candidate = instrument.floor_qty(max(0.0, min(wanted, by_ratio, by_risk, instrument.max_qty)))
    if candidate <= 0.0 or by_risk <= 0.0:
        return refuse(NO_ROOM_FOR_RISK if by_risk <= 0.0 else BELOW_MIN_QTY)
    if candidate < instrument.min_qty:
        return refuse(BELOW_MIN_QTY)

    raw_stop = _required_stop(position, candidate, add_price, budget)
    # Round the stop toward the position's favour (never more risk than the budget; the add was
    # bounded so that it lies no closer than one R, up to a rounding hair), then keep the current
    # stop when it is already tighter: a stop only ratchets.
    stop = ceil_to(raw_stop, tick) if direction == 1 else floor_to(raw_stop, tick)
    if (stop - tightest) * direction > 0:
        stop = tightest
    stop = max(stop, position.stop_price) if direction == 1 else min(stop, position.stop_price)
    after = position.with_add(candidate, add_price, stop)
    risk = after.risk_at(stop)
    order = protective_stop(symbol or position.symbol, position.side, after.qty, stop)
    return AddPlan(True, None, candidate, stop, after.average_entry, risk, profit_r, order)
