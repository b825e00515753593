"""Exit plans (bracket, take-profit ladder, break-even, trailing, time stop), Binance exit order
parameters, and the vectorized exit simulation with fees and funding used by the replay."""

from riskguard.exits.costs import FeeSchedule, TradeCashflows, trade_cashflows
from riskguard.exits.orders import callback_rate_pct
from riskguard.exits.plan import (
    ExitPlan,
    TakeProfitLeg,
    TrailingPlan,
    build_exit_plan,
    stop_distance,
    stop_price,
    volatility_of_regime,
)
from riskguard.exits.rules import ExitRules, ModeRules, VolState, compile_exit_rules
from riskguard.exits.simulate import ExitFill, ExitResult, FillKind, simulate_exits

__all__ = [
    "ExitFill",
    "ExitPlan",
    "ExitResult",
    "ExitRules",
    "FeeSchedule",
    "FillKind",
    "ModeRules",
    "TakeProfitLeg",
    "TradeCashflows",
    "TrailingPlan",
    "VolState",
    "build_exit_plan",
    "callback_rate_pct",
    "compile_exit_rules",
    "simulate_exits",
    "stop_distance",
    "stop_price",
    "trade_cashflows",
    "volatility_of_regime",
]
