"""Exchange adapters behind one ``Exchange`` protocol: Binance USD-M over ccxt (``BinanceUsdm``, needs
the ``exchange`` extra; imported from ``riskguard.exchange.binance``) and ``PaperExchange``."""

from riskguard.exchange.async_exchange import AsyncExchange
from riskguard.exchange.client_ids import client_order_id, close_order_id, reservation_for
from riskguard.exchange.errors import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    ExchangeError,
    ExchangeUnavailable,
    InstrumentUnknown,
    InvalidOrder,
    MarginInsufficient,
    MinNotionalNotMet,
    OrderNotFound,
    RateLimited,
    ReduceOnlyRejected,
    TimestampOutsideRecvWindow,
)
from riskguard.exchange.exit_orders import exit_plan_requests, order_request
from riskguard.exchange.paper import PaperExchange, PaperFill
from riskguard.exchange.protocol import Exchange
from riskguard.exchange.rules_loader import InstrumentSink, load_exchange_rules
from riskguard.exchange.types import (
    CancelResult,
    ExchangeAccount,
    ExchangeOrder,
    ExchangePosition,
    MarginMode,
    MarkPrice,
    OrderRequest,
    OrderType,
)

__all__ = [
    "AsyncExchange",
    "AuthenticationFailed",
    "CancelResult",
    "DuplicateClientOrderId",
    "Exchange",
    "ExchangeAccount",
    "ExchangeError",
    "ExchangeOrder",
    "ExchangePosition",
    "ExchangeUnavailable",
    "InstrumentSink",
    "InstrumentUnknown",
    "InvalidOrder",
    "MarginInsufficient",
    "MarginMode",
    "MarkPrice",
    "MinNotionalNotMet",
    "OrderNotFound",
    "OrderRequest",
    "OrderType",
    "PaperExchange",
    "PaperFill",
    "RateLimited",
    "ReduceOnlyRejected",
    "TimestampOutsideRecvWindow",
    "client_order_id",
    "close_order_id",
    "exit_plan_requests",
    "load_exchange_rules",
    "order_request",
    "reservation_for",
]
