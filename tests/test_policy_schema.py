"""The posture's policy section: defaults are the REQUIREMENTS numbers, bad values are refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from riskguard.config import PRESETS, preset
from riskguard.config.policy_schema import (
    LadderRungSection,
    PerformanceSection,
    PolicySection,
    ReductionsSection,
    RegimeDetectionSection,
    RegimeRuleSection,
)
from riskguard.model.enums import Mode, Regime


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_validates_with_the_policy_section(name: str) -> None:
    assert preset(name).policy.regime.high_vol_ratio == 2.0


def test_default_ladder_is_daily_3_and_5_weekly_7_monthly_15() -> None:
    rungs = [(r.window, r.threshold_pct, r.action, r.size_multiplier, r.mode)
             for r in PolicySection().drawdown_ladder]
    assert rungs == [("daily", 0.03, "halt_new_trades", None, None), ("daily", 0.05, "close_all", None, None),
                     ("weekly", 0.07, "reduce_size", 0.5, None), ("monthly", 0.15, "switch_mode", None, Mode.DEMO)]


def test_default_regime_multipliers_follow_requirements_e() -> None:
    rules = PolicySection().regimes
    assert [rules.for_regime(r).risk_multiplier for r in (Regime.BULL, Regime.BEAR, Regime.CHOP, Regime.HIGH_VOL)] \
        == [1.0, 0.8, 0.6, 0.5]


def test_default_vol_ratio_thresholds_follow_requirements_e() -> None:
    cfg = RegimeDetectionSection()
    assert (cfg.high_vol_ratio, cfg.low_vol_ratio, cfg.vol_baseline_period) == (2.0, 0.5, 720)


@pytest.mark.parametrize("kwargs", [
    {"ema_fast": 200, "ema_slow": 100},
    {"atr_period": 720, "vol_baseline_period": 720},
    {"high_vol_ratio": 0.9},
    {"low_vol_ratio": 1.2},
    {"trend_gap_atr": float("nan")},
    {"trend_slope_atr": float("inf")},
    {"chop_efficiency_max": 0.0},
    {"efficiency_window": 1},
])
def test_incoherent_regime_thresholds_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RegimeDetectionSection(**kwargs)


@pytest.mark.parametrize("multiplier", [0.05, 1.2, float("nan")])
def test_regime_multiplier_outside_0_1_and_1_is_refused(multiplier: float) -> None:
    with pytest.raises(ValidationError):
        RegimeRuleSection(risk_multiplier=multiplier)


def test_unknown_exit_mode_is_refused() -> None:
    with pytest.raises(ValidationError):
        RegimeRuleSection(exit_mode="yolo")  # type: ignore[arg-type]


def test_reduce_size_rung_needs_its_multiplier() -> None:
    with pytest.raises(ValidationError, match="size_multiplier"):
        LadderRungSection(window="weekly", threshold_pct=0.07, action="reduce_size")


def test_mode_is_only_for_switch_mode() -> None:
    with pytest.raises(ValidationError, match="mode"):
        LadderRungSection(window="daily", threshold_pct=0.03, action="halt_new_trades", mode=Mode.DEMO)


def test_a_rung_never_switches_to_live() -> None:
    with pytest.raises(ValidationError, match="never to live"):
        LadderRungSection(window="monthly", threshold_pct=0.15, action="switch_mode", mode=Mode.LIVE)


def test_ladder_rungs_of_a_window_must_increase() -> None:
    rungs = [{"window": "daily", "threshold_pct": 0.05, "action": "close_all"},
             {"window": "daily", "threshold_pct": 0.03, "action": "halt_new_trades"}]
    with pytest.raises(ValidationError, match="increasing"):
        PolicySection(drawdown_ladder=rungs)  # type: ignore[arg-type]


def test_unknown_ladder_window_is_refused() -> None:
    with pytest.raises(ValidationError):
        LadderRungSection(window="hourly", threshold_pct=0.03, action="close_all")  # type: ignore[arg-type]


def test_losing_streak_steps_must_tighten() -> None:
    with pytest.raises(ValidationError, match="losing streak"):
        ReductionsSection(losing_streak_steps=[{"min_losses": 3, "multiplier": 0.3},  # type: ignore[list-item]
                                               {"min_losses": 5, "multiplier": 0.6}])


def test_drawdown_steps_must_tighten_per_window() -> None:
    with pytest.raises(ValidationError, match="daily drawdown"):
        ReductionsSection(drawdown_steps=[{"window": "daily", "threshold_pct": 0.02, "multiplier": 0.5},  # type: ignore[list-item]
                                          {"window": "daily", "threshold_pct": 0.01, "multiplier": 0.3}])


def test_block_thresholds_must_not_exceed_poor_thresholds() -> None:
    with pytest.raises(ValidationError):
        PerformanceSection(block_win_rate=0.5, poor_win_rate=0.4)


def test_unknown_policy_key_is_an_error() -> None:
    with pytest.raises(ValidationError):
        PolicySection(regime={"hi_vol_ratio": 3.0})  # type: ignore[arg-type]
