"""From a risk fraction to a position: risk USDT / stop distance, then the leverage and
min / max position caps of the posture. Exchange rounding is ``riskguard.sizing.quantity``'s job.
"""

from __future__ import annotations

from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.model.errors import InputValidationError
from riskguard.sizing._checks import positive
from riskguard.sizing.breakdown import Adjustment, Clamp, PositionSize, RiskBreakdown
from riskguard.sizing.multipliers import stop_multiple
from riskguard.sizing.params import SizingParams
from riskguard.sizing.risk import final_risk_pct, kelly_risk_pct


def atr_stop_distance(
    params: SizingParams, atr: float, regime: Regime | None = None
) -> tuple[float, Adjustment]:
    """Stop distance, price units: ATR x the regime's ATR stop multiple (1.5; HIGH_VOL 2.0; LOW_VOL 1.0).

    The regime's ``stop`` multiplier of the regime table is not applied here: it belongs to the
    exit plan, which then should pass its own stop distance to :func:`size_position`.
    """
    multiple = stop_multiple(params, regime)
    return positive("atr", atr) * multiple.value, multiple


def size_position(
    params: SizingParams,
    risk: RiskBreakdown,
    nav: float,
    price: float,
    stop_distance: float,
    max_leverage: float,
    stop: Adjustment | None = None,
) -> PositionSize:
    """Size a position so that hitting the stop loses ``risk.risk_pct`` of ``nav`` (USDT), then cap it.

    ``stop_distance`` is |entry - stop| in price units; ``max_leverage`` (x) caps the notional at
    ``nav * max_leverage``; the posture's max position caps it in USDT; below the min position the
    size is 0 (flagged), never rounded up.
    """
    nav_ = positive("nav", nav)
    price_ = positive("price", price)
    stop_ = positive("stop_distance", stop_distance)
    leverage = positive("max_leverage", max_leverage)
    budget = nav_ * risk.risk_pct
    notional = budget / stop_ * price_
    clamps: list[Clamp] = []
    if notional > params.max_position_usdt:
        cap = params.max_position_usdt
        clamps.append(Clamp("max_position_usdt", cap, notional, cap))
        notional = cap
    leverage_cap = nav_ * leverage
    if notional > leverage_cap:
        clamps.append(Clamp("max_leverage", leverage, notional, leverage_cap))
        notional = leverage_cap
    below_min = notional < params.min_position_usdt
    if below_min:
        clamps.append(Clamp("min_position_usdt", params.min_position_usdt, notional, 0.0))
        notional = 0.0
    qty = notional / price_
    return PositionSize(
        risk=risk,
        nav=nav_,
        price=price_,
        stop_distance=stop_,
        stop=stop,
        risk_budget_usdt=budget,
        qty=qty,
        notional_usdt=notional,
        risk_usdt=qty * stop_,
        clamps=tuple(clamps),
        below_min_position=below_min,
    )


def size_by_atr_risk(
    params: SizingParams,
    nav: float,
    price: float,
    max_leverage: float,
    policy_multiplier: float,
    profile: RiskProfile,
    confidence: float,
    *,
    atr: float | None = None,
    stop_distance: float | None = None,
    regime: Regime | None = None,
    vol_ratio: float | None = None,
    drawdown: float | None = None,
    policy_reason: str | None = None,
) -> PositionSize:
    """Section B end to end: final risk % -> risk USDT -> qty at the stop -> caps.

    The stop is ``stop_distance`` (price units) when given (e.g. from the intent's stop price),
    else ``atr`` x the regime's ATR stop multiple; one of the two is required.
    """
    risk = final_risk_pct(
        params, policy_multiplier, profile, confidence,
        regime=regime, vol_ratio=vol_ratio, drawdown=drawdown, policy_reason=policy_reason)
    distance, stop = _stop(params, atr, stop_distance, regime)
    return size_position(params, risk, nav, price, distance, max_leverage, stop)


def size_by_kelly(
    params: SizingParams,
    nav: float,
    price: float,
    max_leverage: float,
    confidence: float,
    expected_r: float,
    mode: Mode,
    *,
    atr: float | None = None,
    stop_distance: float | None = None,
    regime: Regime | None = None,
    vol_ratio: float | None = None,
    drawdown: float | None = None,
) -> PositionSize:
    """Section E end to end: fractional Kelly risk (mode-capped) -> qty at the stop -> caps."""
    risk = kelly_risk_pct(params, confidence, expected_r, mode, regime=regime, vol_ratio=vol_ratio,
                          drawdown=drawdown)
    distance, stop = _stop(params, atr, stop_distance, regime)
    return size_position(params, risk, nav, price, distance, max_leverage, stop)


def _stop(
    params: SizingParams, atr: float | None, stop_distance: float | None, regime: Regime | None
) -> tuple[float, Adjustment | None]:
    if stop_distance is not None:
        return positive("stop_distance", stop_distance), None
    if atr is None:
        raise InputValidationError("atr", "an ATR or an explicit stop_distance is required", None)
    return atr_stop_distance(params, atr, regime)
