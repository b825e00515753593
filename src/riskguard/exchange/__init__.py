"""Exchange adapters behind one ``Exchange`` protocol: Binance USD-M over ccxt (``BinanceUsdm``, needs
the ``exchange`` extra; imported from ``riskguard.exchange.binance``) and ``PaperExchange``."""

from riskguard.exchange.async_exchange import AsyncExchange
from riskguard.exchange.client_ids import client_order_id, close_order_id, reservation_for, stop_order_id
from riskguard.exchange.errors import (
    NO_STOP,
    STOP_KEPT,
    STOP_TRIGGERED,
    STOP_UNKNOWN,
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
    StopReplaceFailed,
    TimestampOutsideRecvWindow,
)
from riskguard.exchange.exit_orders import exit_plan_requests, order_request
from riskguard.exchange.paper import PaperExchange, PaperFill
from riskguard.exchange.protocol import Exchange
from riskguard.exchange.rules_loader import InstrumentSink, load_exchange_rules
from riskguard.exchange.stop_replacement import moved_stop_request
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
    "NO_STOP",
    "STOP_KEPT",
    "STOP_TRIGGERED",
    "STOP_UNKNOWN",
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
    "StopReplaceFailed",
    "TimestampOutsideRecvWindow",
    "client_order_id",
    "close_order_id",
    "exit_plan_requests",
    "load_exchange_rules",
    "moved_stop_request",
    "order_request",
    "reservation_for",
    "stop_order_id",
]
