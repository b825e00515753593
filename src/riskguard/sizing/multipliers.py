"""The individual size multipliers: risk profile, confidence, volatility ratio, regime and drawdown
haircut. Each returns an ``Adjustment`` (value + reason) from the compiled ``SizingParams``;
plain-float inputs, validated at this boundary. The stop distance is the exit rules' job
(``riskguard.sizing.position.atr_stop_distance``).
"""

from __future__ import annotations

from riskguard.model.enums import Regime, RiskProfile
from riskguard.model.errors import InputValidationError
from riskguard.sizing._checks import non_negative, unit_interval
from riskguard.sizing.breakdown import Adjustment
from riskguard.sizing.params import SizingParams


def profile_adjustment(params: SizingParams, profile: RiskProfile) -> Adjustment:
    """Risk-profile multiplier (NORMAL 1.0, REDUCED 0.7, NO_NEW_TRADES 0.1 by default)."""
    try:
        return params.profiles[profile]
    except (KeyError, TypeError):
        raise InputValidationError("profile", "must be a RiskProfile", profile) from None


def confidence_adjustment(params: SizingParams, confidence: float) -> Adjustment:
    """Confidence multiplier: >= high threshold -> high; > low threshold -> mid; else low."""
    c = unit_interval("confidence", confidence)
    if c >= params.confidence_high_threshold:
        return params.confidence_high
    if c > params.confidence_low_threshold:
        return params.confidence_mid
    return params.confidence_low


def volatility_ratio_adjustment(params: SizingParams, vol_ratio: float) -> Adjustment:
    """Multiplier from the current / long-run volatility ratio (> 2 -> 0.5, > 1.5 -> 0.75, < 0.5 -> 1.25)."""
    ratio = non_negative("vol_ratio", vol_ratio)
    if ratio > params.vol_extreme_above:
        return params.vol_extreme
    if ratio > params.vol_high_above:
        return params.vol_high
    if ratio < params.vol_low_below:
        return params.vol_low
    return params.vol_normal


def regime_adjustment(params: SizingParams, regime: Regime) -> Adjustment:
    """Position-size multiplier of ``regime`` with its reason (e.g. HIGH_VOL x0.5); its stop and
    take-profit multipliers belong to the exit rules (``ExitRules.stop_regime`` / ``tp_regime``)."""
    try:
        return params.regime_adjustments[regime]
    except (KeyError, TypeError):
        raise InputValidationError("regime", "must be a Regime", regime) from None


def drawdown_haircut(params: SizingParams, drawdown: float) -> Adjustment:
    """Linear shrink: 1.0 up to the start drawdown, down to the minimum multiplier at the full one.

    ``drawdown`` is the current drawdown from the peak, fraction (0.05 = 5 %).
    """
    dd = unit_interval("drawdown", drawdown)
    if dd <= params.drawdown_start:
        return params.no_drawdown_haircut
    if dd >= params.drawdown_full:
        value = params.drawdown_min_multiplier
    else:
        progress = (dd - params.drawdown_start) / (params.drawdown_full - params.drawdown_start)
        value = 1.0 - (1.0 - params.drawdown_min_multiplier) * progress
    return Adjustment("drawdown_haircut", value, f"drawdown {dd:.2%} of peak, reducing risk")
