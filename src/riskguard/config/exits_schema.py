"""Posture section for exit plans (bracket, take-profit ladder, trailing, break-even, time stop).

Distances are in ATRs or in R (one R = the initial stop distance). Defaults are the numbers of
REQUIREMENTS section E: stop 1.5 ATR (2.0 in high volatility, 1.0 in low volatility), regime stop
multipliers bull 0.8 / bear 1.2 / ranging 1.0 / high vol 1.5, regime take-profit multipliers
bull 1.5 / bear 0.8 / ranging 1.0 / high vol 1.2, and a ladder of 1/3 at 1R, 1/3 at 2R, rest at 3R.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from riskguard.config.core_schema import Section
from riskguard.config.field_types import NonNegativeFloat, PositiveFloat, PositiveFraction, PositiveInt
from riskguard.config.pyramiding_schema import PyramidingSection

TrailFraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
"""A trailing distance as a fraction of the price: above 0 and below 1 (a 100 % trail is no stop)."""

_FRACTION_SUM_TOLERANCE = 1e-6
"""Ladder fractions such as 1/3 + 1/3 + 1/3 are written with finite decimals in YAML."""


class LadderStep(Section):
    """One take-profit target: close ``fraction`` of the position at ``r_multiple`` R from entry."""

    r_multiple: PositiveFloat = Field(description="Target distance from entry, in R (before regime scaling).")
    fraction: PositiveFraction = Field(description="Share of the position closed at this target, 0..1.")


def _default_ladder() -> list[LadderStep]:
    return [
        LadderStep(r_multiple=1.0, fraction=1 / 3),
        LadderStep(r_multiple=2.0, fraction=1 / 3),
        LadderStep(r_multiple=3.0, fraction=1 / 3),
    ]


def _check_ladder(steps: list[LadderStep]) -> list[LadderStep]:
    if not steps:
        raise ValueError("needs at least one target")
    total = math.fsum(step.fraction for step in steps)
    if abs(total - 1.0) > _FRACTION_SUM_TOLERANCE:
        raise ValueError(f"fractions must sum to 1 (got {total:.6f})")
    r_values = [step.r_multiple for step in steps]
    if any(later <= earlier for earlier, later in itertools.pairwise(r_values)):
        raise ValueError(f"r_multiple must increase strictly from one target to the next (got {r_values})")
    return steps


class BreakEvenSection(Section):
    """Move the stop to entry (plus ``offset_r`` R in the trade's favour) once a target has filled."""

    enabled: bool = Field(True, description="Move the stop to break-even after a target fills.")
    after_target: int = Field(0, ge=0, le=20, description="Index (0 = first) of the target that triggers it.")
    offset_r: NonNegativeFloat = Field(
        0.0, description="Break-even stop beyond entry in the trade's favour, in R (covers fees).")


class TrailingSection(Section):
    """A trailing stop armed once price has moved ``activation_r`` R in the trade's favour.

    The distance is either ``distance_atr`` ATRs or ``distance_pct`` of the best price; exactly one is set.
    """

    enabled: bool = Field(False, description="Trail the stop behind the best price once activated.")
    activation_r: PositiveFloat = Field(1.0, description="Favourable move that arms the trailing stop, in R.")
    distance_atr: PositiveFloat | None = Field(1.0, description="Trailing distance, in ATRs.")
    distance_pct: PositiveFraction | None = Field(
        None, description="Trailing distance, fraction of the best price (0.01 = 1 %).")

    @model_validator(mode="after")
    def _one_distance(self) -> TrailingSection:
        if (self.distance_atr is None) == (self.distance_pct is None):
            raise ValueError("set exactly one of distance_atr and distance_pct")
        return self


class TimeStopSection(Section):
    """Close what is left after ``max_bars`` bars and/or ``max_ms`` milliseconds (first reached wins)."""

    enabled: bool = Field(False, description="Close the position after a maximum holding time.")
    max_bars: PositiveInt | None = Field(None, description="Longest holding time, bars.")
    max_ms: PositiveInt | None = Field(None, description="Longest holding time, milliseconds.")

    @model_validator(mode="after")
    def _has_limit(self) -> TimeStopSection:
        if self.enabled and self.max_bars is None and self.max_ms is None:
            raise ValueError("an enabled time stop needs max_bars or max_ms")
        return self


class VolatilityStopSection(Section):
    """Stop distance in ATRs when volatility is high or low (normal volatility: ``stop_atr_multiple``)."""

    high: PositiveFloat = Field(2.0, description="Stop distance in high volatility, ATRs.")
    low: PositiveFloat = Field(1.0, description="Stop distance in low volatility, ATRs.")
    high_vol_ratio: PositiveFloat = Field(
        1.5, description="Volatility ratio (current / 30-day average) above which volatility is high.")
    low_vol_ratio: PositiveFloat = Field(
        0.5, description="Volatility ratio (current / 30-day average) below which volatility is low.")

    @model_validator(mode="after")
    def _ordered(self) -> VolatilityStopSection:
        if self.low > self.high:
            raise ValueError("low must be <= high")
        if self.low_vol_ratio >= self.high_vol_ratio:
            raise ValueError("low_vol_ratio must be < high_vol_ratio")
        return self


class RegimeMultiplesSection(Section):
    """A multiplier per riskguard.model.Regime (trending bull / bear, ranging = CHOP, ...)."""

    bull: PositiveFloat = 1.0
    bear: PositiveFloat = 1.0
    chop: PositiveFloat = 1.0
    high_vol: PositiveFloat = 1.0
    low_vol: PositiveFloat = 1.0
    normal: PositiveFloat = 1.0


def _stop_regimes() -> RegimeMultiplesSection:
    return RegimeMultiplesSection(bull=0.8, bear=1.2, chop=1.0, high_vol=1.5)


def _tp_regimes() -> RegimeMultiplesSection:
    return RegimeMultiplesSection(bull=1.5, bear=0.8, chop=1.0, high_vol=1.2)


class LockStepSection(Section):
    """Once the trade has moved ``trigger_r`` R in its favour, lock ``lock_r`` R of profit (0 = break-even)."""

    trigger_r: PositiveFloat = Field(description="Favourable move that arms this step, in R.")
    lock_r: NonNegativeFloat = Field(description="Profit the stop locks in, in R (0 = entry).")

    @model_validator(mode="after")
    def _below_trigger(self) -> LockStepSection:
        if self.lock_r >= self.trigger_r:
            raise ValueError("lock_r must be below trigger_r (a stop at or beyond the price exits at once)")
        return self


def _default_lock_steps() -> list[LockStepSection]:
    return [LockStepSection(trigger_r=1.0, lock_r=0.0), LockStepSection(trigger_r=2.0, lock_r=1.0)]


class DynamicStopSection(Section):
    """Dynamic stop adjustment (riskguard.exits.dynamic_stop): a ratchet that only tightens, from a
    lock ladder in R, a break-even lock once a take-profit target filled, and a trailing stop behind
    the best price (ATRs and/or a fraction of the price) armed after ``chandelier_after_r`` R, whose
    distance shrinks in a HIGH_VOL regime and while the drawdown ladder or the recovery reduces size."""

    lock_steps: list[LockStepSection] = Field(
        default_factory=_default_lock_steps, description="Profit locks by favourable move, in R.")
    break_even_after_target: int | None = Field(
        None, ge=0, le=20, description="Index (0 = first) of the take-profit target whose fill locks the stop at "
        "break-even (plus break_even_offset_r); null = no lock on a target fill.")
    break_even_offset_r: NonNegativeFloat = Field(
        0.0, description="Profit the target-fill lock keeps beyond entry, in R (0 = entry; covers fees when > 0).")
    trailing: bool = Field(
        True, description="Trail the stop behind the best price once armed (by atr_multiple and/or trail_pct).")
    atr_multiple: PositiveFloat | None = Field(
        3.0, description="Trailing (chandelier) distance behind the best price, in current ATRs; null = none.")
    trail_pct: TrailFraction | None = Field(
        None, description="Trailing distance behind the best price, fraction of it (0.02 = 2 %); null = none.")
    chandelier_after_r: NonNegativeFloat = Field(
        1.0, description="Favourable move that arms the trailing stop (ATR and percent alike), in R.")
    high_vol_tighten: PositiveFraction = Field(
        0.5, description="Trailing distance multiplier while the regime is HIGH_VOL (1 = no tightening).")
    reduced_size_tighten: PositiveFraction = Field(
        0.75, description="Trailing distance multiplier while the operating size multiplier is below 1 (the "
        "drawdown ladder or the recovery reduced size; 1 = no tightening).")
    min_move_ticks: int = Field(
        1, ge=1, le=100_000, description="Smallest stop move worth a cancel + replace on the exchange, ticks.")

    @field_validator("lock_steps")
    @classmethod
    def _increasing(cls, steps: list[LockStepSection]) -> list[LockStepSection]:
        triggers = [step.trigger_r for step in steps]
        locks = [step.lock_r for step in steps]
        if any(b <= a for a, b in itertools.pairwise(triggers)) or any(b < a for a, b in itertools.pairwise(locks)):
            raise ValueError(f"trigger_r must increase and lock_r must not decrease (got {triggers}, {locks})")
        return steps

    @model_validator(mode="after")
    def _trail_distance(self) -> DynamicStopSection:
        if self.trailing and self.atr_multiple is None and self.trail_pct is None:
            raise ValueError("trailing needs a distance: set atr_multiple or trail_pct (or trailing: false)")
        return self


class ExitModeSection(Section):
    """A variation of the plan chosen by the policy layer's exit style. Unset parts keep the base plan."""

    stop_multiplier: PositiveFloat = Field(1.0, description="Scales the stop distance.")
    tp_multiplier: PositiveFloat = Field(1.0, description="Scales every target's R multiple.")
    take_profit: list[LadderStep] | None = Field(None, description="Replaces the ladder.")
    break_even: BreakEvenSection | None = Field(None, description="Replaces the break-even settings.")
    trailing: TrailingSection | None = Field(None, description="Replaces the trailing settings.")
    time_stop: TimeStopSection | None = Field(None, description="Replaces the time stop.")

    @field_validator("take_profit")
    @classmethod
    def _ladder(cls, value: list[LadderStep] | None) -> list[LadderStep] | None:
        return None if value is None else _check_ladder(value)


def _default_modes() -> dict[str, ExitModeSection]:
    return {
        "standard": ExitModeSection(),
        "tight": ExitModeSection(
            stop_multiplier=0.75,
            tp_multiplier=0.75,
            time_stop=TimeStopSection(enabled=True, max_bars=48),
        ),
        "trailing": ExitModeSection(
            take_profit=[LadderStep(r_multiple=1.0, fraction=0.5), LadderStep(r_multiple=5.0, fraction=0.5)],
            trailing=TrailingSection(enabled=True, activation_r=1.0, distance_atr=1.5),
        ),
    }


class ExitsSection(Section):
    """Exit planning: the base plan (stop, ladder, break-even, trailing, time stop) and the named
    modes the policy layer picks from. Compiled once by riskguard.exits.compile_exit_rules."""

    stop_atr_multiple: PositiveFloat = Field(
        1.5, description="Stop distance in ATRs at normal volatility, before regime multipliers.")
    stop_atr_by_volatility: VolatilityStopSection = Field(default_factory=VolatilityStopSection)
    stop_regime_multiples: RegimeMultiplesSection = Field(default_factory=_stop_regimes)
    tp_regime_multiples: RegimeMultiplesSection = Field(default_factory=_tp_regimes)
    take_profit: list[LadderStep] = Field(
        default_factory=_default_ladder,
        description="Progressive take-profit ladder (R multiples, fractions).")
    break_even: BreakEvenSection = Field(default_factory=BreakEvenSection)
    trailing: TrailingSection = Field(default_factory=TrailingSection)
    time_stop: TimeStopSection = Field(default_factory=TimeStopSection)
    pyramiding: PyramidingSection = Field(default_factory=PyramidingSection)
    dynamic_stop: DynamicStopSection = Field(default_factory=DynamicStopSection)
    default_mode: str = Field(
        "standard", min_length=1, description="Exit mode used when the policy names none.")
    modes: dict[str, ExitModeSection] = Field(
        default_factory=_default_modes, description="Exit styles the policy layer may select, by name.")

    @field_validator("take_profit")
    @classmethod
    def _ladder(cls, value: list[LadderStep]) -> list[LadderStep]:
        return _check_ladder(value)

    @field_validator("default_mode")
    @classmethod
    def _mode_name(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("modes")
    @classmethod
    def _mode_names(cls, value: dict[str, ExitModeSection]) -> dict[str, ExitModeSection]:
        if not value:
            raise ValueError("needs at least one exit mode")
        return {k.strip().lower(): v for k, v in value.items()}

    @model_validator(mode="after")
    def _coherent(self) -> ExitsSection:
        if self.default_mode not in self.modes:
            raise ValueError(f"default_mode {self.default_mode!r} is not one of modes {sorted(self.modes)}")
        vol = self.stop_atr_by_volatility
        if not vol.low <= self.stop_atr_multiple <= vol.high:
            raise ValueError("stop_atr_multiple must lie between stop_atr_by_volatility.low and .high")
        for name, mode in self.modes.items():
            ladder = mode.take_profit if mode.take_profit is not None else self.take_profit
            break_even = mode.break_even if mode.break_even is not None else self.break_even
            if break_even.enabled and break_even.after_target >= len(ladder):
                raise ValueError(
                    f"mode {name!r}: break_even.after_target {break_even.after_target} "
                    f"needs a ladder of more than {break_even.after_target} targets")
            target = self.dynamic_stop.break_even_after_target
            if target is not None and target >= len(ladder):
                raise ValueError(
                    f"mode {name!r}: dynamic_stop.break_even_after_target {target} "
                    f"needs a ladder of more than {target} targets")
        return self
