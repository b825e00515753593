"""The ``Exchange`` protocol every adapter implements (Binance USD-M over ccxt, the paper exchange).

Reads return riskguard's typed shapes; writes take ``OrderRequest`` and return the order as the
exchange holds it. Failures raise ``riskguard.exchange.errors.ExchangeError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from riskguard.exchange.types import (
    CancelResult,
    ExchangeAccount,
    ExchangeOrder,
    ExchangePosition,
    MarginMode,
    MarkPrice,
    OrderRequest,
)
from riskguard.model.instrument import InstrumentRules


@runtime_checkable
class Exchange(Protocol):
    """What riskguard needs from a USD-M futures account."""

    name: str

    def instruments(self) -> dict[str, InstrumentRules]:
        """Symbol -> trading rules (filters and leverage brackets) of every USDT-M perpetual."""
        ...

    def account(self) -> ExchangeAccount:
        """Balances of the futures account (margin balance as NAV), at the exchange's time."""
        ...

    def positions(self) -> list[ExchangePosition]:
        """Open positions (qty > 0), ordered by symbol."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Open orders, regular and conditional, of one symbol or all."""
        ...

    def mark_price(self, symbol: str) -> MarkPrice:
        """Mark price and funding rate of ``symbol``."""
        ...

    def order_by_client_id(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """The order with ``client_order_id`` (open or not), or None if the exchange has none."""
        ...

    def place_order(self, order: OrderRequest) -> ExchangeOrder:
        """Place one order. Never re-sent blind: after a lost answer the adapter looks the order up
        by its client order id before trying again."""
        ...

    def place_orders(self, orders: Sequence[OrderRequest]) -> list[ExchangeOrder]:
        """Place several orders (an exit plan's legs) in order; stops at the first refusal."""
        ...

    def replace_stop(self, stop: OrderRequest, *, previous_client_id: str) -> ExchangeOrder:
        """Move a position's protective stop: cancel the STOP_MARKET ``previous_client_id``, then
        place ``stop`` (a reduce-only or close-position STOP_MARKET under a new client order id,
        ``riskguard.exchange.stop_replacement.moved_stop_request``); returns the new stop. Raises
        ``StopReplaceFailed`` saying what the position holds when it cannot; safe to repeat with
        the same arguments (see ``riskguard.exchange.stop_replacement`` for the order of operations)."""
        ...

    def cancel_all(self, symbol: str) -> CancelResult:
        """Cancel every open order of ``symbol``, regular and conditional."""
        ...

    def close_all(self, client_id_prefix: str) -> list[ExchangeOrder]:
        """Close every position with one reduce-only market order each; client order ids are
        ``client_order_id(client_id_prefix, "close")``-style, one per symbol."""
        ...

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage used for new orders of ``symbol``."""
        ...

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set cross or isolated margin for ``symbol``."""
        ...
