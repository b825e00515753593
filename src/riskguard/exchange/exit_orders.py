"""An exit plan's legs (``riskguard.exits.orders``) as ``OrderRequest``s with client order ids
derived from the reservation, so a stop or take-profit on the exchange maps back to its reservation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskguard.exchange.client_ids import client_order_id
from riskguard.exchange.types import OrderRequest, OrderType
from riskguard.exits.orders import order_params
from riskguard.model.enums import Side

if TYPE_CHECKING:
    from riskguard.exits.plan import ExitPlan


def order_request(order: Mapping[str, Any], client_id: str) -> OrderRequest:
    """One ``exits.orders`` dict (ccxt ``create_order`` keyword arguments) as an ``OrderRequest``."""
    params: Mapping[str, Any] = order.get("params") or {}
    close_position = bool(params.get("closePosition", False))
    return OrderRequest(
        symbol=order["symbol"], type=OrderType(str(order["type"]).upper()), side=Side(str(order["side"]).upper()),
        qty=None if close_position else order.get("amount"), client_order_id=client_id, price=order.get("price"),
        stop_price=params.get("stopPrice"), reduce_only=bool(params.get("reduceOnly", False)),
        close_position=close_position, working_type=params.get("workingType"),
        callback_rate_pct=params.get("callbackRate"), activation_price=params.get("activationPrice"))


def _leg_name(order: Mapping[str, Any], target_number: int) -> str:
    kind = str(order["type"]).upper()
    if kind == OrderType.STOP_MARKET.value:
        return "sl"
    if kind == OrderType.TRAILING_STOP_MARKET.value:
        return "trail"
    return f"tp{target_number}"


def exit_plan_requests(plan: ExitPlan, symbol: str, reservation_id: str) -> list[OrderRequest]:
    """The plan's stop (``<reservation>.sl``), take-profit legs (``.tp1``, ``.tp2``...) and trailing
    stop (``.trail``) as orders to place, in that order."""
    requests = []
    targets = 0
    for order in order_params(plan, symbol):
        if str(order["type"]).upper() == OrderType.TAKE_PROFIT_MARKET.value:
            targets += 1
        requests.append(order_request(order, client_order_id(reservation_id, _leg_name(order, targets))))
    return requests
