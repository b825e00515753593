"""The risk fraction of one trade: section B's ATR-risk formula and section E's fractional Kelly.

``final_risk_pct`` = base risk % x policy multiplier x profile adjustment x confidence multiplier
(x the optional regime, volatility-ratio and drawdown multipliers), clamped to [min, max] risk %.
``kelly_risk_pct`` = full binary Kelly x fraction / risk aversion (x the same optional
multipliers), clipped to the Kelly bounds, then capped by the execution mode's cap.
Both return a ``RiskBreakdown`` whose ``risk_pct`` is the fraction of NAV lost at the stop.
"""

from __future__ import annotations

from riskguard.math.kelly import kelly_binary_raw
from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.model.errors import InputValidationError
from riskguard.sizing._checks import positive, unit_interval
from riskguard.sizing.breakdown import Adjustment, Clamp, RiskBreakdown
from riskguard.sizing.multipliers import (
    confidence_adjustment,
    drawdown_haircut,
    profile_adjustment,
    regime_adjustment,
    volatility_ratio_adjustment,
)
from riskguard.sizing.params import SizingParams

_DEFAULT_POLICY_REASON = "policy risk multiplier"
_CACHE_SIZE = 4096


def _context(
    params: SizingParams, regime: Regime | None, vol_ratio: float | None, drawdown: float | None
) -> list[Adjustment]:
    out: list[Adjustment] = []
    if regime is not None:
        out.append(regime_adjustment(params, regime))
    if vol_ratio is not None:
        out.append(volatility_ratio_adjustment(params, vol_ratio))
    if drawdown is not None:
        out.append(drawdown_haircut(params, drawdown))
    return out


def final_risk_pct(
    params: SizingParams,
    policy_multiplier: float,
    profile: RiskProfile,
    confidence: float,
    *,
    regime: Regime | None = None,
    vol_ratio: float | None = None,
    drawdown: float | None = None,
    policy_reason: str | None = None,
) -> RiskBreakdown:
    """Risk per trade, fraction of NAV (section B), with every multiplier and clamp explained.

    ``policy_multiplier`` is the policy's ``max_risk_pct`` in (0, 1] (it only shrinks);
    ``confidence`` the signal confidence in [0, 1]. ``regime``, ``vol_ratio`` (current / 30-day
    volatility) and ``drawdown`` (fraction of peak) add their multipliers when given; leave them
    None when the policy multiplier already accounts for them.
    """
    policy = positive("policy_multiplier", policy_multiplier)
    if policy > 1.0:
        raise InputValidationError("policy_multiplier", "must be within (0, 1]: the policy only shrinks", policy)
    prof = profile_adjustment(params, profile)
    conf = confidence_adjustment(params, confidence)
    reg = None if regime is None else regime_adjustment(params, regime)
    vol = None if vol_ratio is None else volatility_ratio_adjustment(params, vol_ratio)
    dd = None if drawdown is None else unit_interval("drawdown", drawdown)
    key = (policy, policy_reason, id(prof), id(conf), id(reg), id(vol), dd)
    cache = params.risk_cache
    hit = cache.get(key)
    if hit is not None:
        return hit
    adjustments = [Adjustment("policy", policy, policy_reason or _DEFAULT_POLICY_REASON), prof, conf]
    if reg is not None:
        adjustments.append(reg)
    if vol is not None:
        adjustments.append(vol)
    if dd is not None:
        adjustments.append(drawdown_haircut(params, dd))
    raw = params.base_risk_pct
    for adjustment in adjustments:
        raw *= adjustment.value
    risk = raw
    clamps: tuple[Clamp, ...] = ()
    if raw > params.max_risk_pct:
        risk = params.max_risk_pct
        clamps = (Clamp("max_risk_pct", params.max_risk_pct, raw, risk),)
    elif raw < params.min_risk_pct:
        risk = params.min_risk_pct
        clamps = (Clamp("min_risk_pct", params.min_risk_pct, raw, risk),)
    result = RiskBreakdown("atr_risk", params.base_risk_pct, tuple(adjustments), clamps, risk)
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = result
    return result


def kelly_risk_pct(
    params: SizingParams,
    confidence: float,
    expected_r: float,
    mode: Mode,
    *,
    regime: Regime | None = None,
    vol_ratio: float | None = None,
    drawdown: float | None = None,
) -> RiskBreakdown:
    """Fractional Kelly risk per trade, fraction of NAV (section E), capped by the mode's cap.

    ``confidence`` is taken as the win probability and ``expected_r`` (> 0) as the reward/risk
    payoff b, so full Kelly is ``(b·p − (1−p)) / b``; no edge gives 0 risk (size nothing).
    """
    try:
        cap = params.kelly_mode_caps[mode]
    except (KeyError, TypeError):
        raise InputValidationError("mode", "must be a Mode (demo, paper, live)", mode) from None
    full = kelly_binary_raw(confidence, expected_r)
    adjustments = [params.kelly_fraction_adjustment, params.kelly_risk_aversion_adjustment]
    adjustments += _context(params, regime, vol_ratio, drawdown)
    raw = full
    for adjustment in adjustments:
        raw *= adjustment.value
    clamps: list[Clamp] = []
    risk = raw
    if risk > params.kelly_max_fraction:
        clamps.append(Clamp("kelly_max_fraction", params.kelly_max_fraction, risk, params.kelly_max_fraction))
        risk = params.kelly_max_fraction
    elif risk < params.kelly_min_fraction:
        clamps.append(Clamp("kelly_min_fraction", params.kelly_min_fraction, risk, params.kelly_min_fraction))
        risk = params.kelly_min_fraction
    if risk > cap:
        clamps.append(Clamp(f"kelly_{mode.value}_cap", cap, risk, cap))
        risk = cap
    return RiskBreakdown("kelly", full, tuple(adjustments), tuple(clamps), risk)
