"""Account and market snapshots the engine is fed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskguard.model import validation as v
from riskguard.model.enums import MarginMode
from riskguard.model.errors import InputValidationError

_MARGIN_MODES = {m.value: m for m in MarginMode}


def _margin_mode(value: object) -> MarginMode | None:
    if value is None or isinstance(value, MarginMode):
        return value
    if isinstance(value, str) and value.strip().lower() in _MARGIN_MODES:
        return _MARGIN_MODES[value.strip().lower()]
    raise InputValidationError("margin_mode", "must be isolated or cross (or null when unknown)", value)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Account equity at ``ts_ms``.

    ``nav`` is net asset value (wallet balance + unrealised PnL) in USDT.
    ``available_balance`` is free margin in USDT when the exchange reports it (what a new order's
    initial margin must fit in: the margin_insufficient gate).
    ``day_start_nav`` overrides the engine's own tracking of the UTC day's opening NAV.
    ``wallet_balance`` is the (cross) wallet balance in USDT, without unrealised PnL; ``margin_mode``
    is ``isolated`` or ``cross`` (None = unknown: liquidation is then judged as isolated, the closer
    of the two). Both feed the liquidation_too_close gate.
    """

    nav: float
    ts_ms: int
    available_balance: float | None = None
    day_start_nav: float | None = None
    wallet_balance: float | None = None
    margin_mode: MarginMode | str | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "nav", v.amount("nav", self.nav))
        s(self, "ts_ms", v.timestamp_ms("ts_ms", self.ts_ms))
        if self.available_balance is not None:
            s(self, "available_balance", v.non_negative_amount("available_balance", self.available_balance))
        s(self, "day_start_nav", v.optional_amount("day_start_nav", self.day_start_nav))
        if self.wallet_balance is not None:
            s(self, "wallet_balance", v.non_negative_amount("wallet_balance", self.wallet_balance))
        s(self, "margin_mode", _margin_mode(self.margin_mode))

    @property
    def known_margin_mode(self) -> MarginMode | None:
        """``margin_mode`` as validated (None = unknown)."""
        return self.margin_mode if isinstance(self.margin_mode, MarginMode) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Top of book and mark price of one symbol.

    ``ts_ms`` is when riskguard's caller observed it (local clock); ``exchange_ts_ms`` is the
    exchange's event time when known, so feed latency = ts_ms - exchange_ts_ms.
    ``atr`` is an optional ATR in price units used for stop estimation.
    """

    symbol: str
    mark_price: float
    ts_ms: int
    bid: float | None = None
    ask: float | None = None
    exchange_ts_ms: int | None = None
    atr: float | None = None

    @classmethod
    def trusted(cls, symbol: str, mark: float, ts_ms: int, bid: float, ask: float, atr: float | None,
                ) -> MarketSnapshot:
        """``MarketSnapshot(symbol, mark, ts_ms, bid=bid, ask=ask, exchange_ts_ms=ts_ms, atr=atr)``
        without the boundary checks, for values riskguard validated itself (the replay's marks from
        series checked once up front): a normalised symbol, finite ``0 < bid <= mark <= ask``, an int
        ``ts_ms >= 0``, ``atr`` None or finite and > 0 (prices USDT, time epoch ms). Anything from
        outside goes through the constructor."""
        snapshot = object.__new__(cls)
        put = object.__setattr__
        put(snapshot, "symbol", symbol)
        put(snapshot, "mark_price", mark)
        put(snapshot, "ts_ms", ts_ms)
        put(snapshot, "bid", bid)
        put(snapshot, "ask", ask)
        put(snapshot, "exchange_ts_ms", ts_ms)
        put(snapshot, "atr", atr)
        return snapshot

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "symbol", v.symbol("symbol", self.symbol))
        s(self, "mark_price", v.price("mark_price", self.mark_price))
        s(self, "ts_ms", v.timestamp_ms("ts_ms", self.ts_ms))
        s(self, "bid", v.optional_price("bid", self.bid))
        s(self, "ask", v.optional_price("ask", self.ask))
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise InputValidationError("bid", f"must not exceed ask {self.ask}", self.bid)
        if self.exchange_ts_ms is not None:
            s(self, "exchange_ts_ms", v.timestamp_ms("exchange_ts_ms", self.exchange_ts_ms))
        s(self, "atr", v.optional_price("atr", self.atr))

    @property
    def spread_bps(self) -> float | None:
        """(ask - bid) / mid in basis points, None when either side is unknown."""
        if self.bid is None or self.ask is None:
            return None
        mid = (self.bid + self.ask) / 2.0
        return (self.ask - self.bid) / mid * 10_000.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}
