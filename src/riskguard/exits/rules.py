"""Exit settings compiled from the posture into frozen plain data, once, for the hot path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from riskguard.config.exits_schema import (
    BreakEvenSection,
    ExitModeSection,
    ExitsSection,
    LadderStep,
    RegimeMultiplesSection,
    TimeStopSection,
    TrailingSection,
)
from riskguard.model import validation as v
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError


class VolState(StrEnum):
    """Volatility level that picks the stop distance in ATRs."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class LadderRule:
    """One take-profit target before scaling: ``fraction`` of the position at ``r_multiple`` R."""

    r_multiple: float
    fraction: float


@dataclass(frozen=True, slots=True)
class BreakEvenRule:
    """Stop to entry + ``offset_r`` R once target ``after_target`` (0-based) has filled."""

    after_target: int
    offset_r: float


@dataclass(frozen=True, slots=True)
class TrailingRule:
    """Trailing stop armed at ``activation_r`` R, ``distance_atr`` ATRs or ``distance_pct`` behind."""

    activation_r: float
    distance_atr: float | None
    distance_pct: float | None


@dataclass(frozen=True, slots=True)
class TimeStopRule:
    """Longest holding time: ``max_bars`` bars and/or ``max_ms`` milliseconds."""

    max_bars: int | None
    max_ms: int | None


@dataclass(frozen=True, slots=True)
class ModeRules:
    """An exit mode with the base settings and its overrides already merged."""

    name: str
    stop_multiplier: float
    tp_multiplier: float
    ladder: tuple[LadderRule, ...]
    break_even: BreakEvenRule | None
    trailing: TrailingRule | None
    time_stop: TimeStopRule | None


@dataclass(frozen=True, slots=True)
class ExitRules:
    """Everything the plan builder needs, as plain floats (no pydantic per call)."""

    stop_atr_normal: float
    stop_atr_high: float
    stop_atr_low: float
    high_vol_ratio: float
    low_vol_ratio: float
    stop_regime: Mapping[Regime, float]
    tp_regime: Mapping[Regime, float]
    modes: Mapping[str, ModeRules]
    default_mode: str

    def mode(self, name: str | None) -> ModeRules:
        """The named exit mode (case-insensitive); None = the default. Unknown names fail closed."""
        key = self.default_mode if name is None else name.strip().lower()
        rules = self.modes.get(key)
        if rules is None:
            raise InputValidationError("exit_mode", f"unknown exit mode; known: {sorted(self.modes)}", name)
        return rules

    def stop_atr_multiple(self, volatility: VolState) -> float:
        """Stop distance in ATRs for a volatility level (before regime and mode multipliers)."""
        if volatility is VolState.HIGH:
            return self.stop_atr_high
        if volatility is VolState.LOW:
            return self.stop_atr_low
        return self.stop_atr_normal

    def volatility_state(self, vol_ratio: float) -> VolState:
        """Classify a volatility ratio (current / 30-day average volatility, dimensionless)."""
        ratio = v.positive("vol_ratio", vol_ratio)
        if ratio > self.high_vol_ratio:
            return VolState.HIGH
        if ratio < self.low_vol_ratio:
            return VolState.LOW
        return VolState.NORMAL


def _regimes(section: RegimeMultiplesSection) -> Mapping[Regime, float]:
    return MappingProxyType({regime: float(getattr(section, regime.value.lower())) for regime in Regime})


def _ladder(steps: list[LadderStep]) -> tuple[LadderRule, ...]:
    return tuple(LadderRule(s.r_multiple, s.fraction) for s in steps)


def _break_even(section: BreakEvenSection) -> BreakEvenRule | None:
    return BreakEvenRule(section.after_target, section.offset_r) if section.enabled else None


def _trailing(section: TrailingSection) -> TrailingRule | None:
    if not section.enabled:
        return None
    return TrailingRule(section.activation_r, section.distance_atr, section.distance_pct)


def _time_stop(section: TimeStopSection) -> TimeStopRule | None:
    return TimeStopRule(section.max_bars, section.max_ms) if section.enabled else None


def _mode(name: str, mode: ExitModeSection, base: ExitsSection) -> ModeRules:
    return ModeRules(
        name=name,
        stop_multiplier=mode.stop_multiplier,
        tp_multiplier=mode.tp_multiplier,
        ladder=_ladder(mode.take_profit if mode.take_profit is not None else base.take_profit),
        break_even=_break_even(mode.break_even if mode.break_even is not None else base.break_even),
        trailing=_trailing(mode.trailing if mode.trailing is not None else base.trailing),
        time_stop=_time_stop(mode.time_stop if mode.time_stop is not None else base.time_stop),
    )


def compile_exit_rules(section: ExitsSection) -> ExitRules:
    """Compile the posture's ``exits`` section (validated by pydantic) into :class:`ExitRules`."""
    vol = section.stop_atr_by_volatility
    return ExitRules(
        stop_atr_normal=section.stop_atr_multiple,
        stop_atr_high=vol.high,
        stop_atr_low=vol.low,
        high_vol_ratio=vol.high_vol_ratio,
        low_vol_ratio=vol.low_vol_ratio,
        stop_regime=_regimes(section.stop_regime_multiples),
        tp_regime=_regimes(section.tp_regime_multiples),
        modes=MappingProxyType({name: _mode(name, m, section) for name, m in section.modes.items()}),
        default_mode=section.default_mode,
    )
