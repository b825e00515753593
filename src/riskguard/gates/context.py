"""Everything a gate reads about one intent, derived once per check by the engine."""

from __future__ import annotations

from collections.abc import Mapping

from riskguard.book.book import Book
from riskguard.book.cvar import PortfolioCvar
from riskguard.config.limits import Limits, StrategyLimits, SymbolLimits
from riskguard.model.enums import Mode, TradingState
from riskguard.model.instrument import InstrumentRules
from riskguard.model.intent import OrderIntent
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.policy.flags import AppliedPolicy

SIZE_TOLERANCE = 1e-9
"""Relative slack on size comparisons, so that max_notional_allowed itself always passes
despite float rounding in the aggregates."""


class GateContext:
    """Derived facts about one intent. ``None`` means unknown, and every gate that needs an
    unknown value fails (fail closed). Notionals in USDT, times in epoch ms."""

    # A plain class with an explicit __init__, not a dataclass: the compiled build then constructs
    # it natively, where a dataclass's generated __init__ would run as interpreted Python per check.
    intent: OrderIntent
    limits: Limits
    book: Book
    now_ms: int
    market: MarketSnapshot | None
    rules: InstrumentRules | None
    symbol_limits: SymbolLimits
    strategy_limits: StrategyLimits
    nav: float | None
    nav_age_ms: float | None
    drawdown: float | None
    trading_state: TradingState
    price: float | None
    notional: float | None
    qty: float | None
    sized_qty: float | None
    sized_notional: float | None
    risk_fraction: float | None
    risk_estimated: bool
    symbol_gross: float
    book_risk_usdt: float  # at the stops if this fills; an add restates the open leg at the intent's stop
    reducing: bool
    opens_new: bool
    invalid: str | None
    policy: AppliedPolicy | None
    cvar: PortfolioCvar | None
    order_mode: Mode  # the mode the order will be placed in (the posture's unless the intent names one)
    account_mode: Mode  # the account's mode now (the posture's unless the drawdown ladder switched it)
    account: AccountSnapshot | None  # balances and margin mode for the margin and liquidation gates
    instruments: Mapping[str, InstrumentRules]  # every symbol's rules (cross liquidation reads the others')

    def __init__(self, intent: OrderIntent,
                 limits: Limits,
                 book: Book,
                 now_ms: int,
                 market: MarketSnapshot | None,
                 rules: InstrumentRules | None,
                 symbol_limits: SymbolLimits,
                 strategy_limits: StrategyLimits,
                 nav: float | None,
                 nav_age_ms: float | None,
                 drawdown: float | None,
                 trading_state: TradingState,
                 price: float | None,
                 notional: float | None,
                 qty: float | None,
                 sized_qty: float | None,
                 sized_notional: float | None,
                 risk_fraction: float | None,
                 risk_estimated: bool,
                 symbol_gross: float,
                 book_risk_usdt: float,
                 reducing: bool,
                 opens_new: bool,
                 invalid: str | None,
                 policy: AppliedPolicy | None,
                 cvar: PortfolioCvar | None,
                 order_mode: Mode,
                 account_mode: Mode,
                 account: AccountSnapshot | None,
                 instruments: Mapping[str, InstrumentRules]) -> None:
        self.intent = intent
        self.limits = limits
        self.book = book
        self.now_ms = now_ms
        self.market = market
        self.rules = rules
        self.symbol_limits = symbol_limits
        self.strategy_limits = strategy_limits
        self.nav = nav
        self.nav_age_ms = nav_age_ms
        self.drawdown = drawdown
        self.trading_state = trading_state
        self.price = price
        self.notional = notional
        self.qty = qty
        self.sized_qty = sized_qty
        self.sized_notional = sized_notional
        self.risk_fraction = risk_fraction
        self.risk_estimated = risk_estimated
        self.symbol_gross = symbol_gross
        self.book_risk_usdt = book_risk_usdt
        self.reducing = reducing
        self.opens_new = opens_new
        self.invalid = invalid
        self.policy = policy
        self.cvar = cvar
        self.order_mode = order_mode
        self.account_mode = account_mode
        self.account = account
        self.instruments = instruments

    @property
    def risk_usdt(self) -> float | None:
        """Loss at the stop if this intent fills at ``notional``, USDT."""
        if self.notional is None or self.risk_fraction is None:
            return None
        return self.notional * self.risk_fraction
