"""The posture's exits section: defaults are REQUIREMENTS section E, bad ladders are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from riskguard.config import preset
from riskguard.config.exits_schema import (
    BreakEvenSection,
    ExitModeSection,
    ExitsSection,
    LadderStep,
    TrailingSection,
)
from riskguard.exits import VolState, compile_exit_rules
from riskguard.model import InputValidationError, Regime


def test_defaults_are_the_requirements_numbers() -> None:
    rules = compile_exit_rules(ExitsSection())
    assert rules.stop_atr_multiple(VolState.NORMAL) == 1.5
    assert rules.stop_atr_multiple(VolState.HIGH) == 2.0
    assert rules.stop_atr_multiple(VolState.LOW) == 1.0
    assert dict(rules.stop_regime) == {Regime.BULL: 0.8, Regime.BEAR: 1.2, Regime.CHOP: 1.0,
                                       Regime.HIGH_VOL: 1.5, Regime.LOW_VOL: 1.0, Regime.NORMAL: 1.0}
    assert dict(rules.tp_regime) == {Regime.BULL: 1.5, Regime.BEAR: 0.8, Regime.CHOP: 1.0,
                                     Regime.HIGH_VOL: 1.2, Regime.LOW_VOL: 1.0, Regime.NORMAL: 1.0}
    ladder = rules.mode(None).ladder
    assert [(s.r_multiple, round(s.fraction, 6)) for s in ladder] == [(1.0, 0.333333), (2.0, 0.333333),
                                                                      (3.0, 0.333333)]


def test_every_preset_still_validates_with_the_exit_section() -> None:
    for name in ("conservative", "moderate", "aggressive"):
        assert preset(name).exits.default_mode == "standard"


def test_ladder_fractions_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match="sum to 1"):
        ExitsSection(take_profit=[LadderStep(r_multiple=1, fraction=0.5), LadderStep(r_multiple=2, fraction=0.4)])


def test_ladder_r_multiples_must_increase() -> None:
    with pytest.raises(ValidationError, match="increase"):
        ExitsSection(take_profit=[LadderStep(r_multiple=2, fraction=0.5), LadderStep(r_multiple=1, fraction=0.5)])


def test_trailing_needs_exactly_one_distance() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        TrailingSection(distance_atr=1.0, distance_pct=0.01)


def test_default_mode_must_be_a_known_mode() -> None:
    with pytest.raises(ValidationError, match="default_mode"):
        ExitsSection(default_mode="yolo")


def test_break_even_target_must_exist_in_every_mode() -> None:
    single = ExitModeSection(take_profit=[LadderStep(r_multiple=2, fraction=1.0)])
    with pytest.raises(ValidationError, match="after_target"):
        ExitsSection(break_even=BreakEvenSection(after_target=1),
                     modes={"standard": ExitModeSection(), "one_shot": single})


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        ExitsSection.model_validate({"stop_atr_multipl": 2.0})


def test_unknown_exit_mode_fails_closed_naming_the_field() -> None:
    rules = compile_exit_rules(ExitsSection())
    with pytest.raises(InputValidationError) as info:
        rules.mode("moonshot")
    assert info.value.field == "exit_mode"


def test_exit_mode_names_are_case_insensitive() -> None:
    rules = compile_exit_rules(ExitsSection())
    assert rules.mode(" Trailing ").name == "trailing"


def test_volatility_ratio_thresholds_pick_the_stop_level() -> None:
    rules = compile_exit_rules(ExitsSection())
    assert rules.volatility_state(2.0) is VolState.HIGH
    assert rules.volatility_state(1.0) is VolState.NORMAL
    assert rules.volatility_state(0.4) is VolState.LOW
