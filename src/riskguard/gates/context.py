"""Everything a gate reads about one intent, derived once per check by the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from riskguard.book.book import Book
from riskguard.book.cvar import PortfolioCvar
from riskguard.config.limits import Limits, StrategyLimits, SymbolLimits
from riskguard.model.enums import Mode, TradingState
from riskguard.model.instrument import InstrumentRules
from riskguard.model.intent import OrderIntent
from riskguard.model.policy import AppliedPolicy
from riskguard.model.position import Position
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot


@dataclass(slots=True, kw_only=True)
class GateContext:
    """Derived facts about one intent, built by keyword by the engine once per check. ``None``
    means unknown, and every gate that needs an unknown value fails (fail closed). Notionals in
    USDT, times in epoch ms."""

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
    adding_to: Position | None = None  # the open position of the intent's strategy it adds to (same side)
    size_multiplier: float = 1.0  # the drawdown ladder's and the operator's, the stronger: (0, 1]

    @property
    def risk_usdt(self) -> float | None:
        """Loss at the stop if this intent fills at ``notional``, USDT."""
        if self.notional is None or self.risk_fraction is None:
            return None
        return self.notional * self.risk_fraction
