"""``PaperExchange``: a deterministic Binance USD-M account in memory, behind the ``Exchange`` protocol.

Used by the demo, replay and tests. Market orders fill at once at the mark price moved against the
taker by ``slippage_bps`` (rounded to the tick, away from the taker); limit and conditional orders
rest until ``set_mark`` crosses them. Fees are a fraction of the fill's notional. One-way mode: one
position per symbol. It refuses what Binance refuses (unknown symbol, quantity off the step grid,
below min notional, above max quantity, limit price outside the PERCENT_PRICE band, insufficient
margin, a reduce-only order that would not reduce, a reused client order id) with the same error
codes. Margin, maintenance margin and liquidation prices come from ``riskguard.math.margin``: this
module holds no second implementation of a risk rule. It does not liquidate positions by itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from riskguard.exchange.client_ids import close_order_id
from riskguard.exchange.errors import (
    NO_STOP,
    STOP_TRIGGERED,
    DuplicateClientOrderId,
    ExchangeError,
    InstrumentUnknown,
    InvalidOrder,
    MarginInsufficient,
    MinNotionalNotMet,
    ReduceOnlyRejected,
    StopReplaceFailed,
)
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
)
from riskguard.math.margin import bracket_for, initial_margin, liquidation_price, maintenance_margin
from riskguard.model import validation as v
from riskguard.model.enums import PositionSide, Side
from riskguard.model.instrument import InstrumentRules
from riskguard.model.rounding import ceil_to_step, floor_to_step

BINANCE_TAKER_FEE = 0.0005
"""Binance USD-M regular-user (VIP 0) taker fee, fraction of notional."""
BINANCE_MAKER_FEE = 0.0002
"""Binance USD-M regular-user (VIP 0) maker fee, fraction of notional."""
_STEP_SLACK = 1e-9  # relative: a quantity this close to a step multiple is on the grid


@dataclass(frozen=True, slots=True)
class PaperFill:
    """One fill the paper exchange made: ``fee`` and ``realized_pnl`` in USDT (PnL before the fee)."""

    order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    realized_pnl: float
    ts_ms: int


@dataclass(slots=True)
class _Holding:
    signed_qty: float
    entry_price: float
    isolated_margin: float


@dataclass(slots=True)
class _Trailing:
    callback: float
    activation: float | None
    extreme: float | None = None


class PaperExchange:
    """An in-memory USD-M futures account with ``wallet_balance`` USDT and the given instruments.

    ``clock`` returns epoch ms (every timestamp comes from it, so runs are reproducible).
    ``slippage_bps`` moves market fills against the taker, in basis points of the mark price.
    """

    name = "paper"

    def __init__(self, instruments: Mapping[str, InstrumentRules] | Sequence[InstrumentRules], *,
                 wallet_balance: float, clock: Callable[[], int],
                 taker_fee: float = BINANCE_TAKER_FEE, maker_fee: float = BINANCE_MAKER_FEE,
                 slippage_bps: float = 0.0, default_leverage: int = 20,
                 margin_mode: MarginMode = MarginMode.CROSS) -> None:
        rules = instruments.values() if isinstance(instruments, Mapping) else instruments
        self._rules = {r.symbol: r for r in rules}
        self._wallet = v.non_negative("wallet_balance", wallet_balance)
        self._clock = clock
        self.taker_fee = v.fraction("taker_fee", taker_fee)
        self.maker_fee = v.fraction("maker_fee", maker_fee)
        self.slippage_bps = v.non_negative("slippage_bps", slippage_bps)
        self._default_leverage = int(v.positive("default_leverage", default_leverage))
        self._default_mode = MarginMode(margin_mode)
        self._marks: dict[str, float] = {}
        self._funding: dict[str, float] = {}
        self._leverage: dict[str, int] = {}
        self._modes: dict[str, MarginMode] = {}
        self._holdings: dict[str, _Holding] = {}
        self._orders: dict[str, ExchangeOrder] = {}
        self._trailing: dict[str, _Trailing] = {}
        self._by_client: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.fills: list[PaperFill] = []

    # -- the market --------------------------------------------------------------------------
    def set_mark(self, symbol: str, mark_price: float, *, funding_rate: float | None = None) -> list[ExchangeOrder]:
        """Move the mark price of ``symbol`` (USDT) and fill every resting order it crosses, in the
        order they were placed; returns the orders that filled or expired."""
        rules = self._instrument(symbol)
        self._marks[rules.symbol] = v.positive("mark_price", mark_price)
        if funding_rate is not None:
            self._funding[rules.symbol] = v.finite("funding_rate", funding_rate)
        touched = []
        for order in [o for o in self._orders.values() if o.symbol == rules.symbol and o.is_open]:
            if self._crossed(order):
                touched.append(self._execute(order.order_id, taker=order.type != OrderType.LIMIT.value))
        return touched

    def apply_funding(self, symbol: str) -> float:
        """Charge one funding interval on the open position of ``symbol`` at its funding rate and
        mark: longs pay ``qty * mark * rate`` when the rate is positive. Returns the wallet change (USDT)."""
        rules = self._instrument(symbol)
        holding = self._holdings.get(rules.symbol)
        if holding is None:
            return 0.0
        amount = -holding.signed_qty * self._mark(rules.symbol) * self._funding.get(rules.symbol, 0.0)
        self._wallet += amount
        return amount

    # -- reads ------------------------------------------------------------------------------
    def instruments(self) -> dict[str, InstrumentRules]:
        """Symbol -> rules this paper account trades."""
        return dict(self._rules)

    def account(self) -> ExchangeAccount:
        """Wallet, unrealised PnL, margin balance (NAV) and available balance (USDT) now."""
        positions = self.positions()
        upnl = sum((p.unrealized_pnl for p in positions), 0.0)
        nav = self._wallet + upnl
        used = sum((p.margin for p in positions), 0.0)
        return ExchangeAccount(nav=nav, wallet_balance=self._wallet, available_balance=nav - used,
                               unrealized_pnl=upnl, margin_mode=self._default_mode, ts_ms=self._clock())

    def positions(self) -> list[ExchangePosition]:
        """Open positions with mark, margin, maintenance margin and liquidation price."""
        views = {s: self._view(s, h) for s, h in sorted(self._holdings.items())}
        return [self._with_liquidation(view, views) for view in views.values()]

    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Open orders (regular and conditional), of ``symbol`` or all, in placement order."""
        wanted = None if symbol is None else self._instrument(symbol).symbol
        return [o for o in self._orders.values() if o.is_open and (wanted is None or o.symbol == wanted)]

    def mark_price(self, symbol: str) -> MarkPrice:
        """The mark price set last and the funding rate of ``symbol``."""
        rules = self._instrument(symbol)
        return MarkPrice(rules.symbol, self._mark(rules.symbol), self._funding.get(rules.symbol, 0.0), None,
                         self._clock())

    def order_by_client_id(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """The order placed with ``client_order_id``, whatever its status, or None."""
        order_id = self._by_client.get(client_order_id)
        return None if order_id is None else self._orders[order_id]

    # -- writes -----------------------------------------------------------------------------
    def place_order(self, order: OrderRequest) -> ExchangeOrder:
        """Accept ``order`` (Binance's checks, same error codes); market orders fill at once."""
        rules = self._instrument(order.symbol)
        if order.client_order_id in self._by_client:
            raise DuplicateClientOrderId("ClientOrderId is duplicated.", code=-4116)
        mark = self._mark(rules.symbol)
        qty = order.qty
        if qty is not None:
            self._check_quantity(rules, order, qty, mark)
        if order.type is OrderType.LIMIT and order.price is not None:
            self._check_band(rules, order.price, mark)
        if order.exits_only and order.type is OrderType.MARKET:
            self._reducible(rules.symbol, order.side)
        if not order.exits_only and qty is not None:
            self._check_margin(rules, order.side, qty, order.price or mark)
        placed = ExchangeOrder(
            order_id=str(next(self._ids)), client_order_id=order.client_order_id, symbol=rules.symbol,
            type=order.type.value, side=order.side, qty=qty, filled_qty=0.0, price=order.price, avg_price=None,
            stop_price=order.stop_price, reduce_only=order.reduce_only, close_position=order.close_position,
            status="open", ts_ms=self._clock())
        triggers_now = order.type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET) and self._crossed(placed)
        if triggers_now:
            raise InvalidOrder("Order would immediately trigger.", code=-2021)
        order_id = placed.order_id
        self._orders[order_id] = placed
        self._by_client[order.client_order_id] = order_id
        if order.type is OrderType.TRAILING_STOP_MARKET:
            self._trailing[order_id] = _Trailing((order.callback_rate_pct or 1.0) / 100.0, order.activation_price)
            self._crossed(placed)  # starts tracking at once when there is no activation price
        if order.type is OrderType.MARKET or (order.type is OrderType.LIMIT and self._crossed(placed)):
            return self._execute(order_id, taker=True)
        return placed

    def place_orders(self, orders: Sequence[OrderRequest]) -> list[ExchangeOrder]:
        """Place ``orders`` one after another; the first refusal raises (earlier ones stay placed)."""
        return [self.place_order(order) for order in orders]

    def replace_stop(self, stop: OrderRequest, *, previous_client_id: str) -> ExchangeOrder:
        """Cancel the stop ``previous_client_id`` (if still open), then place ``stop``; a repeat
        returns the stop placed the first time (see ``riskguard.exchange.stop_replacement``)."""
        check_replacement(stop, previous_client_id)
        placed = self.order_by_client_id(stop.symbol, stop.client_order_id)
        if placed is not None:
            return placed
        previous = self.order_by_client_id(stop.symbol, previous_client_id)
        if previous is not None and previous.status == "closed":
            raise StopReplaceFailed(STOP_TRIGGERED, f"stop {previous_client_id} of {stop.symbol} has already fired; "
                                    f"{stop.client_order_id} was not placed")
        if previous is not None and previous.is_open:
            self._orders[previous.order_id] = replace(previous, status="canceled")
        try:
            return self.place_order(stop)
        except ExchangeError as exc:
            raise StopReplaceFailed(NO_STOP, f"stop {previous_client_id} of {stop.symbol} was cancelled and "
                                    f"{stop.client_order_id} refused: the position has no stop", cause=exc) from None

    def cancel_all(self, symbol: str) -> CancelResult:
        """Cancel every open order of ``symbol``; regular and conditional ids are reported apart."""
        rules = self._instrument(symbol)
        regular: list[str] = []
        conditional: list[str] = []
        for order in self.open_orders(rules.symbol):
            self._orders[order.order_id] = replace(order, status="canceled")
            (conditional if order.conditional else regular).append(order.order_id)
        return CancelResult(rules.symbol, tuple(regular), tuple(conditional))

    def close_all(self, client_id_prefix: str) -> list[ExchangeOrder]:
        """Close every position with a reduce-only market order (client id per symbol from the prefix)."""
        closed = []
        for symbol, holding in sorted(self._holdings.items()):
            side = Side.SELL if holding.signed_qty > 0 else Side.BUY
            closed.append(self.place_order(OrderRequest(
                symbol=symbol, type=OrderType.MARKET, side=side, qty=abs(holding.signed_qty),
                client_order_id=close_order_id(client_id_prefix, symbol), reduce_only=True)))
        return closed

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Leverage for new orders of ``symbol``; refused (-4028) above the bracket's ceiling for the
        current position notional."""
        rules = self._instrument(symbol)
        holding = self._holdings.get(rules.symbol)
        notional = abs(holding.signed_qty) * self._mark(rules.symbol) if holding else 0.0
        ceiling = rules.max_leverage_for(notional)  # None beyond the last bracket: no leverage at all
        if ceiling is None or not 1 <= leverage <= ceiling:
            raise InvalidOrder(f"Leverage {leverage} is not valid", code=-4028)
        self._leverage[rules.symbol] = int(leverage)

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Cross or isolated for ``symbol``; refused (-4048) while a position or an order is open."""
        rules = self._instrument(symbol)
        if rules.symbol in self._holdings or self.open_orders(rules.symbol):
            raise ExchangeError("Margin type cannot be changed if there exists position.", code=-4048)
        self._modes[rules.symbol] = MarginMode(mode)

    # -- internals --------------------------------------------------------------------------
    def _instrument(self, symbol: str) -> InstrumentRules:
        rules = self._rules.get(v.symbol("symbol", symbol))
        if rules is None:
            raise InstrumentUnknown(f"Invalid symbol {symbol}.", code=-1121)
        return rules

    def _mark(self, symbol: str) -> float:
        mark = self._marks.get(symbol)
        if mark is None:
            raise ExchangeError(f"no mark price for {symbol} yet: call set_mark first")
        return mark

    def _mode(self, symbol: str) -> MarginMode:
        return self._modes.get(symbol, self._default_mode)

    def _check_quantity(self, rules: InstrumentRules, order: OrderRequest, qty: float, mark: float) -> None:
        steps = qty / rules.step_size
        if abs(steps - round(steps)) > _STEP_SLACK * max(1.0, steps):
            raise InvalidOrder(f"Precision is over the maximum defined for this asset ({qty}).", code=-1111)
        if qty < rules.min_qty * (1.0 - _STEP_SLACK):
            raise InvalidOrder(f"Quantity less than or equal to zero or below min qty {rules.min_qty}.", code=-4003)
        cap = rules.max_qty if order.type is OrderType.LIMIT else rules.market_max_qty
        if qty > cap:
            raise InvalidOrder(f"Quantity greater than max quantity {cap}.", code=-4005)
        if not order.exits_only and qty * (order.price or order.stop_price or mark) < rules.min_notional:
            raise MinNotionalNotMet(f"Order's notional must be no smaller than {rules.min_notional} "
                                    "(unless you choose reduce only).", code=-4164)

    def _check_band(self, rules: InstrumentRules, price: float, mark: float) -> None:
        if price > mark * rules.percent_price_up:
            raise InvalidOrder(f"Limit price can't be higher than {mark * rules.percent_price_up}.", code=-4016)
        if price < mark * rules.percent_price_down:
            raise InvalidOrder(f"Limit price can't be lower than {mark * rules.percent_price_down}.", code=-4024)

    def _reducible(self, symbol: str, side: Side) -> _Holding:
        holding = self._holdings.get(symbol)
        if holding is None or (holding.signed_qty > 0) == (side is Side.BUY):
            raise ReduceOnlyRejected("ReduceOnly Order is rejected.", code=-2022)
        return holding

    def _check_margin(self, rules: InstrumentRules, side: Side, qty: float, price: float) -> None:
        holding = self._holdings.get(rules.symbol)
        adding = qty
        if holding is not None and (holding.signed_qty > 0) != (side is Side.BUY):
            adding = max(0.0, qty - abs(holding.signed_qty))
        needed = initial_margin(adding * price, self._leverage.get(rules.symbol, self._default_leverage))
        if needed > self.account().available_balance:
            raise MarginInsufficient("Margin is insufficient.", code=-2019)

    def _crossed(self, order: ExchangeOrder) -> bool:
        """Whether the current mark fills (limit) or triggers (conditional) ``order``."""
        mark = self._mark(order.symbol)
        buy = order.side is Side.BUY
        if order.type == OrderType.LIMIT.value:
            return order.price is not None and (mark <= order.price if buy else mark >= order.price)
        if order.type == OrderType.STOP_MARKET.value:
            return order.stop_price is not None and (mark >= order.stop_price if buy else mark <= order.stop_price)
        if order.type == OrderType.TAKE_PROFIT_MARKET.value:
            return order.stop_price is not None and (mark <= order.stop_price if buy else mark >= order.stop_price)
        if order.type == OrderType.TRAILING_STOP_MARKET.value:
            return self._trail(order.order_id, mark, buy)
        return False

    def _trail(self, order_id: str, mark: float, buy: bool) -> bool:
        trailing = self._trailing[order_id]
        if trailing.extreme is None:
            activated = trailing.activation is None or (mark <= trailing.activation if buy
                                                        else mark >= trailing.activation)
            if not activated:
                return False
            trailing.extreme = mark
        trailing.extreme = min(trailing.extreme, mark) if buy else max(trailing.extreme, mark)
        if buy:
            return mark >= trailing.extreme * (1.0 + trailing.callback)
        return mark <= trailing.extreme * (1.0 - trailing.callback)

    def _execute(self, order_id: str, *, taker: bool) -> ExchangeOrder:
        order = self._orders[order_id]
        rules = self._rules[order.symbol]
        holding = self._holdings.get(order.symbol)
        qty = order.qty
        if order.reduce_only or order.close_position:
            reducing = holding is not None and (holding.signed_qty > 0) != (order.side is Side.BUY)
            if not reducing or holding is None:
                self._orders[order_id] = replace(order, status="expired")
                return self._orders[order_id]
            held = abs(holding.signed_qty)
            qty = held if order.close_position or qty is None else min(qty, held)
        assert qty is not None  # only close-position orders lack a quantity
        price = self._fill_price(rules, order)
        fee_rate = self.taker_fee if taker else self.maker_fee
        fee = qty * price * fee_rate
        realized = self._apply_fill(rules, order.side, qty, price)
        self._wallet += realized - fee
        self.fills.append(PaperFill(order_id, order.client_order_id, order.symbol, order.side, qty, price, fee,
                                    realized, self._clock()))
        self._orders[order_id] = replace(order, qty=order.qty if order.qty is not None else qty, filled_qty=qty,
                                         avg_price=price, status="closed")
        return self._orders[order_id]

    def _fill_price(self, rules: InstrumentRules, order: ExchangeOrder) -> float:
        """A limit order fills at its price; anything else at the mark moved ``slippage_bps`` against
        the taker, rounded to the tick away from the taker."""
        if order.type == OrderType.LIMIT.value and order.price is not None:
            return order.price
        mark = self._mark(order.symbol)
        if order.side is Side.BUY:
            return ceil_to_step(mark * (1.0 + self.slippage_bps / 10_000.0), rules.tick_size)
        return floor_to_step(mark * (1.0 - self.slippage_bps / 10_000.0), rules.tick_size)

    def _apply_fill(self, rules: InstrumentRules, side: Side, qty: float, price: float) -> float:
        """Move the position by ``qty`` at ``price``; returns the realised PnL of any reduced part."""
        direction = 1.0 if side is Side.BUY else -1.0
        leverage = self._leverage.get(rules.symbol, self._default_leverage)
        isolated = self._mode(rules.symbol) is MarginMode.ISOLATED
        holding = self._holdings.get(rules.symbol)
        if holding is None or holding.signed_qty * direction > 0:
            added_margin = initial_margin(qty * price, leverage) if isolated else 0.0
            if holding is None:
                self._holdings[rules.symbol] = _Holding(direction * qty, price, added_margin)
                return 0.0
            held = abs(holding.signed_qty)
            holding.entry_price = (held * holding.entry_price + qty * price) / (held + qty)
            holding.signed_qty += direction * qty
            holding.isolated_margin += added_margin
            return 0.0
        held = abs(holding.signed_qty)
        closed = min(qty, held)
        realized = (price - holding.entry_price) * closed * (1.0 if holding.signed_qty > 0 else -1.0)
        left = held - closed
        if left > held * _STEP_SLACK:
            holding.isolated_margin *= left / held
            holding.signed_qty = left if holding.signed_qty > 0 else -left
            return realized
        del self._holdings[rules.symbol]
        flip = qty - closed
        if flip > qty * _STEP_SLACK:
            margin = initial_margin(flip * price, leverage) if isolated else 0.0
            self._holdings[rules.symbol] = _Holding(direction * flip, price, margin)
        return realized

    def _view(self, symbol: str, holding: _Holding) -> ExchangePosition:
        rules = self._rules[symbol]
        mark = self._mark(symbol)
        qty = abs(holding.signed_qty)
        side = PositionSide.LONG if holding.signed_qty > 0 else PositionSide.SHORT
        upnl = (mark - holding.entry_price) * holding.signed_qty
        leverage = self._leverage.get(symbol, self._default_leverage)
        mode = self._mode(symbol)
        mm = 0.0
        if rules.brackets:
            bracket = bracket_for(qty * mark, rules.brackets)
            mm = maintenance_margin(qty * mark, bracket.maintenance_margin_rate, bracket.maintenance_amount)
        margin = holding.isolated_margin if mode is MarginMode.ISOLATED else initial_margin(qty * mark, leverage)
        return ExchangePosition(symbol=symbol, side=side, qty=qty, entry_price=holding.entry_price, mark_price=mark,
                                liquidation_price=0.0, margin=margin, maintenance_margin=mm, unrealized_pnl=upnl,
                                leverage=float(leverage), margin_mode=mode)

    def _with_liquidation(self, view: ExchangePosition, views: Mapping[str, ExchangePosition]) -> ExchangePosition:
        """Binance's one-way liquidation price (riskguard.math.margin), isolated or cross."""
        rules = self._rules[view.symbol]
        if not rules.brackets:
            return view
        bracket = bracket_for(view.notional, rules.brackets)
        if view.margin_mode is MarginMode.ISOLATED:
            price = liquidation_price(view.side, view.qty, view.entry_price, view.margin,
                                      bracket.maintenance_margin_rate, bracket.maintenance_amount)
            return replace(view, liquidation_price=price)
        others = [p for s, p in views.items() if s != view.symbol and p.margin_mode is MarginMode.CROSS]
        cross_wallet = self._wallet - sum(p.margin for p in views.values() if p.margin_mode is MarginMode.ISOLATED)
        price = liquidation_price(view.side, view.qty, view.entry_price, cross_wallet,
                                  bracket.maintenance_margin_rate, bracket.maintenance_amount,
                                  sum(p.maintenance_margin for p in others), sum(p.unrealized_pnl for p in others))
        return replace(view, liquidation_price=price)
