"""Binance USD-M exit orders as ccxt ``create_order`` keyword arguments (binanceusdm).

Each dict is ``{"symbol", "type", "side", "amount", "price", "params"}`` so an adapter can call
``exchange.create_order(**order)``. Triggers use the mark price (``workingType: MARK_PRICE``) so a
wick on the last-traded price alone does not fire a stop. The protective stop uses
``closePosition`` (Binance refuses ``reduceOnly`` together with it; ccxt omits the quantity), the
take-profit legs and the trailing stop are ``reduceOnly`` so they can never open a position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskguard.exits.rounding import decimals_of
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError

if TYPE_CHECKING:
    from riskguard.exits.plan import ExitPlan

BINANCE_CALLBACK_RATE_MIN_PCT = 0.1
BINANCE_CALLBACK_RATE_MAX_PCT = 10.0
"""Exchange rule (not a risk threshold): Binance USD-M accepts callbackRate in [0.1, 10] %, 0.1 steps."""

WORKING_TYPE = "MARK_PRICE"


def exit_side(side: PositionSide) -> str:
    """The order side that closes a position of ``side`` (ccxt spelling)."""
    return "sell" if side is PositionSide.LONG else "buy"


def _exit_side(plan: ExitPlan) -> str:
    return exit_side(plan.side)


def protective_stop(symbol: str, side: PositionSide, qty: float, stop_price: float) -> dict[str, Any]:
    """The STOP_MARKET closing a whole ``side`` position of ``qty`` (base units) at ``stop_price`` (USDT)."""
    return {
        "symbol": symbol,
        "type": "STOP_MARKET",
        "side": exit_side(side),
        "amount": qty,
        "price": None,
        "params": {"stopPrice": stop_price, "closePosition": True, "workingType": WORKING_TYPE},
    }


def stop_order_params(plan: ExitPlan, stop_price: float, symbol: str) -> dict[str, Any]:
    """The protective STOP_MARKET closing the whole position at ``stop_price`` (USDT)."""
    return protective_stop(symbol, plan.side, plan.qty, stop_price)


def callback_rate_pct(plan: ExitPlan) -> float:
    """Binance ``callbackRate`` (percent, 0.1 steps) of the plan's trailing stop, measured at the
    activation price for an ATR distance. Raises naming ``trailing.callback_rate`` when outside
    what Binance accepts rather than silently trailing at another distance."""
    trailing = plan.trailing
    if trailing is None:
        raise InputValidationError("trailing", "the plan has no trailing stop", None)
    raw = 100.0 * trailing.distance_at(trailing.activation_price) / trailing.activation_price
    rate = round(raw, 1)
    if not BINANCE_CALLBACK_RATE_MIN_PCT <= rate <= BINANCE_CALLBACK_RATE_MAX_PCT:
        raise InputValidationError(
            "trailing.callback_rate",
            f"Binance accepts {BINANCE_CALLBACK_RATE_MIN_PCT}-{BINANCE_CALLBACK_RATE_MAX_PCT} %", raw)
    return rate


def order_params(plan: ExitPlan, symbol: str) -> list[dict[str, Any]]:
    """Every exit order of ``plan``: the stop, one take-profit per ladder leg, the trailing stop.

    The trailing stop is sized to the whole position: reduce-only caps it at what is left.
    The break-even move is not an order; the adapter replaces the stop with
    ``plan.stop_order_params(plan.break_even_price)`` once target ``plan.break_even_after`` fills.
    """
    side = _exit_side(plan)
    orders = [stop_order_params(plan, plan.stop_price, symbol)]
    for leg in plan.targets:
        orders.append({
            "symbol": symbol,
            "type": "TAKE_PROFIT_MARKET",
            "side": side,
            "amount": leg.qty,
            "price": None,
            "params": {"stopPrice": leg.price, "reduceOnly": True, "workingType": WORKING_TYPE},
        })
    if plan.trailing is not None:
        orders.append({
            "symbol": symbol,
            "type": "TRAILING_STOP_MARKET",
            "side": side,
            "amount": plan.qty,
            "price": None,
            "params": {
                "callbackRate": callback_rate_pct(plan),
                "activationPrice": round(plan.trailing.activation_price, decimals_of(plan.tick_size)),
                "reduceOnly": True,
                "workingType": WORKING_TYPE,
            },
        })
    return orders
