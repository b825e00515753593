"""Trading policy: regime detection, risk state, the drawdown ladder, staged activation."""

from riskguard.model.enums import ExitMode
from riskguard.model.policy import AppliedPolicy
from riskguard.policy.drawdown import DrawdownMonitor, DrawdownWindow, WindowDrawdown, window_key
from riskguard.policy.flags import PolicyFlags, PolicyViews, split_policy
from riskguard.policy.ladder import (
    DrawdownLadder,
    LadderAction,
    LadderEvent,
    LadderEventKind,
    LadderRung,
    LadderState,
)
from riskguard.policy.policy_engine import PolicyEngine
from riskguard.policy.regime import (
    RegimeFeatures,
    current_regime,
    detect_regimes,
    regime_features,
    warmup_bars,
)
from riskguard.policy.risk_state import RiskState, SymbolPerformance
from riskguard.policy.rules import PolicyInputs, PolicyRules, compute_policy
from riskguard.policy.trading_policy import TradingPolicy

__all__ = [
    "AppliedPolicy",
    "DrawdownLadder",
    "DrawdownMonitor",
    "DrawdownWindow",
    "ExitMode",
    "LadderAction",
    "LadderEvent",
    "LadderEventKind",
    "LadderRung",
    "LadderState",
    "PolicyEngine",
    "PolicyFlags",
    "PolicyInputs",
    "PolicyRules",
    "PolicyViews",
    "RegimeFeatures",
    "RiskState",
    "SymbolPerformance",
    "TradingPolicy",
    "WindowDrawdown",
    "compute_policy",
    "current_regime",
    "detect_regimes",
    "regime_features",
    "split_policy",
    "warmup_bars",
    "window_key",
]
