"""From a risk fraction to a position: risk USDT / stop distance, then the leverage and
min / max position caps of the posture. Exchange rounding is ``riskguard.sizing.quantity``'s job.
"""

from __future__ import annotations

from riskguard.exits.plan import stop_distance as exit_stop_distance
from riskguard.exits.plan import volatility_of_regime
from riskguard.exits.rules import VolState
from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.model.errors import InputValidationError
from riskguard.sizing._checks import positive
from riskguard.sizing.breakdown import Adjustment, Clamp, PositionSize, RiskBreakdown
from riskguard.sizing.params import SizingParams
from riskguard.sizing.risk import final_risk_pct, kelly_risk_pct


def atr_stop_distance(
    params: SizingParams,
    atr: float,
    regime: Regime | None = None,
    *,
    volatility: VolState | str | None = None,
    exit_mode: str | None = None,
) -> tuple[float, Adjustment]:
    """Stop distance (price units) of the exit rules, ``riskguard.exits.stop_distance``, and its
    explanation: ``atr`` x the volatility level's ATR multiple x the regime's stop multiplier x
    the exit mode's stop multiplier (defaults: 1.5 ATR; HIGH_VOL 2.0 x 1.5 = 3.0 ATR).

    ``regime`` None = NORMAL; ``volatility`` None = implied by the regime; ``exit_mode`` None =
    the posture's default exit mode, as for ``build_exit_plan``. The distance is before tick
    rounding: to size at the exact risk of a plan, pass the plan's stop distance instead.
    """
    reg = Regime.NORMAL if regime is None else regime
    distance = exit_stop_distance(params.exit_rules, atr, regime=reg, volatility=volatility, mode=exit_mode)
    # stop_distance has validated every argument; only a non-Regime regime (e.g. a str) is left.
    vol = volatility_of_regime(reg) if volatility is None else VolState(str(volatility).strip().lower())
    try:
        explanation = params.stop_adjustments[(reg, vol, params.exit_rules.mode(exit_mode).name)]
    except KeyError:
        raise InputValidationError("regime", "must be a Regime", regime) from None
    return distance, explanation


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
    volatility: VolState | str | None = None,
    exit_mode: str | None = None,
) -> PositionSize:
    """Section B end to end: final risk % -> risk USDT -> qty at the stop -> caps.

    The stop is ``stop_distance`` (price units) when given (e.g. from the intent's stop price),
    else the exit rules' ATR stop for ``atr``, ``regime``, ``volatility`` and ``exit_mode`` (see
    :func:`atr_stop_distance`); one of the two is required. ``regime`` also applies the
    regime's position multiplier to the risk.
    """
    risk = final_risk_pct(
        params, policy_multiplier, profile, confidence,
        regime=regime, vol_ratio=vol_ratio, drawdown=drawdown, policy_reason=policy_reason)
    distance, stop = _stop(params, atr, stop_distance, regime, volatility, exit_mode)
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
    volatility: VolState | str | None = None,
    exit_mode: str | None = None,
) -> PositionSize:
    """Section E end to end: fractional Kelly risk (capped by the execution ``mode``) -> qty at
    the stop -> caps. The stop is chosen as in :func:`size_by_atr_risk`."""
    risk = kelly_risk_pct(params, confidence, expected_r, mode, regime=regime, vol_ratio=vol_ratio,
                          drawdown=drawdown)
    distance, stop = _stop(params, atr, stop_distance, regime, volatility, exit_mode)
    return size_position(params, risk, nav, price, distance, max_leverage, stop)


def _stop(
    params: SizingParams,
    atr: float | None,
    stop_distance: float | None,
    regime: Regime | None,
    volatility: VolState | str | None,
    exit_mode: str | None,
) -> tuple[float, Adjustment | None]:
    if stop_distance is not None:
        return positive("stop_distance", stop_distance), None
    if atr is None:
        raise InputValidationError("atr", "an ATR or an explicit stop_distance is required", None)
    return atr_stop_distance(params, atr, regime, volatility=volatility, exit_mode=exit_mode)
