"""From a Signal to a sized OrderIntent: stop distance (explicit stop, ATR via the exit rules, or the
posture's default), then section B's risk sizing with the applied policy's multiplier and profile."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskguard.config.limits import Limits
from riskguard.model.enums import Regime, RiskProfile, Side
from riskguard.model.errors import InputValidationError
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.policy.flags import PolicyViews
from riskguard.sizing.params import SizingParams
from riskguard.sizing.position import atr_stop_distance, size_by_atr_risk


@dataclass(frozen=True, slots=True)
class SizedSignal:
    """The intent built for a signal, or None with the reason sizing was impossible.

    ``notional`` is the sized notional (USDT, may be 0 when the sizer found no executable size);
    ``sizing`` is the JSON breakdown that goes to ``detail["sizing"]``.
    """

    intent: OrderIntent | None
    notional: float | None
    sizing: dict[str, Any]


def _unsized(reason: str) -> SizedSignal:
    return SizedSignal(None, None, {"method": None, "unsized": reason})


def size_signal(signal: Signal, *, limits: Limits, params: SizingParams, views: PolicyViews,
                nav: float | None, price: float | None, atr: float | None, size_multiplier: float,
                operating_multiplier: float = 1.0) -> SizedSignal:
    """Size ``signal`` (USDT notional) for an account of ``nav`` USDT at ``price``.

    ``atr`` (price units) is the signal's or the market's; ``size_multiplier`` is the drawdown
    ladder's (1.0 unless a rung such as weekly 7 % halved size); it applies once, through the policy
    multiplier when stage ``use_for_risk_sizing`` is on, else here. ``operating_multiplier`` is the
    account's, from the ledger (the monitor's reduce-size action, a staged recovery's 0.25 -> 0.5 ->
    1.0); the stronger of it and the ladder's applies, never their product (one haircut).
    """
    if nav is None:
        return _unsized("NAV unknown")
    if price is None:
        return _unsized("price unknown (no market snapshot and no signal price)")
    applied, policy = views.applied, views.policy
    regime = policy.regime or Regime.NORMAL
    estimated = False
    if signal.stop_price is not None:
        distance = abs(price - signal.stop_price)
        stop_source = "signal stop price"
    elif atr is not None:
        mode = applied.exit_mode.value if applied.exit_mode is not None else None
        distance, explanation = atr_stop_distance(params, atr, regime, exit_mode=mode)
        stop_source = f"ATR {atr:g}: {explanation.reason}"
    else:
        distance = price * limits.default_stop_distance_pct
        stop_source = "posture default stop distance (no stop, no ATR)"
        estimated = True
    if distance <= 0.0:
        return _unsized("stop distance is zero")
    leverage = signal.leverage or limits.symbol(signal.symbol).max_leverage
    confidence = signal.confidence if signal.confidence is not None else 0.0
    try:
        size = size_by_atr_risk(
            params, nav, price, leverage, applied.risk_multiplier, applied.risk_profile, confidence,
            stop_distance=distance,
            policy_reason="; ".join(policy.notes) if applied.risk_profile is not RiskProfile.NORMAL
            or applied.risk_multiplier != 1.0 else None)
    except InputValidationError as error:
        return _unsized(str(error))
    # One drawdown haircut: with stage use_for_risk_sizing on, the applied policy multiplier already
    # carries the ladder's size reduction (the stronger of it and the policy's drawdown step);
    # off, the ladder's rung is an account action that applies here on its own.
    in_policy = views.flags.use_for_risk_sizing
    multiplier = min(1.0 if in_policy else size_multiplier, operating_multiplier)
    notional = size.notional_usdt * multiplier
    sizing = size.to_dict()
    sizing["stop_source"] = stop_source
    sizing["stop_estimated"] = estimated
    sizing["ladder_size_multiplier"] = size_multiplier
    sizing["ladder_applied_by"] = "policy" if in_policy else "sizing"
    if operating_multiplier != 1.0:  # the key only where it acts: decisions stored before it are unchanged
        sizing["operating_size_multiplier"] = operating_multiplier
    sizing["max_risk_pct"] = params.max_risk_pct
    sizing["notional_usdt"] = notional
    is_buy = signal.side is Side.BUY
    stop = signal.stop_price if signal.stop_price is not None else (price - distance if is_buy else price + distance)
    target = signal.take_profit_price
    if target is None and signal.expected_rr is not None:
        target = price + distance * signal.expected_rr if is_buy else price - distance * signal.expected_rr
    raw = size.risk_budget_usdt / distance * price
    # The intent carries the positive unclamped size when the sizer found none; the engine then
    # checks it at the sized notional (0), which the min-notional gate refuses with its reason.
    order_notional = notional if notional > 0.0 else raw
    computed = (stop, order_notional, leverage) if target is None else (stop, target, order_notional, leverage)
    if not all(math.isfinite(x) and x > 0.0 for x in computed):
        return _unsized("stop, target or size is not a positive finite number")
    intent = OrderIntent.trusted(
        signal.signal_id, signal.strategy, signal.symbol, Side(signal.side), order_notional, leverage, signal.price,
        stop, target, signal.expected_rr, signal.confidence, signal.source, signal.ts_ms, signal.execution_mode)
    return SizedSignal(intent, notional, sizing)
