"""A Python client of ``riskguard serve`` with the calls and return shapes of the in-process gate.

``reserve`` and ``check`` fail closed: when the service cannot be reached, times out, refuses the
token or answers with an error, they return a veto with reason ``service_unavailable`` and the
error, never an approval. ``reserve`` is retried safely: the service is idempotent by
``intent_id`` (a retry returns the first decision). ``release`` and ``move_stop`` are safe to
repeat too. ``fill`` and ``close`` are not idempotent: they are retried only when the connection
was refused (the request surely never arrived); otherwise the error is raised for the bot to
reconcile.

httpx (the ``service`` extra) gives one pooled keep-alive connection, per-phase timeouts and typed
errors that say whether a request left the process, which is what the retry rules above need.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from riskguard.ledger.rows import CloseResult, FillResult
from riskguard.ledger.stop_moves import StopMove
from riskguard.model.decision import Detail
from riskguard.model.enums import TradingState
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

SERVICE_UNAVAILABLE = "service_unavailable"
_RETRY_STATUS = frozenset({502, 503, 504})
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class RiskServiceError(RuntimeError):
    """A call other than check / reserve failed (``status`` None when no answer came)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _restore(value: Any) -> Any:
    """The service's JSON with the non-finite numbers ("inf", "-inf", "nan") as floats again."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def _order_body(order: OrderIntent | Signal, market: Sequence[MarketSnapshot]) -> dict[str, Any]:
    key = "intent" if isinstance(order, OrderIntent) else "signal"
    fields = {k: (v.value if hasattr(v, "value") else v) for k, v in order.to_dict().items()}
    return {key: fields, "market": [m.to_dict() for m in market]}


def _problem(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text[:200]
    return f"HTTP {response.status_code}: {detail}"


class RiskClient:
    """``RiskClient(url, token)``: ``url`` of the service (e.g. ``http://127.0.0.1:8787``), a bearer
    token with the scopes the calls need (``trade`` and ``read``).

    ``timeout_s``: per request (connect, read, write), seconds. ``retries``: extra attempts after a
    failure that allows one (see the module doc), ``backoff_s`` apart, doubling.
    """

    def __init__(self, url: str, token: str, *, timeout_s: float = 2.0, retries: int = 2, backoff_s: float = 0.1,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})

    def __enter__(self) -> RiskClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close_connection()

    def close_connection(self) -> None:
        """Close the pooled connection."""
        self._http.close()

    # -- transport -------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: dict[str, Any] | None,
              retry_if: Callable[[Exception | httpx.Response], bool]) -> httpx.Response:
        """Send with retries; returns the last response (any status) or raises the last transport error."""
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, path, json=body)
            except httpx.HTTPError as exc:
                if last or not retry_if(exc):
                    raise
            else:
                if last or not retry_if(response):
                    return response
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _idempotent(outcome: Exception | httpx.Response) -> bool:
        if isinstance(outcome, httpx.Response):
            return outcome.status_code in _RETRY_STATUS
        return isinstance(outcome, httpx.TransportError)

    @staticmethod
    def _never_arrived(outcome: Exception | httpx.Response) -> bool:
        return isinstance(outcome, httpx.ConnectError)

    def _call(self, method: str, path: str, body: dict[str, Any] | None, *, idempotent: bool) -> dict[str, Any]:
        try:
            response = self._send(method, path, body, self._idempotent if idempotent else self._never_arrived)
        except httpx.HTTPError as exc:
            raise RiskServiceError(f"riskguard service unreachable at {self.url}: {type(exc).__name__}: {exc}") \
                from None
        if response.status_code != 200:
            raise RiskServiceError(_problem(response), response.status_code)
        data: dict[str, Any] = _restore(response.json())
        return data

    def _decide(self, path: str, order: OrderIntent | Signal,
                market: Sequence[MarketSnapshot]) -> tuple[bool, Detail, str | None]:
        try:
            data = self._call("POST", path, _order_body(order, market), idempotent=True)
        except RiskServiceError as exc:
            return True, self._unavailable(order, str(exc)), None
        return bool(data["veto"]), data["detail"], data.get("reservation_id")

    @staticmethod
    def _unavailable(order: OrderIntent | Signal, message: str) -> Detail:
        order_id = order.intent_id if isinstance(order, OrderIntent) else order.signal_id
        return {"decision_id": None, "intent_id": order_id, "strategy": order.strategy, "symbol": order.symbol,
                "side": str(order.side), "veto": True, "approved": False, "reasons": [SERVICE_UNAVAILABLE],
                "warnings": [], "error": message, "checks": []}

    # -- the gate's calls ------------------------------------------------------------------
    def check(self, order: OrderIntent | Signal, market: Sequence[MarketSnapshot] = ()) -> tuple[bool, Detail]:
        """Dry run: ``(veto, detail)``; a veto (``service_unavailable``) when the service cannot answer."""
        veto, detail, _ = self._decide("/v1/check", order, market)
        return veto, detail

    def reserve(self, order: OrderIntent | Signal,
                market: Sequence[MarketSnapshot] = ()) -> tuple[bool, Detail, str | None]:
        """Decide and record: ``(veto, detail, reservation_id)``, as ``RiskGate.reserve``; retried
        safely by ``intent_id``; fails closed (veto ``service_unavailable``)."""
        return self._decide("/v1/reserve", order, market)

    def fill(self, reservation_id: str, qty: float, price: float, fee: float = 0.0) -> FillResult:
        """Record a (partial) fill: qty base units, price and fee USDT."""
        data = self._call("POST", "/v1/fill", {"reservation_id": reservation_id, "qty": qty, "price": price,
                                               "fee": fee}, idempotent=False)
        return FillResult(**data)

    def placed(self, reservation_id: str) -> bool:
        """Declare the reservation's order sent, before sending it (it then keeps its budget until
        filled or released). False: too late, do not send. Safe to repeat."""
        data = self._call("POST", "/v1/placed", {"reservation_id": reservation_id}, idempotent=True)
        return bool(data["placed"])

    def release(self, reservation_id: str) -> bool:
        """Return a reservation's unfilled budget; False when it was no longer active."""
        data = self._call("POST", "/v1/release", {"reservation_id": reservation_id}, idempotent=True)
        return bool(data["released"])

    def close(self, strategy: str, symbol: str, price: float, *, qty: float | None = None, fee: float = 0.0,
              funding: float = 0.0) -> CloseResult:
        """Close (or with ``qty`` reduce) a position at ``price`` USDT."""
        data = self._call("POST", "/v1/close", {"strategy": strategy, "symbol": symbol, "price": price, "qty": qty,
                                                "fee": fee, "funding": funding}, idempotent=False)
        return CloseResult(**data)

    def move_stop(self, strategy: str, symbol: str, stop_price: float, *, reason: str = "manual") -> StopMove:
        """Tighten an open position's stop to ``stop_price`` USDT once the replacement stop order is
        on the exchange (``RiskGate.move_stop``). Safe to repeat; a looser stop raises
        RiskServiceError with status 409, no open position 404."""
        data = self._call("POST", "/v1/stop", {"strategy": strategy, "symbol": symbol, "stop_price": stop_price,
                                               "reason": reason}, idempotent=True)
        return StopMove(**data)

    def mark_nav(self, snapshot: AccountSnapshot, *, source: str = "exchange") -> bool:
        """Store a NAV mark (False: older than the stored one). Safe to repeat."""
        data = self._call("POST", "/v1/nav", {**snapshot.to_dict(), "source": source}, idempotent=True)
        return bool(data["stored"])

    def update_market(self, snapshot: MarketSnapshot) -> bool:
        """Give the service a market snapshot (per worker process; see docs/service.md)."""
        self._call("POST", "/v1/market", {"markets": [snapshot.to_dict()]}, idempotent=True)
        return True

    def set_trading_state(self, state: TradingState | str, reason: str) -> dict[str, Any]:
        """Set ACTIVE, REDUCING or HALTED (needs the ``admin`` scope); returns the state as stored."""
        value = state.value if isinstance(state, TradingState) else str(state).upper()
        return self._call("PUT", "/v1/state", {"state": value, "reason": reason}, idempotent=True)

    def trading_state(self) -> dict[str, Any]:
        """The account's trading state, who set it and why."""
        return self._call("GET", "/v1/state", None, idempotent=True)
