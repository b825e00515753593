"""Exit plans (bracket, take-profit ladder, break-even, trailing, time stop) and Binance exit order
parameters. (Simulating a plan over candles, with fees and funding, lives with the replay:
``riskguard.replay.exit_simulation``, ``riskguard.replay.fees``.)"""

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

__all__ = [
    "ExitPlan",
    "ExitRules",
    "ModeRules",
    "TakeProfitLeg",
    "TrailingPlan",
    "VolState",
    "build_exit_plan",
    "callback_rate_pct",
    "compile_exit_rules",
    "stop_distance",
    "stop_price",
    "volatility_of_regime",
]
