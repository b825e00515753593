"""Shared helpers for the monitor tests: a ledger gate and a paper exchange holding the same
positions, and an exchange wrapper whose calls fail on demand."""

from __future__ import annotations

from typing import Any

from ledger_fixtures import PRICES, Clock, buy
from riskguard.engine.instruments import default_instruments
from riskguard.exchange import ExchangeUnavailable, OrderRequest, OrderType, PaperExchange
from riskguard.model.enums import Side
from riskguard.runtime import RiskGate


def paper_exchange(clock: Clock, wallet: float = 4_400.0) -> PaperExchange:
    """A paper account with the ledger tests' marks."""
    exchange = PaperExchange(default_instruments(), wallet_balance=wallet, clock=clock)
    for symbol, price in PRICES.items():
        exchange.set_mark(symbol, price)
    return exchange


def open_position(gate: RiskGate, exchange: PaperExchange | None, intent_id: str, symbol: str = "BTCUSDT",
                  notional: float = 400.0, side: str = "BUY", strategy: str = "s1", **fields: Any) -> float:
    """Reserve, fill in the ledger and (with an exchange) hold the same quantity there; returns qty.
    Moves the gate's clock on 10 ms first (past the test posture's 1 ms cooldown)."""
    clock = gate.engine.clock
    if isinstance(clock, Clock):
        clock.advance(10)
    veto, detail, reservation_id = gate.reserve(buy(intent_id, symbol, notional, strategy, side, **fields))
    assert not veto and reservation_id is not None, detail["reasons"]
    qty = float(detail["sized"]["qty"])
    gate.fill(reservation_id, qty, PRICES[symbol])
    if exchange is not None:
        exchange.place_order(OrderRequest(symbol=symbol, type=OrderType.MARKET, side=Side(side), qty=qty,
                                          client_order_id=f"{intent_id}.entry"))
    return qty


class FlakyExchange:
    """Delegates to a paper exchange; ``fail_close[symbol] = n`` fails the next n orders of that
    symbol, ``down = True`` fails every call (the exchange unreachable)."""

    def __init__(self, inner: PaperExchange) -> None:
        self.inner = inner
        self.name = "flaky-paper"
        self.fail_close: dict[str, int] = {}
        self.down = False
        self.placed: list[OrderRequest] = []

    def _check(self) -> None:
        if self.down:
            raise ExchangeUnavailable("connection refused")

    def place_order(self, order: OrderRequest) -> Any:
        self._check()
        left = self.fail_close.get(order.symbol, 0)
        if left:
            self.fail_close[order.symbol] = left - 1
            raise ExchangeUnavailable(f"502 Bad Gateway placing {order.symbol}")
        self.placed.append(order)
        return self.inner.place_order(order)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if callable(attribute):
            def call(*args: Any, **kwargs: Any) -> Any:
                self._check()
                return attribute(*args, **kwargs)
            return call
        return attribute


class PersistedExchange:
    """A paper exchange kept in a pickle file, so that two processes act on one account: loaded on
    creation, saved after every write. With ``die_after_order_in`` set, the process kills itself
    (SIGKILL) right after the exchange filled an order of that symbol: before the caller could
    record anything."""

    def __init__(self, path: str, die_after_order_in: str | None = None) -> None:
        import pickle

        self.path = path
        with open(path, "rb") as handle:
            self.inner: PaperExchange = pickle.load(handle)
        self.name = "persisted-paper"
        self.die_after_order_in = die_after_order_in

    def save(self) -> None:
        import pickle

        with open(self.path, "wb") as handle:
            pickle.dump(self.inner, handle)

    def place_order(self, order: OrderRequest) -> Any:
        import os
        import signal

        placed = self.inner.place_order(order)
        self.save()
        if order.symbol == self.die_after_order_in:
            os.kill(os.getpid(), signal.SIGKILL)
        return placed

    def cancel_all(self, symbol: str) -> Any:
        result = self.inner.cancel_all(symbol)
        self.save()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
