"""Staged activation: each flag moves its stage from the shadow view to the applied view."""

from __future__ import annotations

from dataclasses import replace

import pytest

from riskguard.config.policy_schema import PolicyFlagsSection
from riskguard.model.enums import ExitMode, Mode, Regime, RiskProfile, TradingState
from riskguard.policy.flags import PolicyFlags, split_policy
from riskguard.policy.trading_policy import TradingPolicy

STRICT = TradingPolicy(
    symbol="SOLUSDT", regime=Regime.HIGH_VOL, symbol_allowed=False, allowed_symbols=("BTCUSDT",),
    min_confidence=0.7, max_risk_pct=0.5, risk_profile=RiskProfile.NO_NEW_TRADES, max_positions=2,
    allow_new_trades=False, exit_mode=ExitMode.TIGHT, trading_state=TradingState.HALTED,
    mode_override=Mode.PAPER, notes=("HIGH_VOL regime detected, reducing risk (x0.5)",))

STAGE_FIELDS = {
    "use_for_signal_filter": ("block_symbol", True, False),
    "use_for_confidence_threshold": ("min_confidence", 0.7, None),
    "use_for_risk_sizing": ("risk_multiplier", 0.5, 1.0),
    "use_for_position_limits": ("max_positions", 2, None),
    "use_for_trading_gate": ("allow_new_trades", False, True),
    "use_for_exit_mode": ("exit_mode", ExitMode.TIGHT, None),
}


def test_all_flags_off_applies_nothing_and_shadows_every_stage() -> None:
    views = split_policy(STRICT, PolicyFlags())
    applied = views.applied
    assert (applied.block_symbol, applied.min_confidence, applied.risk_multiplier, applied.risk_profile,
            applied.max_positions, applied.allow_new_trades, applied.trading_state, applied.mode_override,
            applied.exit_mode) == (False, None, 1.0, RiskProfile.NORMAL, None, True, TradingState.ACTIVE,
                                   None, None)
    assert set(views.shadow) == set(STAGE_FIELDS)


def test_all_flags_on_applies_the_whole_policy_and_shadows_nothing() -> None:
    views = split_policy(STRICT, PolicyFlags.all_on())
    applied = views.applied
    assert (applied.block_symbol, applied.min_confidence, applied.risk_multiplier, applied.risk_profile,
            applied.max_positions, applied.allow_new_trades, applied.trading_state, applied.mode_override,
            applied.exit_mode) == (True, 0.7, 0.5, RiskProfile.NO_NEW_TRADES, 2, False, TradingState.HALTED,
                                   Mode.PAPER, ExitMode.TIGHT)
    assert views.shadow == {}


@pytest.mark.parametrize("flag", list(STAGE_FIELDS))
def test_one_flag_applies_only_its_stage(flag: str) -> None:
    views = split_policy(STRICT, replace(PolicyFlags(), **{flag: True}))
    field, applied_value, _ = STAGE_FIELDS[flag]
    assert getattr(views.applied, field) == applied_value
    for other, (other_field, _, neutral) in STAGE_FIELDS.items():
        if other != flag:
            assert getattr(views.applied, other_field) == neutral
    assert flag not in views.shadow and len(views.shadow) == len(STAGE_FIELDS) - 1


def test_shadow_view_holds_the_values_computed_but_not_applied() -> None:
    shadow = split_policy(STRICT, PolicyFlags()).shadow
    assert shadow["use_for_risk_sizing"] == {"risk_multiplier": 0.5, "risk_profile": "NO_NEW_TRADES"}
    assert shadow["use_for_trading_gate"] == {"allow_new_trades": False, "trading_state": "HALTED",
                                              "mode_override": "paper"}


def test_flags_copy_the_posture_section() -> None:
    flags = PolicyFlags.from_section(PolicyFlagsSection(use_for_risk_sizing=True, use_for_exit_mode=True))
    assert flags.active_stages() == ("use_for_risk_sizing", "use_for_exit_mode")


def test_views_serialise_for_logs() -> None:
    record = split_policy(STRICT, PolicyFlags()).to_dict()
    assert set(record) == {"policy", "flags", "applied", "shadow"}
    assert record["applied"]["risk_profile"] == "NORMAL"  # type: ignore[index]
