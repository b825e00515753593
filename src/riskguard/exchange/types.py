"""The shapes an exchange adapter returns: account, positions, orders, marks, cancel results.

Prices and money in USDT, quantities in base units (contracts of a USDT-M perpetual), times in
epoch ms. Symbols are riskguard's (``BTCUSDT``), never ccxt's (``BTC/USDT:USDT``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from riskguard.exchange.client_ids import check_client_order_id
from riskguard.model import validation as v
from riskguard.model.enums import PositionSide, Side
from riskguard.model.errors import InputValidationError
from riskguard.model.snapshots import AccountSnapshot


class MarginMode(StrEnum):
    """Binance USD-M margin mode of a symbol (``marginType``)."""

    CROSS = "cross"
    ISOLATED = "isolated"


def parse_margin_mode(value: object) -> MarginMode:
    """``cross`` / ``isolated`` (Binance's ``CROSSED`` too), any case."""
    text = str(value).strip().lower()
    if text == "crossed":
        text = "cross"
    try:
        return MarginMode(text)
    except ValueError:
        raise InputValidationError("margin_mode", "must be cross or isolated", value) from None


class OrderType(StrEnum):
    """The Binance USD-M order types riskguard places."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"

    @property
    def conditional(self) -> bool:
        """True for trigger orders (Binance keeps them apart from regular orders)."""
        return self not in (OrderType.MARKET, OrderType.LIMIT)


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


@dataclass(frozen=True, slots=True)
class ExchangeAccount:
    """The futures account as the exchange reports it (USDT).

    ``nav`` is the margin balance (wallet + unrealised PnL), the figure riskguard treats as NAV.
    ``ts_ms`` is when riskguard received it; ``exchange_ts_ms`` the exchange's own update time when
    it reports one. ``margin_mode`` is None when it is set per symbol (Binance).
    """

    nav: float
    wallet_balance: float
    available_balance: float
    unrealized_pnl: float
    margin_mode: MarginMode | None
    ts_ms: int
    exchange_ts_ms: int | None = None

    def snapshot(self) -> AccountSnapshot:
        """The engine's and ledger's view: NAV and free margin at the exchange's timestamp."""
        return AccountSnapshot(nav=self.nav, ts_ms=self.ts_ms, available_balance=max(self.available_balance, 0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    """One open position (one-way mode: one per symbol). ``liquidation_price`` 0 when none;
    ``margin`` the position's initial (cross) or isolated margin, USDT."""

    symbol: str
    side: PositionSide
    qty: float
    entry_price: float
    mark_price: float
    liquidation_price: float
    margin: float
    maintenance_margin: float
    unrealized_pnl: float
    leverage: float
    margin_mode: MarginMode

    @property
    def notional(self) -> float:
        """qty x mark price, USDT."""
        return self.qty * self.mark_price

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order to place. ``qty`` None only with ``close_position`` (the exchange closes all);
    ``stop_price`` is the trigger of conditional orders; ``client_order_id`` maps the order back to
    a ledger reservation (at most 36 characters of ``[.A-Za-z0-9:/_-]``)."""

    symbol: str
    type: OrderType
    side: Side
    qty: float | None
    client_order_id: str
    price: float | None = None
    stop_price: float | None = None
    reduce_only: bool = False
    close_position: bool = False
    working_type: str | None = None
    callback_rate_pct: float | None = None
    activation_price: float | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "symbol", v.symbol("symbol", self.symbol))
        s(self, "type", OrderType(self.type))
        s(self, "side", Side(str(self.side).upper()))
        if self.qty is None and not self.close_position:
            raise InputValidationError("qty", "is required unless close_position is set", None)
        if self.qty is not None:
            s(self, "qty", v.positive("qty", self.qty))
        if self.type is OrderType.LIMIT and self.price is None:
            raise InputValidationError("price", "a LIMIT order needs a price", None)
        if self.type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET) and self.stop_price is None:
            raise InputValidationError("stop_price", f"a {self.type.value} order needs a trigger price", None)
        if self.close_position and self.reduce_only:
            raise InputValidationError("reduce_only", "Binance refuses reduceOnly together with closePosition",
                                       True)
        check_client_order_id(self.client_order_id)

    @property
    def exits_only(self) -> bool:
        """True when the order can only shrink a position (reduce-only or close-position)."""
        return self.reduce_only or self.close_position

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    """An order as the exchange holds it (open, filled or cancelled). ``avg_price`` None until it
    fills; ``status`` is ccxt's unified ``open`` / ``closed`` / ``canceled`` / ``expired`` / ``rejected``."""

    order_id: str
    client_order_id: str | None
    symbol: str
    type: str
    side: Side
    qty: float | None
    filled_qty: float
    price: float | None
    avg_price: float | None
    stop_price: float | None
    reduce_only: bool
    close_position: bool
    status: str
    ts_ms: int | None

    @property
    def conditional(self) -> bool:
        """True for trigger orders (stop, take-profit, trailing)."""
        return self.type.upper() not in (OrderType.MARKET.value, OrderType.LIMIT.value)

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self.status == "open"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What a cancel-all of one symbol removed: regular and conditional orders, by id."""

    symbol: str
    regular: tuple[str, ...] = field(default_factory=tuple)
    conditional: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"symbol": self.symbol, "regular": list(self.regular), "conditional": list(self.conditional)}


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """Mark price and funding of one perpetual: ``funding_rate`` per funding interval (fraction,
    > 0 longs pay shorts), ``next_funding_ms`` when it is next charged."""

    symbol: str
    mark_price: float
    funding_rate: float
    next_funding_ms: int | None
    ts_ms: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)
