"""``BinanceUsdm``: the ``Exchange`` protocol over ccxt's ``binanceusdm`` (synchronous).

Needs the ``exchange`` extra (``pip install riskguard[exchange]``); ccxt is imported only when an
adapter is built. Reads retry with exponential backoff (a 429/418 waits its Retry-After);
an order is never re-sent blind: after a lost answer the adapter looks the order up by its client
order id and only re-sends when the exchange has none (Binance refuses a reused client order id,
-4116, so even a late first copy cannot double the order). Conditional orders (stop, take-profit,
trailing) go through Binance's algo-order endpoints, as ccxt routes them. Every error text is
redacted before it is logged or raised.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from riskguard.exchange.binance_rules import rules_from_exchange_info
from riskguard.exchange.client_ids import close_order_id
from riskguard.exchange.credentials import Credentials, load_credentials
from riskguard.exchange.errors import (
    NO_STOP,
    STOP_KEPT,
    STOP_TRIGGERED,
    STOP_UNKNOWN,
    DuplicateClientOrderId,
    ExchangeError,
    ExchangeUnavailable,
    InstrumentUnknown,
    OrderNotFound,
    RateLimited,
    StopReplaceFailed,
    error_for_code,
)
from riskguard.exchange.redaction import redact
from riskguard.exchange.stop_replacement import check_replacement
from riskguard.exchange.types import (
    CancelResult,
    ExchangeAccount,
    ExchangeOrder,
    ExchangePosition,
    MarginMode,
    MarkPrice,
    OrderRequest,
    OrderType,
    parse_margin_mode,
)
from riskguard.model.enums import PositionSide, Side
from riskguard.model.instrument import InstrumentRules

log = logging.getLogger("riskguard.exchange")

T = TypeVar("T")
_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)')
_MSG = re.compile(r'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def make_client(credentials: Credentials | None, *, testnet: bool = False) -> Any:
    """A ``ccxt.binanceusdm`` client: USDT-M swaps, no spot currency call, rate limiter on.

    ``testnet`` routes to Binance's futures demo-trading hosts (``demo-fapi.binance.com``), which
    replaced the futures testnet; ccxt refuses the old testnet for futures.
    """
    import ccxt

    config: dict[str, Any] = {
        "enableRateLimit": True,
        "options": {
            "defaultType": "swap",
            "fetchCurrencies": False,  # else load_markets calls a signed spot endpoint first
            "fetchOpenOrders": {"warnWithoutSymbol": False},
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    }
    if credentials is not None:
        config.update(apiKey=credentials.api_key, secret=credentials.api_secret)
    client = ccxt.binanceusdm(config)
    if testnet:
        client.enable_demo_trading(True)
    return client


def translate_error(exc: BaseException, *, retry_after_s: float | None = None) -> ExchangeError:
    """A ccxt (or socket) exception as riskguard's ``ExchangeError`` with Binance's code and message,
    redacted. 429/418 become ``RateLimited`` with ``retry_after_s``; network failures ``ExchangeUnavailable``."""
    if isinstance(exc, ExchangeError):
        return exc
    import ccxt

    text = str(exc)
    code_match = _CODE.search(text)
    code = int(code_match.group(1)) if code_match else None
    message_match = _MSG.search(text)
    message = message_match.group(1) if message_match else text
    if isinstance(exc, ccxt.DDoSProtection):  # HTTP 429 / 418, or -1003
        return RateLimited(message, code=code, retry_after_s=retry_after_s)
    if code is not None:
        return error_for_code(code, message, http_status=503 if isinstance(exc, ccxt.NetworkError) else None)
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFound(message)
    if isinstance(exc, ccxt.BadSymbol):
        return InstrumentUnknown(message)
    if isinstance(exc, ccxt.NetworkError | OSError):
        return ExchangeUnavailable(message)
    return ExchangeError(f"{type(exc).__name__}: {message}")


def _f(value: object, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    return float(value)  # type: ignore[arg-type]


def _flag(value: object) -> bool:
    return value is True or str(value).lower() == "true"


def ccxt_order_arguments(order: OrderRequest, ccxt_symbol: str) -> dict[str, Any]:
    """``create_order`` keyword arguments for ``order`` (ccxt unified symbol given): the client
    order id goes in ``params.clientOrderId``, which ccxt sends unchanged instead of its own."""
    params: dict[str, Any] = {"clientOrderId": order.client_order_id}
    if order.stop_price is not None:
        params["stopPrice"] = order.stop_price
    if order.reduce_only:
        params["reduceOnly"] = True
    if order.close_position:
        params["closePosition"] = True
    if order.working_type is not None:
        params["workingType"] = order.working_type
    if order.callback_rate_pct is not None:
        params["callbackRate"] = order.callback_rate_pct
    if order.activation_price is not None:
        params["activationPrice"] = order.activation_price
    kind = {OrderType.MARKET: "market", OrderType.LIMIT: "limit"}.get(order.type, order.type.value)
    return {"symbol": ccxt_symbol, "type": kind, "side": order.side.value.lower(), "amount": order.qty,
            "price": order.price, "params": params}


class BinanceUsdm:
    """Binance USD-M futures through ccxt. ``client`` defaults to ``make_client(credentials, testnet)``;
    ``retries`` is how many times a read (or a lost order answer) is tried again, waiting
    ``backoff_s * 2**attempt`` seconds (or the exchange's Retry-After)."""

    name = "binanceusdm"

    def __init__(self, client: Any | None = None, *, credentials: Credentials | None = None, testnet: bool = False,
                 retries: int = 3, backoff_s: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], int] = _wall_clock_ms) -> None:
        self.client = client if client is not None else make_client(credentials, testnet=testnet)
        self.testnet = testnet
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_environment(cls, *, testnet: bool = False) -> BinanceUsdm:
        """An adapter with the credentials of ``RISKGUARD_BINANCE_API_KEY`` / ``_SECRET`` (or the file
        named by ``RISKGUARD_BINANCE_CREDENTIALS_FILE``); public endpoints only when none is set."""
        return cls(credentials=load_credentials(), testnet=testnet)

    # -- plumbing ---------------------------------------------------------------------------
    def _retry_after(self) -> float | None:
        headers = getattr(self.client, "last_response_headers", None) or {}
        value = next((v for k, v in dict(headers).items() if str(k).lower() == "retry-after"), None)
        try:
            return None if value is None else float(value)
        except ValueError:
            return None

    def _error(self, exc: BaseException) -> ExchangeError:
        return translate_error(exc, retry_after_s=self._retry_after())

    def _read(self, what: str, call: Callable[[], T]) -> T:
        """Run a read (or an idempotent write such as a cancel), retrying retryable failures."""
        for attempt in range(self.retries + 1):
            try:
                return call()
            except Exception as exc:
                error = self._error(exc)
                if not error.retryable or attempt == self.retries:
                    raise error from None
                self._wait(what, error, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, what: str, error: ExchangeError, attempt: int) -> None:
        delay = error.retry_after_s if error.retry_after_s is not None else self.backoff_s * 2 ** attempt
        log.warning("exchange %s failed (%s); retrying in %.2f s", what, redact(error), delay)
        self._sleep(delay)

    def _markets(self) -> dict[str, Any]:
        return dict(self._read("load_markets", lambda: self.client.load_markets()))

    def _ccxt_symbol(self, symbol: str) -> str:
        markets = self._markets()
        plain = symbol.upper().replace("/", "").split(":")[0]
        for market in markets.values():
            if market.get("id") == plain and market.get("linear") and market.get("swap"):
                return str(market["symbol"])
        raise InstrumentUnknown(f"{symbol} is not a USDT-M perpetual on Binance", code=-1121)

    @staticmethod
    def _plain(ccxt_symbol: str | None) -> str:
        return (ccxt_symbol or "").split(":")[0].replace("/", "")

    def _order(self, raw: Mapping[str, Any]) -> ExchangeOrder:
        info: Mapping[str, Any] = raw.get("info") or {}
        kind = str(info.get("orderType") or info.get("type") or raw.get("type") or "").upper()
        trigger = raw.get("triggerPrice") or raw.get("stopPrice") or info.get("triggerPrice")
        amount = raw.get("amount")
        return ExchangeOrder(
            order_id=str(raw.get("id") or info.get("algoId") or info.get("orderId")),
            client_order_id=raw.get("clientOrderId") or info.get("clientAlgoId") or info.get("clientOrderId"),
            symbol=self._plain(raw.get("symbol")) or str(info.get("symbol", "")),
            type=kind, side=Side(str(raw.get("side") or info.get("side")).upper()),
            qty=None if amount in (None, 0, 0.0) and _flag(info.get("closePosition")) else _f(amount),
            filled_qty=_f(raw.get("filled")), price=_f(raw.get("price")) or None,
            avg_price=_f(raw.get("average")) or None, stop_price=_f(trigger) or None,
            reduce_only=_flag(raw.get("reduceOnly")) or _flag(info.get("reduceOnly")),
            close_position=_flag(info.get("closePosition")), status=str(raw.get("status") or "open"),
            ts_ms=raw.get("timestamp"))

    # -- reads ------------------------------------------------------------------------------
    def instruments(self) -> dict[str, InstrumentRules]:
        """Rules of every USDT-margined perpetual: exchangeInfo filters and leverageBracket tiers."""
        markets = self._markets()
        perpetuals = {m["symbol"]: m for m in markets.values()
                      if m.get("swap") and m.get("linear") and m.get("settle") == "USDT"
                      and m.get("info", {}).get("contractType") == "PERPETUAL"}
        tiers = self._read("fetch_leverage_tiers",
                           lambda: self.client.fetch_leverage_tiers(sorted(perpetuals)))
        rules = {}
        for ccxt_symbol, market in sorted(perpetuals.items()):
            raw_brackets = [tier.get("info", {}) for tier in tiers.get(ccxt_symbol, ())]
            rule = rules_from_exchange_info(market["info"], raw_brackets)
            rules[rule.symbol] = rule
        return rules

    def account(self) -> ExchangeAccount:
        """``GET /fapi/v3/account``: margin balance (NAV), wallet, available, unrealised PnL (USDT).
        ``ts_ms`` is when the answer arrived; the exchange's own update time is the latest
        ``updateTime`` of the account or its assets."""
        balance = self._read("fetch_balance", lambda: self.client.fetch_balance())
        info: Mapping[str, Any] = balance.get("info") or {}
        updates = [int(_f(info.get("updateTime")))] + [int(_f(a.get("updateTime"))) for a in info.get("assets", ())]
        exchange_ts = max(updates)
        return ExchangeAccount(
            nav=_f(info.get("totalMarginBalance")), wallet_balance=_f(info.get("totalWalletBalance")),
            available_balance=_f(info.get("availableBalance")), unrealized_pnl=_f(info.get("totalUnrealizedProfit")),
            margin_mode=None, ts_ms=self._clock(), exchange_ts_ms=exchange_ts or None)

    def positions(self) -> list[ExchangePosition]:
        """``GET /fapi/v3/positionRisk``: open positions with Binance's liquidation price and margins."""
        raw = self._read("fetch_positions", lambda: self.client.fetch_positions())
        result = []
        for position in raw:
            info: Mapping[str, Any] = position.get("info") or {}
            amount = _f(info.get("positionAmt", position.get("contracts")))
            if amount == 0.0:
                continue
            mode = parse_margin_mode(position.get("marginMode") or info.get("marginType") or "cross")
            notional = abs(_f(info.get("notional", position.get("notional"))))
            initial = _f(info.get("positionInitialMargin", info.get("initialMargin")))
            leverage = _f(position.get("leverage")) or (round(notional / initial) if initial > 0 else 1.0)
            margin = _f(info.get("isolatedWallet")) if mode is MarginMode.ISOLATED else initial
            result.append(ExchangePosition(
                symbol=str(info.get("symbol") or self._plain(position.get("symbol"))),
                side=PositionSide.LONG if amount > 0 else PositionSide.SHORT, qty=abs(amount),
                entry_price=_f(info.get("entryPrice", position.get("entryPrice"))),
                mark_price=_f(info.get("markPrice", position.get("markPrice"))),
                liquidation_price=_f(info.get("liquidationPrice", position.get("liquidationPrice"))),
                margin=margin, maintenance_margin=_f(info.get("maintMargin", position.get("maintenanceMargin"))),
                unrealized_pnl=_f(info.get("unRealizedProfit", position.get("unrealizedPnl"))),
                leverage=float(leverage), margin_mode=mode))
        return sorted(result, key=lambda p: p.symbol)

    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Open regular orders (``/fapi/v1/openOrders``) and conditional ones (``/fapi/v1/openAlgoOrders``)."""
        target = None if symbol is None else self._ccxt_symbol(symbol)
        regular = self._read("fetch_open_orders", lambda: self.client.fetch_open_orders(target))
        conditional = self._read("fetch_open_orders(trigger)",
                                 lambda: self.client.fetch_open_orders(target, None, None, {"trigger": True}))
        return [self._order(o) for o in [*regular, *conditional]]

    def mark_price(self, symbol: str) -> MarkPrice:
        """``GET /fapi/v1/premiumIndex``: mark price, current funding rate, next funding time."""
        target = self._ccxt_symbol(symbol)
        rate = self._read("fetch_funding_rate", lambda: self.client.fetch_funding_rate(target))
        return MarkPrice(symbol=self._plain(target), mark_price=_f(rate.get("markPrice")),
                         funding_rate=_f(rate.get("fundingRate")),
                         next_funding_ms=rate.get("fundingTimestamp") or rate.get("nextFundingTimestamp"),
                         ts_ms=rate.get("timestamp") or self._clock())

    def order_by_client_id(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """Look ``client_order_id`` up among regular orders, then among conditional (algo) orders."""
        target = self._ccxt_symbol(symbol)
        for conditional in (False, True):
            params: dict[str, Any] = {"clientOrderId": client_order_id}
            if conditional:
                params["trigger"] = True
            try:
                raw = self._fetch_order(target, params)
            except OrderNotFound:
                continue
            return self._order(raw)
        return None

    def _fetch_order(self, target: str, params: dict[str, Any]) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self._read("fetch_order", lambda: self.client.fetch_order(None, target, params))
        return result

    # -- writes -----------------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> ExchangeOrder:
        """Send ``order`` once; after a lost or throttled answer, look it up by client order id and
        re-send only if the exchange does not have it."""
        arguments = ccxt_order_arguments(order, self._ccxt_symbol(order.symbol))
        for attempt in range(self.retries + 1):
            if attempt > 0:
                found = self.order_by_client_id(order.symbol, order.client_order_id)
                if found is not None:
                    return found
            try:
                return self._order(self.client.create_order(**arguments))
            except Exception as exc:
                error = self._error(exc)
                if isinstance(error, DuplicateClientOrderId) and attempt > 0:
                    found = self.order_by_client_id(order.symbol, order.client_order_id)
                    if found is not None:
                        return found
                if not error.retryable or attempt == self.retries:
                    raise error from None
                self._wait(f"create_order {order.client_order_id}", error, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def place_orders(self, orders: Sequence[OrderRequest]) -> list[ExchangeOrder]:
        """Place ``orders`` one by one (an exit plan's legs); the first refusal raises."""
        return [self.place_order(order) for order in orders]

    def _conditional(self, target: str, client_order_id: str) -> ExchangeOrder | None:
        """The conditional (algo) order ``client_order_id`` of ``target``, whatever its status, or None."""
        try:
            return self._order(self._fetch_order(target, {"clientOrderId": client_order_id, "trigger": True}))
        except OrderNotFound:
            return None

    def replace_stop(self, stop: OrderRequest, *, previous_client_id: str) -> ExchangeOrder:
        """``DELETE /fapi/v1/algoOrder`` of the previous stop by ``clientAlgoId``, then ``POST
        /fapi/v1/algoOrder`` of ``stop`` (``place_order``: looked up, never re-sent blind). When
        the previous stop is not found (a repeated call, or it fired), both stops are looked up
        first: a fired one stops the move, a new one already placed is returned. Failures raise
        ``StopReplaceFailed`` with the position's state (``riskguard.exchange.stop_replacement``)."""
        check_replacement(stop, previous_client_id)
        target = self._ccxt_symbol(stop.symbol)
        where = f"stop {previous_client_id} -> {stop.client_order_id} of {stop.symbol}"
        try:
            try:
                self._read(f"cancel_order {previous_client_id}", lambda: self.client.cancel_order(
                    None, target, {"clientOrderId": previous_client_id, "trigger": True}))
            except OrderNotFound:
                previous = self._conditional(target, previous_client_id)
                if previous is not None and previous.status == "closed":
                    raise StopReplaceFailed(STOP_TRIGGERED, f"{where}: the previous stop has already fired; "
                                            "nothing was placed") from None
                if previous is not None and previous.is_open:
                    raise StopReplaceFailed(STOP_KEPT, f"{where}: the previous stop is still open although its "
                                            "cancel found no order; nothing was placed") from None
                placed = self._conditional(target, stop.client_order_id)
                if placed is not None:
                    return placed
        except StopReplaceFailed:
            raise
        except ExchangeError as exc:
            state = STOP_UNKNOWN if exc.retryable else STOP_KEPT
            raise StopReplaceFailed(state, f"{where}: the previous stop could not be cancelled", cause=exc) from None
        try:
            return self.place_order(stop)
        except ExchangeError as exc:
            state = STOP_UNKNOWN if exc.retryable else NO_STOP
            raise StopReplaceFailed(state, f"{where}: the previous stop is cancelled and the new one was not "
                                    "placed: the position may have no stop", cause=exc) from None

    def cancel_all(self, symbol: str) -> CancelResult:
        """``DELETE /fapi/v1/allOpenOrders`` then ``DELETE /fapi/v1/algoOpenOrders`` for ``symbol``;
        reports the ids that were open just before."""
        target = self._ccxt_symbol(symbol)
        before = self.open_orders(symbol)
        self._read("cancel_all_orders", lambda: self.client.cancel_all_orders(target))
        self._read("cancel_all_orders(trigger)", lambda: self.client.cancel_all_orders(target, {"trigger": True}))
        return CancelResult(self._plain(target), tuple(o.order_id for o in before if not o.conditional),
                            tuple(o.order_id for o in before if o.conditional))

    def close_all(self, client_id_prefix: str) -> list[ExchangeOrder]:
        """One reduce-only market order per open position (Binance has no close-all endpoint)."""
        closed = []
        for position in self.positions():
            side = Side.SELL if position.side is PositionSide.LONG else Side.BUY
            closed.append(self.place_order(OrderRequest(
                symbol=position.symbol, type=OrderType.MARKET, side=side, qty=position.qty,
                client_order_id=close_order_id(client_id_prefix, position.symbol), reduce_only=True)))
        return closed

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """``POST /fapi/v1/leverage``."""
        target = self._ccxt_symbol(symbol)
        self._read("set_leverage", lambda: self.client.set_leverage(int(leverage), target))

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """``POST /fapi/v1/marginType`` (no error when it is already set)."""
        target = self._ccxt_symbol(symbol)
        self._read("set_margin_mode", lambda: self.client.set_margin_mode(MarginMode(mode).value, target))

