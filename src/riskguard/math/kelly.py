"""Kelly criterion: binary bets, continuous returns (mu/sigma^2), fractional and clipped.

All fractions are of capital (NAV). For a binary bet the fraction is the capital put at risk,
i.e. lost if the stop is hit. Pure functions on plain floats (they run on the sizing hot path).
"""

from __future__ import annotations

from riskguard.model import validation as v
from riskguard.model.errors import InputValidationError

DEFAULT_MIN_FRACTION = 0.0
"""Lower clip of the Kelly fraction; 0 means a negative edge sizes to nothing (never a short bet)."""
DEFAULT_MAX_FRACTION = 0.2
"""Upper clip of the Kelly fraction (the scalping bot's inventory default)."""


def kelly_binary_raw(win_probability: float, reward_risk: float) -> float:
    """Full Kelly ``f* = (b·p − (1−p)) / b`` for a bet paying ``b`` (reward/risk) with probability ``p``.

    Unclipped: negative when the edge is negative.
    """
    p = v.fraction("win_probability", win_probability)
    b = v.positive("reward_risk", reward_risk)
    return (b * p - (1.0 - p)) / b


def kelly_continuous_raw(mean_return: float, return_std: float) -> float:
    """Full Kelly for continuous returns, ``f = mu / sigma^2`` (per-period mean and std, fractions)."""
    mu = v.finite("mean_return", mean_return)
    sigma = v.positive("return_std", return_std)
    return mu / (sigma * sigma)


def clip_fraction(fraction: float, min_fraction: float, max_fraction: float) -> float:
    """``fraction`` clipped to [min_fraction, max_fraction]."""
    lo = v.non_negative("min_fraction", min_fraction)
    hi = v.non_negative("max_fraction", max_fraction)
    if lo > hi:
        raise InputValidationError("min_fraction", f"must be <= max_fraction {hi}", lo)
    f = v.finite("fraction", fraction)
    return lo if f < lo else hi if f > hi else f


def fractional_kelly(full_kelly: float, fraction: float) -> float:
    """Scale a full-Kelly fraction by ``fraction`` (e.g. 0.25 for quarter Kelly), unclipped."""
    return v.finite("full_kelly", full_kelly) * v.positive("fraction", fraction)


def kelly_binary(
    win_probability: float,
    reward_risk: float,
    risk_aversion: float = 1.0,
    min_fraction: float = DEFAULT_MIN_FRACTION,
    max_fraction: float = DEFAULT_MAX_FRACTION,
) -> float:
    """Binary Kelly divided by ``risk_aversion`` (>= 1 shrinks) and clipped, fraction of capital at risk."""
    raw = kelly_binary_raw(win_probability, reward_risk)
    return clip_fraction(raw / v.positive("risk_aversion", risk_aversion), min_fraction, max_fraction)


def kelly_continuous(
    mean_return: float,
    return_std: float,
    risk_aversion: float = 1.0,
    min_fraction: float = DEFAULT_MIN_FRACTION,
    max_fraction: float = DEFAULT_MAX_FRACTION,
) -> float:
    """Mu-sigma Kelly divided by ``risk_aversion`` and clipped, fraction of capital as exposure."""
    raw = kelly_continuous_raw(mean_return, return_std)
    return clip_fraction(raw / v.positive("risk_aversion", risk_aversion), min_fraction, max_fraction)
