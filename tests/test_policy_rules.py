"""Policy rules: regime, drawdown, streak and performance reductions, profile, trading gate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.policy_schema import PolicySection
from riskguard.model.enums import ExitMode, Mode, Regime, RiskProfile, TradingState
from riskguard.policy.drawdown import DrawdownWindow
from riskguard.policy.ladder import LadderState
from riskguard.policy.risk_state import SymbolPerformance
from riskguard.policy.rules import PolicyInputs, PolicyRules, compute_policy, policy_signature
from riskguard.policy.trading_policy import TradingPolicy

RULES = PolicyRules.from_section(PolicySection())
CALM = LadderState(TradingState.ACTIVE, 1.0, None, ())
NO_DRAWDOWN = dict.fromkeys(DrawdownWindow, 0.0)


def policy(regime: Regime | None = Regime.NORMAL, *, streak: int = 0,
           drawdowns: dict[DrawdownWindow, float] | None = None,
           perf: SymbolPerformance | None = None, ladder: LadderState = CALM,
           in_universe: bool = True) -> TradingPolicy:
    return compute_policy(PolicyInputs(
        symbol="BTCUSDT", regime=regime, in_universe=in_universe, allowed_symbols=("BTCUSDT", "ETHUSDT"),
        performance=perf or SymbolPerformance("BTCUSDT", 0, 0.0, 0.0), losing_streak=streak,
        drawdowns={**NO_DRAWDOWN, **(drawdowns or {})}, ladder=ladder), RULES)


def test_normal_regime_without_risk_events_is_full_size_and_normal() -> None:
    p = policy()
    assert (p.max_risk_pct, p.risk_profile, p.allow_new_trades, p.notes) == (1.0, RiskProfile.NORMAL, True, ())


def test_high_vol_regime_halves_risk_reduces_profile_and_says_why() -> None:
    p = policy(Regime.HIGH_VOL)
    assert (p.max_risk_pct, p.risk_profile) == (0.5, RiskProfile.REDUCED)  # REQUIREMENTS B "high vol"
    assert p.notes[0].startswith("HIGH_VOL regime detected, reducing risk")


def test_five_loss_streak_in_normal_regime_is_the_losing_streak_case() -> None:
    p = policy(streak=5)
    assert (p.max_risk_pct, p.risk_profile) == (pytest.approx(0.3), RiskProfile.NORMAL)
    assert "losing streak of 5 trades" in p.notes[0]


def test_three_loss_streak_takes_the_first_step_only() -> None:
    assert policy(streak=3).max_risk_pct == pytest.approx(0.6)


def test_extreme_case_stacks_reductions_and_stops_new_trades() -> None:
    halted = LadderState(TradingState.HALTED, 1.0, None, ("daily_3%_halt_new_trades",))
    poor = SymbolPerformance("BTCUSDT", 12, 0.3, -0.2)
    p = policy(Regime.BEAR, drawdowns={DrawdownWindow.DAILY: 0.03}, perf=poor, ladder=halted)
    assert p.max_risk_pct == pytest.approx(0.8 * 0.5 * 0.5)  # REQUIREMENTS B "extreme": 0.2
    assert (p.risk_profile, p.allow_new_trades) == (RiskProfile.NO_NEW_TRADES, False)


def test_regime_rules_set_confidence_positions_and_exit_mode() -> None:
    bull, bear = policy(Regime.BULL), policy(Regime.BEAR)
    assert (bull.min_confidence, bull.max_positions, bull.exit_mode) == (0.55, 4, ExitMode.TRAILING)
    assert (bear.min_confidence, bear.max_positions, bear.exit_mode) == (0.65, 2, ExitMode.TIGHT)


def test_drawdown_step_reduces_risk_once_and_leaves_the_profile_to_the_regime() -> None:
    p = policy(drawdowns={DrawdownWindow.WEEKLY: 0.06})
    assert (p.max_risk_pct, p.risk_profile) == (0.5, RiskProfile.NORMAL)
    assert "weekly drawdown 6.00% reached 5.00%" in p.notes[0]


def test_drawdown_steps_of_several_windows_do_not_compound() -> None:
    p = policy(drawdowns={DrawdownWindow.DAILY: 0.03, DrawdownWindow.WEEKLY: 0.06, DrawdownWindow.MONTHLY: 0.11})
    assert p.max_risk_pct == 0.5


def test_multiplier_is_floored_at_the_posture_minimum() -> None:
    halved = LadderState(TradingState.ACTIVE, 0.5, None, ("weekly_7%_reduce_size",))
    p = policy(Regime.HIGH_VOL, streak=9, drawdowns={DrawdownWindow.DAILY: 0.04}, ladder=halved)
    assert p.max_risk_pct == 0.1
    assert any("floored at 0.1" in note for note in p.notes)


def test_poor_performance_needs_enough_trades() -> None:
    assert policy(perf=SymbolPerformance("BTCUSDT", 9, 0.0, -1.0)).max_risk_pct == 1.0
    assert policy(perf=SymbolPerformance("BTCUSDT", 10, 0.3, 0.4)).max_risk_pct == 0.5


def test_profitable_low_win_rate_symbol_is_poor_but_not_blocked() -> None:
    p = policy(perf=SymbolPerformance("BTCUSDT", 20, 0.2, 0.5))
    assert p.symbol_allowed and p.max_risk_pct == 0.5


def test_very_poor_symbol_is_disallowed() -> None:
    p = policy(perf=SymbolPerformance("BTCUSDT", 20, 0.2, -0.6))
    assert not p.symbol_allowed
    assert "symbol disallowed" in p.notes[-1]


def test_symbol_outside_the_posture_universe_is_disallowed() -> None:
    assert not policy(in_universe=False).symbol_allowed


def test_unknown_regime_fails_closed_with_the_strictest_rule() -> None:
    p = policy(None)
    assert (p.allow_new_trades, p.risk_profile) == (False, RiskProfile.NO_NEW_TRADES)
    assert (p.max_risk_pct, p.max_positions, p.min_confidence) == (0.5, 2, 0.70)


def test_unknown_regime_may_be_allowed_by_the_posture() -> None:
    rules = PolicyRules.from_section(PolicySection(unknown_regime_blocks=False))
    p = compute_policy(PolicyInputs("BTCUSDT", None, True, (), SymbolPerformance("BTCUSDT", 0, 0.0, 0.0),
                                    0, NO_DRAWDOWN, CALM), rules)
    assert p.allow_new_trades


def test_ladder_halt_stops_new_trades_and_carries_the_mode_switch() -> None:
    ladder = LadderState(TradingState.REDUCING, 1.0, Mode.PAPER, ("daily_5%_close_all",))
    p = policy(ladder=ladder)
    assert (p.allow_new_trades, p.trading_state, p.mode_override) == (False, TradingState.REDUCING, Mode.PAPER)


def test_to_dict_is_json_ready() -> None:
    record = policy(Regime.CHOP).to_dict()
    assert (record["regime"], record["exit_mode"], record["risk_profile"]) == ("CHOP", "tight", "NORMAL")
    assert record["max_risk_pct"] == 0.6
    assert isinstance(record["notes"], list) and isinstance(record["allowed_symbols"], list)


@settings(max_examples=200, deadline=None)
@given(regime=st.sampled_from([*Regime, None]), streak=st.integers(0, 20),
       dd=st.floats(0.0, 0.99), trades=st.integers(0, 20), win=st.floats(0.0, 1.0), avg_r=st.floats(-3, 3),
       size=st.sampled_from([1.0, 0.5, 0.25]))
def test_multiplier_always_within_0_1_and_1(regime: Regime | None, streak: int, dd: float, trades: int,
                                            win: float, avg_r: float, size: float) -> None:
    ladder = LadderState(TradingState.ACTIVE, size, None, ())
    p = policy(regime, streak=streak, drawdowns=dict.fromkeys(DrawdownWindow, dd),
               perf=SymbolPerformance("BTCUSDT", trades, win, avg_r), ladder=ladder)
    assert 0.1 <= p.max_risk_pct <= 1.0
    assert (p.max_risk_pct < 1.0) == any("reducing" in n or "floored" in n for n in p.notes)


@settings(max_examples=100, deadline=None)
@given(streak=st.integers(0, 30))
def test_a_longer_losing_streak_never_raises_the_multiplier(streak: int) -> None:
    assert policy(streak=streak + 1).max_risk_pct <= policy(streak=streak).max_risk_pct


# Small pools, so that two independently drawn inputs often share a signature.
_REGIMES = st.sampled_from([None, *Regime])
_TRADES, _WIN_RATES, _AVG_RS = [0, 3, 12, 20], [0.0, 0.2, 0.3, 0.45, 0.6], [-0.6, -0.4, -0.2, 0.0, 0.3]
_PERFS = st.builds(SymbolPerformance, st.just("BTCUSDT"), st.sampled_from(_TRADES), st.sampled_from(_WIN_RATES),
                   st.sampled_from(_AVG_RS))
_DRAWDOWNS = st.fixed_dictionaries({w: st.sampled_from([0.0, 0.01, 0.02, 0.025, 0.05, 0.051, 0.1, 0.12])
                                    for w in DrawdownWindow})
_LADDERS = st.sampled_from([CALM, LadderState(TradingState.HALTED, 1.0, None, ("daily_3%_halt_new_trades",)),
                            LadderState(TradingState.ACTIVE, 0.5, Mode.PAPER, ("weekly_5%_half_size",))])
_INPUTS = st.builds(PolicyInputs, symbol=st.just("BTCUSDT"), regime=_REGIMES, in_universe=st.booleans(),
                    allowed_symbols=st.sampled_from([("BTCUSDT", "ETHUSDT"), ("ETHUSDT",)]), performance=_PERFS,
                    losing_streak=st.integers(0, 7), drawdowns=_DRAWDOWNS, ladder=_LADDERS)


@settings(max_examples=400, deadline=None)
@given(_INPUTS, st.data())
def test_inputs_with_equal_signatures_give_equal_policies(first: PolicyInputs, data: st.DataObject) -> None:
    # The second input differs from the first in one or two fields, so equal signatures are common.
    perf = first.performance
    near_perfs = st.one_of(  # the same performance but for one statistic, or any other
        _PERFS, st.builds(SymbolPerformance, st.just(perf.symbol), st.sampled_from(_TRADES), st.just(perf.win_rate),
                          st.just(perf.avg_r)),
        st.builds(SymbolPerformance, st.just(perf.symbol), st.just(perf.trades), st.sampled_from(_WIN_RATES),
                  st.just(perf.avg_r)),
        st.builds(SymbolPerformance, st.just(perf.symbol), st.just(perf.trades), st.just(perf.win_rate),
                  st.sampled_from(_AVG_RS)))
    pools: dict[str, st.SearchStrategy[object]] = {
        "regime": _REGIMES, "performance": near_perfs, "losing_streak": st.integers(0, 7),
        "drawdowns": _DRAWDOWNS, "ladder": _LADDERS, "in_universe": st.booleans()}
    changed = data.draw(st.lists(st.sampled_from(sorted(pools)), min_size=1, max_size=2, unique=True))
    changes = {name: data.draw(pools[name]) for name in changed}
    second = PolicyInputs(**{**{f: getattr(first, f) for f in PolicyInputs.__dataclass_fields__}, **changes})
    if policy_signature(first, RULES) == policy_signature(second, RULES):
        assert compute_policy(first, RULES) == compute_policy(second, RULES)
    else:
        assert first != second


def test_a_longer_streak_below_the_first_step_keeps_the_signature() -> None:
    base = PolicyInputs("BTCUSDT", Regime.NORMAL, True, ("BTCUSDT",), SymbolPerformance("BTCUSDT", 0, 0.0, 0.0),
                        0, NO_DRAWDOWN, CALM)
    longer = PolicyInputs(**{**{f: getattr(base, f) for f in PolicyInputs.__dataclass_fields__}, "losing_streak": 2})
    assert policy_signature(base, RULES) == policy_signature(longer, RULES)
    assert compute_policy(base, RULES) == compute_policy(longer, RULES)


def test_a_reached_drawdown_step_is_quoted_so_its_level_is_part_of_the_signature() -> None:
    def inputs(daily: float) -> PolicyInputs:
        return PolicyInputs("BTCUSDT", Regime.NORMAL, True, ("BTCUSDT",), SymbolPerformance("BTCUSDT", 0, 0.0, 0.0),
                            0, {**NO_DRAWDOWN, DrawdownWindow.DAILY: daily}, CALM)

    assert policy_signature(inputs(0.031), RULES) != policy_signature(inputs(0.032), RULES)
    assert compute_policy(inputs(0.031), RULES).notes != compute_policy(inputs(0.032), RULES).notes


def test_weekly_ladder_rung_and_drawdown_step_give_one_drawdown_haircut() -> None:
    halved = LadderState(TradingState.ACTIVE, 0.5, None, ("weekly_7%_reduce_size",))
    p = policy(drawdowns={DrawdownWindow.WEEKLY: 0.075}, ladder=halved)
    assert (p.max_risk_pct, p.risk_profile) == (0.5, RiskProfile.NORMAL)
    assert "covered by it" in p.notes[0]


def test_a_ladder_rung_stronger_than_the_drawdown_step_is_the_haircut() -> None:
    quartered = LadderState(TradingState.ACTIVE, 0.25, None, ("weekly_7%_reduce_size",))
    p = policy(drawdowns={DrawdownWindow.WEEKLY: 0.075}, ladder=quartered)
    assert p.max_risk_pct == 0.25
    assert p.notes[0].startswith("drawdown ladder (weekly_7%_reduce_size) reducing size (x0.25)")
