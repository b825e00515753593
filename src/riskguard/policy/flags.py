"""Staged activation: split a TradingPolicy into what the engine enforces and what is only logged.

A stage whose flag is off still has its policy values computed; they go to the shadow view (for
logs and ``riskguard status``) and the applied view carries the neutral value instead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from riskguard.config.policy_schema import PolicyFlagsSection
from riskguard.model.enums import RiskProfile, TradingState
from riskguard.model.policy import AppliedPolicy
from riskguard.policy.trading_policy import TradingPolicy


@dataclass(frozen=True, slots=True)
class PolicyFlags:
    """The five stages (stage 1 has two flags); True = applied, False = shadow mode."""

    use_for_signal_filter: bool = False
    use_for_confidence_threshold: bool = False
    use_for_risk_sizing: bool = False
    use_for_position_limits: bool = False
    use_for_trading_gate: bool = False
    use_for_exit_mode: bool = False

    @classmethod
    def from_section(cls, section: PolicyFlagsSection) -> PolicyFlags:
        """Copy the posture's flags into a plain dataclass (read on the hot path)."""
        return cls(**{name: bool(getattr(section, name)) for name in FLAG_NAMES})

    @classmethod
    def all_on(cls) -> PolicyFlags:
        return cls(True, True, True, True, True, True)

    def as_dict(self) -> dict[str, bool]:
        """Flag name -> on/off, in stage order."""
        return {name: bool(getattr(self, name)) for name in FLAG_NAMES}

    def active_stages(self) -> tuple[str, ...]:
        """Names of the flags that are on, in stage order."""
        return tuple(name for name, on in self.as_dict().items() if on)


FLAG_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PolicyFlags))
"""The flags in stage order."""


@dataclass(frozen=True, slots=True)
class PolicyViews:
    """The policy, its applied view, and the shadow view: flag name -> values computed but not applied."""

    policy: TradingPolicy
    flags: PolicyFlags
    applied: AppliedPolicy
    shadow: dict[str, dict[str, object]]

    def to_dict(self) -> dict[str, object]:
        """For logs and status output."""
        return {"policy": self.policy.to_dict(), "flags": self.flags.as_dict(),
                "applied": self.applied.to_dict(), "shadow": self.shadow}


def split_policy(policy: TradingPolicy, flags: PolicyFlags) -> PolicyViews:
    """Applied and shadow views of ``policy`` under ``flags``."""
    stage_values: dict[str, dict[str, object]] = {
        "use_for_signal_filter": {"block_symbol": not policy.symbol_allowed},
        "use_for_confidence_threshold": {"min_confidence": policy.min_confidence},
        "use_for_risk_sizing": {
            "risk_multiplier": policy.max_risk_pct, "risk_profile": policy.risk_profile.value},
        "use_for_position_limits": {"max_positions": policy.max_positions},
        "use_for_trading_gate": {
            "allow_new_trades": policy.allow_new_trades, "trading_state": policy.trading_state.value,
            "mode_override": None if policy.mode_override is None else policy.mode_override.value},
        "use_for_exit_mode": {"exit_mode": policy.exit_mode.value},
    }
    on = flags.as_dict()
    applied = AppliedPolicy(
        symbol=policy.symbol,
        block_symbol=flags.use_for_signal_filter and not policy.symbol_allowed,
        min_confidence=policy.min_confidence if flags.use_for_confidence_threshold else None,
        risk_multiplier=policy.max_risk_pct if flags.use_for_risk_sizing else 1.0,
        risk_profile=policy.risk_profile if flags.use_for_risk_sizing else RiskProfile.NORMAL,
        max_positions=policy.max_positions if flags.use_for_position_limits else None,
        allow_new_trades=policy.allow_new_trades if flags.use_for_trading_gate else True,
        trading_state=policy.trading_state if flags.use_for_trading_gate else TradingState.ACTIVE,
        mode_override=policy.mode_override if flags.use_for_trading_gate else None,
        exit_mode=policy.exit_mode if flags.use_for_exit_mode else None,
    )
    shadow = {name: values for name, values in stage_values.items() if not on[name]}
    return PolicyViews(policy, flags, applied, shadow)
