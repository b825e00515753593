"""Moving a protective stop on the exchange: the replacement ``STOP_MARKET`` of a dynamic stop
move (``riskguard.exits.dynamic_stop``) and the checks every adapter's ``replace_stop`` applies.

Order of operations (every adapter): cancel the previous stop by its client order id, then place
the new one under a new client order id (``client_ids.stop_order_id``: ``<reservation>.sl<move>``).
Cancel first, because Binance keeps one ``closePosition`` stop per side (a second is refused,
-4130), and because two stops would both fire on a reduce-only position. The window between the
two requests, when the position has no stop, is one round trip; a failure is never silent:

- the cancel is refused (other than "no such order"): nothing changed, ``StopReplaceFailed``
  with state ``previous_stop_kept``;
- the previous stop is not there any more: if it fired (status closed) nothing is placed
  (``previous_stop_triggered``); if it was cancelled (a repeated call) and the new stop already
  exists, that order is returned; otherwise the new one is placed;
- the new stop is refused after the cancel: ``no_stop``, the position is unprotected: repeat the
  call (same arguments) or close the position;
- the exchange does not answer (after the adapter's retries): ``unknown``: repeat the call.

Repeating ``replace_stop`` with the same arguments is safe in every state: the new client order
id is never placed twice (Binance refuses a reused id, -4116, and the adapters look it up first on
the repeat path), and nothing is placed before the previous stop is confirmed gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskguard.exchange.client_ids import check_client_order_id, stop_order_id
from riskguard.exchange.exit_orders import order_request
from riskguard.exchange.types import OrderRequest, OrderType
from riskguard.model.errors import InputValidationError


def moved_stop_request(order: Mapping[str, Any], reservation_id: str, move: int) -> OrderRequest:
    """The replacement stop of a dynamic stop move (``StopUpdate.order``, ccxt ``create_order``
    keyword arguments) as an ``OrderRequest`` with client order id ``stop_order_id(reservation_id,
    move)``; ``move`` counts the moves of this position's stop, 1 for the first."""
    if isinstance(move, bool) or not isinstance(move, int) or move < 1:
        raise InputValidationError("move", "must be a whole number >= 1 (0 is the plan's own stop)", move)
    return order_request(order, stop_order_id(reservation_id, move))


def check_replacement(stop: OrderRequest, previous_client_id: str) -> None:
    """Refuse by name a replacement that is not a protective stop: a type other than STOP_MARKET,
    an order that could open a position (neither reduce-only nor close-position), or a previous
    client order id that is invalid or the new order's own."""
    if stop.type is not OrderType.STOP_MARKET:
        raise InputValidationError("type", "a replaced stop must be a STOP_MARKET", stop.type.value)
    if not stop.exits_only:
        raise InputValidationError("reduce_only", "a replaced stop must be reduce-only or close-position", False)
    check_client_order_id(previous_client_id)
    if previous_client_id == stop.client_order_id:
        raise InputValidationError("client_order_id", "the new stop needs its own client order id (see "
                                   "client_ids.stop_order_id)", stop.client_order_id)
