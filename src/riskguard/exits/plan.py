"""Bracket exit plans: ATR stop, take-profit ladder, break-even, trailing and time stop, long and short.

One R is the stop distance of the plan (price units). Stops and targets are rounded to the tick
toward the entry, so rounding never adds risk beyond the sized stop nor promises more reward;
the break-even stop is rounded away from a loss. Leg quantities are whole steps summing to the
position quantity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskguard.exits.orders import order_params, stop_order_params
from riskguard.exits.rounding import ceil_to, decimals_of, floor_to, split_steps, to_steps
from riskguard.exits.rules import ExitRules, VolState
from riskguard.model import validation as v
from riskguard.model.enums import PositionSide, Regime
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules
from riskguard.model.position import parse_position_side


@dataclass(frozen=True, slots=True)
class TakeProfitLeg:
    """One target: close ``qty`` (``steps`` exchange steps) at ``price`` (``r_multiple`` R from entry)."""

    price: float
    qty: float
    steps: int
    r_multiple: float


@dataclass(frozen=True, slots=True)
class TrailingPlan:
    """Trailing stop armed at ``activation_price``; it trails the best price by ``distance`` (price
    units) or by ``distance_pct`` of the best price (exactly one is set)."""

    activation_price: float
    distance: float | None
    distance_pct: float | None

    def distance_at(self, price: float) -> float:
        """Trailing distance in price units when the best price is ``price``."""
        if self.distance is not None:
            return self.distance
        assert self.distance_pct is not None  # guaranteed by the builder
        return abs(price) * self.distance_pct


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """The exits of one position. Prices in USDT, quantities in base units, times in ms."""

    symbol: str
    side: PositionSide
    entry_price: float
    qty: float
    steps: int
    atr: float
    stop_price: float
    risk_per_unit: float
    targets: tuple[TakeProfitLeg, ...]
    break_even_after: int | None
    break_even_price: float | None
    trailing: TrailingPlan | None
    time_stop_bars: int | None
    time_stop_deadline_ms: int | None
    mode: str
    regime: Regime
    volatility: VolState
    tick_size: float
    step_size: float

    @property
    def direction(self) -> int:
        """+1 for a long, -1 for a short."""
        return 1 if self.side is PositionSide.LONG else -1

    @property
    def risk_usdt(self) -> float:
        """Loss at the initial stop, USDT (before fees and gaps)."""
        return self.risk_per_unit * self.qty

    def to_order_params(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """ccxt ``create_order`` keyword arguments (binanceusdm) for every exit order of the plan:
        the closePosition stop, one reduce-only take-profit per leg, the trailing stop if any.
        ``symbol`` is the exchange symbol (e.g. ``BTC/USDT:USDT``); default: the plan's symbol."""
        return order_params(self, symbol or self.symbol)

    def stop_order_params(self, stop_price: float, symbol: str | None = None) -> dict[str, Any]:
        """The replacement stop order when the stop moves (break-even), same form as to_order_params."""
        return stop_order_params(self, stop_price, symbol or self.symbol)


def _toward_entry(price: float, tick: float, direction: int, below_entry: bool) -> float:
    # For a long, prices below entry (the stop) round up and prices above (targets) round down.
    if below_entry == (direction == 1):
        return ceil_to(price, tick)
    return floor_to(price, tick)


def _parse_regime(value: Regime | str) -> Regime:
    if type(value) is Regime:  # already parsed (the replay's and the engine's calls): skip the round trip
        return value
    try:
        return Regime(str(value).strip().upper())
    except ValueError:
        raise InputValidationError("regime", f"must be one of {[r.value for r in Regime]}", value) from None


def _parse_volatility(value: VolState | str | None, regime: Regime) -> VolState:
    if value is None:
        return volatility_of_regime(regime)
    if type(value) is VolState:
        return value
    try:
        return VolState(str(value).strip().lower())
    except ValueError:
        known = [s.value for s in VolState]
        raise InputValidationError("volatility", f"must be one of {known}", value) from None


def volatility_of_regime(regime: Regime) -> VolState:
    """The volatility level a regime implies when the caller measured none: HIGH_VOL -> high,
    LOW_VOL -> low, every other regime -> normal."""
    if regime is Regime.HIGH_VOL:
        return VolState.HIGH
    if regime is Regime.LOW_VOL:
        return VolState.LOW
    return VolState.NORMAL


def stop_distance(
    rules: ExitRules,
    atr: float,
    *,
    regime: Regime | str = Regime.NORMAL,
    volatility: VolState | str | None = None,
    mode: str | None = None,
) -> float:
    """Stop distance before tick rounding, price units: ``atr`` × the volatility level's ATR
    multiple × the regime's stop multiplier × the mode's stop multiplier.

    Sizing needs it before the quantity exists (risk USDT / stop distance); pass the rounded
    ``abs(entry - stop_price(...))`` to the sizer so the sized risk is the risk of the plan.
    ``volatility`` None = implied by the regime (:func:`volatility_of_regime`).
    """
    regime_value = _parse_regime(regime)
    vol_state = _parse_volatility(volatility, regime_value)
    return (v.positive("atr", atr) * rules.stop_atr_multiple(vol_state) * rules.stop_regime[regime_value]
            * rules.mode(mode).stop_multiplier)


def stop_price(
    rules: ExitRules,
    instrument: InstrumentRules,
    side: PositionSide | str,
    entry_price: float,
    atr: float,
    *,
    regime: Regime | str = Regime.NORMAL,
    volatility: VolState | str | None = None,
    mode: str | None = None,
) -> float:
    """The plan's protective stop (USDT, on the tick, rounded toward entry) without building the
    whole plan; same arguments and errors as :func:`build_exit_plan`."""
    direction = 1 if parse_position_side("side", side) is PositionSide.LONG else -1
    entry = v.positive("entry_price", entry_price)
    distance = stop_distance(rules, atr, regime=regime, volatility=volatility, mode=mode)
    return _rounded_stop(entry, distance, instrument.tick_size, direction, atr)


def _rounded_stop(entry: float, distance: float, tick: float, direction: int, atr: float) -> float:
    stop = _toward_entry(entry - direction * distance, tick, direction, below_entry=True)
    if (entry - stop) * direction <= 0 or stop <= 0:
        raise InputValidationError(
            "atr", f"stop distance {distance:.10g} rounds to no distance at tick {tick}", atr)
    return stop


def build_exit_plan(
    rules: ExitRules,
    instrument: InstrumentRules,
    side: PositionSide | str,
    entry_price: float,
    qty: float,
    atr: float,
    *,
    regime: Regime | str = Regime.NORMAL,
    volatility: VolState | str | None = None,
    mode: str | None = None,
    entry_time_ms: int | None = None,
) -> ExitPlan:
    """Plan the exits of a position of ``qty`` (base units, on the step grid) entered at ``entry_price``.

    Stop distance = ``atr`` (price units) × the volatility level's ATR multiple × the regime's stop
    multiplier × the mode's stop multiplier; targets sit at ladder R × the regime's and the mode's
    take-profit multipliers; ``volatility`` None = implied by the regime (HIGH_VOL -> high:
    2.0 ATR × 1.5 = 3.0 ATR by default). ``mode`` is the policy layer's exit style (None = the
    posture default; unknown names raise). Raises InputValidationError naming the field when the plan cannot be
    placed (stop or targets within one tick, quantity off the step grid or below the minimum).
    """
    position_side = parse_position_side("side", side)
    entry = v.positive("entry_price", entry_price)
    size = v.positive("qty", qty)
    atr_value = v.positive("atr", atr)
    regime_value = _parse_regime(regime)
    vol_state = _parse_volatility(volatility, regime_value)
    deadline_base = None if entry_time_ms is None else v.timestamp_ms("entry_time_ms", entry_time_ms)
    mode_rules = rules.mode(mode)
    tick = instrument.tick_size
    direction = 1 if position_side is PositionSide.LONG else -1

    distance = stop_distance(rules, atr_value, regime=regime_value, volatility=vol_state, mode=mode)
    stop = _rounded_stop(entry, distance, tick, direction, atr)
    risk = abs(entry - stop)

    total_steps = to_steps("qty", size, instrument.step_size)
    min_steps = max(1, math.ceil(instrument.min_qty / instrument.step_size - 1e-9))
    if total_steps < min_steps:
        raise InputValidationError("qty", f"below the exchange minimum quantity {instrument.min_qty}", qty)
    tp_scale = rules.tp_regime[regime_value] * mode_rules.tp_multiplier
    leg_steps = split_steps(total_steps, tuple(step.fraction for step in mode_rules.ladder), min_steps)
    step = instrument.step_size
    qty_places = decimals_of(step)
    targets: list[TakeProfitLeg] = []
    kept_index: dict[int, int] = {}
    previous = entry
    for index, (rung, steps) in enumerate(zip(mode_rules.ladder, leg_steps, strict=True)):
        r_multiple = rung.r_multiple * tp_scale
        price = _toward_entry(entry + direction * r_multiple * risk, tick, direction, below_entry=False)
        if (price - previous) * direction <= 0:
            raise InputValidationError(
                "atr", f"target {index + 1} at {r_multiple:.4g} R collapses onto the previous price at tick "
                f"{tick}", atr)
        previous = price
        if steps == 0:
            continue
        kept_index[index] = len(targets)
        leg_qty = round(steps * step, qty_places)
        targets.append(TakeProfitLeg(price=price, qty=leg_qty, steps=steps, r_multiple=r_multiple))

    be_after: int | None = None
    be_price: float | None = None
    if mode_rules.break_even is not None:
        # A leg merged away (below min qty) fills with the next kept leg, which then triggers the move.
        trigger = next((kept_index[i] for i in sorted(kept_index) if i >= mode_rules.break_even.after_target),
                       None)
        if trigger is not None and trigger < len(targets) - 1:
            raw = entry + direction * mode_rules.break_even.offset_r * risk
            be_price = ceil_to(raw, tick) if direction == 1 else floor_to(raw, tick)
            if (targets[trigger].price - be_price) * direction <= 0:
                raise InputValidationError(
                    "break_even.offset_r", "break-even stop would sit at or beyond its triggering target",
                    mode_rules.break_even.offset_r)
            be_after = trigger

    trailing: TrailingPlan | None = None
    if mode_rules.trailing is not None:
        rule = mode_rules.trailing
        activation = _toward_entry(entry + direction * rule.activation_r * risk, tick, direction,
                                   below_entry=False)
        trail_distance = None if rule.distance_atr is None else rule.distance_atr * atr_value
        trailing = TrailingPlan(activation, trail_distance, rule.distance_pct)

    time_bars: int | None = None
    deadline: int | None = None
    if mode_rules.time_stop is not None:
        time_bars = mode_rules.time_stop.max_bars
        if mode_rules.time_stop.max_ms is not None:
            if deadline_base is None:
                raise InputValidationError("entry_time_ms", "needed by the time stop in milliseconds", None)
            deadline = deadline_base + mode_rules.time_stop.max_ms

    return ExitPlan(
        symbol=instrument.symbol,
        side=position_side,
        entry_price=entry,
        qty=round(total_steps * step, qty_places),
        steps=total_steps,
        atr=atr_value,
        stop_price=stop,
        risk_per_unit=risk,
        targets=tuple(targets),
        break_even_after=be_after,
        break_even_price=be_price,
        trailing=trailing,
        time_stop_bars=time_bars,
        time_stop_deadline_ms=deadline,
        mode=mode_rules.name,
        regime=regime_value,
        volatility=vol_state,
        tick_size=tick,
        step_size=instrument.step_size,
    )
