"""Posture section for sizing (ATR risk, Kelly, volatility and regime multipliers).

Owned by the sizing layer; the core engine only reads ``base_risk_pct`` bounds through it.
Defaults are the numbers of REQUIREMENTS sections B, C and E; ``riskguard.sizing.params``
compiles this section once into plain floats for the hot path. Stop distances (ATR multiples,
regime stop and take-profit multipliers) are not here: their single home is the ``exits`` section.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from riskguard.config.core_schema import Section
from riskguard.config.field_types import Fraction, NonNegativeFloat, PositiveFloat, PositiveFraction


class ProfileAdjustmentsSection(Section):
    """Risk-profile multipliers (section B): a profile shrinks size, it never blocks by itself."""

    normal: PositiveFloat = Field(1.0, description="Multiplier for RiskProfile.NORMAL.")
    reduced: PositiveFloat = Field(0.7, description="Multiplier for RiskProfile.REDUCED.")
    no_new_trades: PositiveFloat = Field(0.1, description="Multiplier for RiskProfile.NO_NEW_TRADES.")


class ConfidenceBandsSection(Section):
    """Signal-confidence multiplier (section B): ``>= high_threshold`` -> high; ``> low_threshold``
    -> mid; otherwise (``<= low_threshold``) -> low. The low threshold is exclusive for the mid
    band because the worked "extreme" case (confidence 0.60 -> 0.016 %) takes the low multiplier."""

    high_threshold: Fraction = Field(0.85, description="Confidence at or above which `high` applies, 0..1.")
    low_threshold: Fraction = Field(0.60, description="Confidence at or below which `low` applies, 0..1.")
    high: PositiveFloat = Field(1.2, description="Multiplier for high-confidence signals.")
    mid: PositiveFloat = Field(1.0, description="Multiplier between the two thresholds.")
    low: PositiveFloat = Field(0.8, description="Multiplier for low-confidence signals.")

    @model_validator(mode="after")
    def _ordered(self) -> ConfidenceBandsSection:
        if self.low_threshold >= self.high_threshold:
            raise ValueError("low_threshold must be < high_threshold")
        return self


class KellyModeCapsSection(Section):
    """Largest Kelly fraction of capital at risk per execution mode (section E)."""

    demo: PositiveFraction = Field(0.10, description="Cap in demo mode, fraction of capital.")
    paper: PositiveFraction = Field(0.02, description="Cap in paper mode, fraction of capital.")
    live: PositiveFraction = Field(0.0025, description="Cap in live mode, fraction of capital.")


class KellySection(Section):
    """Kelly sizing (sections C and E): full Kelly x fraction / risk_aversion, clipped, then mode cap."""

    risk_aversion: PositiveFloat = Field(1.0, description="Divisor of the Kelly fraction (>= 1 shrinks).")
    fraction: PositiveFraction = Field(
        0.25, description="Fractional Kelly multiplier (0.25 = quarter Kelly).")
    min_fraction: Fraction = Field(0.0, description="Lower clip of the Kelly fraction, fraction of capital.")
    max_fraction: PositiveFraction = Field(
        0.2, description="Upper clip of the Kelly fraction, fraction of capital.")
    mode_caps: KellyModeCapsSection = Field(default_factory=KellyModeCapsSection)

    @model_validator(mode="after")
    def _ordered(self) -> KellySection:
        if self.min_fraction > self.max_fraction:
            raise ValueError("min_fraction must be <= max_fraction")
        return self


class VolatilityRatioSection(Section):
    """Size multiplier from the current / 30-day volatility ratio (section E)."""

    extreme_above: PositiveFloat = Field(2.0, description="Ratio above which `extreme_multiplier` applies.")
    extreme_multiplier: PositiveFloat = Field(0.5, description="Multiplier when the ratio > extreme_above.")
    high_above: PositiveFloat = Field(1.5, description="Ratio above which `high_multiplier` applies.")
    high_multiplier: PositiveFloat = Field(
        0.75, description="Multiplier when high_above < ratio <= extreme_above.")
    low_below: PositiveFloat = Field(0.5, description="Ratio below which `low_multiplier` applies.")
    low_multiplier: PositiveFloat = Field(1.25, description="Multiplier when the ratio < low_below.")
    short_window: int = Field(24, gt=1, le=10_000, description="Bars of the 'current' volatility.")
    long_window: int = Field(
        720, gt=2, le=100_000, description="Bars of the reference (30-day on 1h) volatility.")

    @model_validator(mode="after")
    def _ordered(self) -> VolatilityRatioSection:
        if not self.low_below < self.high_above < self.extreme_above:
            raise ValueError("bands must satisfy low_below < high_above < extreme_above")
        if self.short_window >= self.long_window:
            raise ValueError("short_window must be < long_window")
        return self


class RegimeMultipliersSection(Section):
    """How one regime scales the position size. Its stop and take-profit multipliers are
    ``exits.stop_regime_multiples`` / ``exits.tp_regime_multiples``."""

    position: PositiveFloat = Field(1.0, description="Position size multiplier.")


def _regime(position: float) -> RegimeMultipliersSection:
    return RegimeMultipliersSection(position=position)


class RegimesSection(Section):
    """Per-regime position multipliers (section E): trending bull = BULL x1.2, trending bear = BEAR
    x0.8, ranging = CHOP x0.6, high volatility = HIGH_VOL x0.5."""

    bull: RegimeMultipliersSection = Field(default_factory=lambda: _regime(1.2))
    bear: RegimeMultipliersSection = Field(default_factory=lambda: _regime(0.8))
    chop: RegimeMultipliersSection = Field(default_factory=lambda: _regime(0.6))
    high_vol: RegimeMultipliersSection = Field(default_factory=lambda: _regime(0.5))
    normal: RegimeMultipliersSection = Field(default_factory=RegimeMultipliersSection)
    low_vol: RegimeMultipliersSection = Field(default_factory=RegimeMultipliersSection)


class DrawdownHaircutSection(Section):
    """Linear size shrink with drawdown: 1.0 up to ``start_drawdown``, ``min_multiplier`` from
    ``full_drawdown`` on (defaults: warning level 2.5 %, weekly 7 % = half size)."""

    start_drawdown: Fraction = Field(
        0.025, description="Drawdown where the haircut starts, fraction of peak.")
    full_drawdown: PositiveFraction = Field(
        0.07, description="Drawdown of the full haircut, fraction of peak.")
    min_multiplier: PositiveFraction = Field(0.5, description="Size multiplier at and beyond full_drawdown.")

    @model_validator(mode="after")
    def _ordered(self) -> DrawdownHaircutSection:
        if self.start_drawdown >= self.full_drawdown:
            raise ValueError("start_drawdown must be < full_drawdown")
        return self


class StabilizerSection(Section):
    """SizingStabilizer: damp resize churn without ever holding a larger size than the target."""

    hysteresis: Fraction = Field(0.10, description="Relative change below which the size is kept, 0..1.")
    bucket: PositiveFloat = Field(0.0025, description="Grid the fraction is floored to, fraction of NAV.")
    min_interval_s: NonNegativeFloat = Field(60.0, description="Least time between two increases, seconds.")
    immediate_decrease: bool = Field(
        True, description="Shrinks bypass the interval (never hold excess risk).")

    @model_validator(mode="after")
    def _interval(self) -> StabilizerSection:
        if self.min_interval_s > 86_400 * 31:
            raise ValueError("min_interval_s must be <= 31 days")
        return self


class SizingSection(Section):
    base_risk_pct: PositiveFraction = Field(
        0.01, description="Risk per trade before multipliers, fraction of NAV.")
    min_risk_pct: PositiveFraction = Field(0.0001, description="Floor of the final risk, fraction of NAV.")
    max_risk_pct: PositiveFraction = Field(0.02, description="Ceiling of the final risk, fraction of NAV.")
    min_position_usdt: PositiveFloat = Field(5.0, description="Smallest position the sizer emits, USDT.")
    max_position_usdt: PositiveFloat = Field(100_000.0, description="Largest position the sizer emits, USDT.")
    profile_adjustments: ProfileAdjustmentsSection = Field(default_factory=ProfileAdjustmentsSection)
    confidence: ConfidenceBandsSection = Field(default_factory=ConfidenceBandsSection)
    kelly: KellySection = Field(default_factory=KellySection)
    volatility_ratio: VolatilityRatioSection = Field(default_factory=VolatilityRatioSection)
    regimes: RegimesSection = Field(default_factory=RegimesSection)
    drawdown_haircut: DrawdownHaircutSection = Field(default_factory=DrawdownHaircutSection)
    stabilizer: StabilizerSection = Field(default_factory=StabilizerSection)
