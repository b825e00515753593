"""``AsyncExchange``: any ``Exchange`` for asyncio code (the service), without blocking the loop.

Each call runs the synchronous adapter in a worker thread (``asyncio.to_thread``); one lock keeps
the calls of one adapter in order, as a single ccxt client is not made for concurrent requests and
an order must never race its own client-order-id lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from riskguard.exchange.protocol import Exchange
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

T = TypeVar("T")


class AsyncExchange:
    """The ``Exchange`` calls as coroutines over ``exchange`` (BinanceUsdm, PaperExchange, ...)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.name = exchange.name
        self._lock = asyncio.Lock()

    async def _run(self, call: Callable[[], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(call)

    async def instruments(self) -> dict[str, InstrumentRules]:
        """See ``Exchange.instruments``."""
        return await self._run(self.exchange.instruments)

    async def account(self) -> ExchangeAccount:
        """See ``Exchange.account``."""
        return await self._run(self.exchange.account)

    async def positions(self) -> list[ExchangePosition]:
        """See ``Exchange.positions``."""
        return await self._run(self.exchange.positions)

    async def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """See ``Exchange.open_orders``."""
        return await self._run(lambda: self.exchange.open_orders(symbol))

    async def mark_price(self, symbol: str) -> MarkPrice:
        """See ``Exchange.mark_price``."""
        return await self._run(lambda: self.exchange.mark_price(symbol))

    async def order_by_client_id(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """See ``Exchange.order_by_client_id``."""
        return await self._run(lambda: self.exchange.order_by_client_id(symbol, client_order_id))

    async def place_order(self, order: OrderRequest) -> ExchangeOrder:
        """See ``Exchange.place_order``."""
        return await self._run(lambda: self.exchange.place_order(order))

    async def place_orders(self, orders: Sequence[OrderRequest]) -> list[ExchangeOrder]:
        """See ``Exchange.place_orders``."""
        return await self._run(lambda: self.exchange.place_orders(orders))

    async def replace_stop(self, stop: OrderRequest, *, previous_client_id: str) -> ExchangeOrder:
        """See ``Exchange.replace_stop``."""
        return await self._run(lambda: self.exchange.replace_stop(stop, previous_client_id=previous_client_id))

    async def cancel_all(self, symbol: str) -> CancelResult:
        """See ``Exchange.cancel_all``."""
        return await self._run(lambda: self.exchange.cancel_all(symbol))

    async def close_all(self, client_id_prefix: str) -> list[ExchangeOrder]:
        """See ``Exchange.close_all``."""
        return await self._run(lambda: self.exchange.close_all(client_id_prefix))

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """See ``Exchange.set_leverage``."""
        await self._run(lambda: self.exchange.set_leverage(symbol, leverage))

    async def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """See ``Exchange.set_margin_mode``."""
        await self._run(lambda: self.exchange.set_margin_mode(symbol, mode))
