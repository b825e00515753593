"""The drawdown action ladder (REQUIREMENTS E: daily 3 % halt, daily 5 % close all, weekly 7 % halve
size, monthly 15 % switch mode)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.policy_schema import PolicySection
from riskguard.model.enums import Mode, TradingState
from riskguard.model.errors import InputValidationError
from riskguard.policy.ladder import DrawdownLadder, LadderAction, LadderEventKind

HOUR = 3_600_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def ladder(clock_ms: int = 0) -> DrawdownLadder:
    return DrawdownLadder.from_sections(PolicySection().drawdown_ladder, clock=lambda: clock_ms)


WED = ms("2024-08-07T00:00")  # a Wednesday, mid-week and mid-month


def test_default_rungs_are_the_requirements_ladder() -> None:
    names = [r.name for r in ladder().rungs]
    assert names == ["daily_3%_halt_new_trades", "daily_5%_close_all", "weekly_7%_reduce_size",
                     "monthly_15%_switch_mode"]


def test_daily_3_percent_halts_new_trades() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    events = lad.update(970.0, WED + HOUR)
    assert [(e.kind, e.action) for e in events] == [(LadderEventKind.TRIGGERED, LadderAction.HALT_NEW_TRADES)]
    assert lad.state.trading_state is TradingState.HALTED


def test_drawdown_just_below_a_rung_changes_nothing() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    assert lad.update(970.01, WED + HOUR) == ()
    assert lad.state.trading_state is TradingState.ACTIVE


def test_daily_5_percent_closes_all_and_flags_the_event() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    events = lad.update(950.0, WED + HOUR)
    assert [e.action for e in events] == [LadderAction.HALT_NEW_TRADES, LadderAction.CLOSE_ALL]
    assert events[-1].close_all and not events[0].close_all
    assert lad.state.trading_state is TradingState.REDUCING


def test_weekly_7_percent_halves_size() -> None:
    lad = ladder()
    lad.update(1000.0, ms("2024-08-05T12:00"))  # Monday
    lad.update(975.0, ms("2024-08-06T12:00"))
    lad.update(955.0, ms("2024-08-07T12:00"))
    events = lad.update(930.0, ms("2024-08-08T12:00"))  # each day alone lost < 3 %
    assert [e.action for e in events] == [LadderAction.REDUCE_SIZE]
    assert lad.state.size_multiplier == 0.5
    assert lad.state.trading_state is TradingState.ACTIVE


def test_monthly_15_percent_switches_to_demo() -> None:
    lad = ladder()
    nav = 1000.0
    lad.update(nav, ms("2024-08-01T00:00"))
    for day in range(1, 10):  # 0.98 ** 9 = 0.834
        nav *= 0.98  # 2 % a day never trips a daily rung; crosses 7 % weekly and 15 % monthly
        lad.update(nav, ms("2024-08-01T00:00") + day * 24 * HOUR)
    assert lad.state.mode is Mode.DEMO
    assert "monthly_15%_switch_mode" in lad.state.active


def test_recovery_inside_the_window_never_loosens_the_ladder() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    lad.update(960.0, WED + HOUR)
    assert lad.update(1200.0, WED + 2 * HOUR) == ()
    assert lad.state.trading_state is TradingState.HALTED


def test_daily_rungs_lift_when_the_utc_day_rolls_over() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    lad.update(960.0, WED + HOUR)
    events = lad.update(960.0, WED + 24 * HOUR)
    assert [e.kind for e in events] == [LadderEventKind.RELEASED]
    assert lad.state.trading_state is TradingState.ACTIVE


def test_operator_released_rung_survives_the_window_roll() -> None:
    lad = ladder()
    lad.update(1000.0, ms("2024-08-01T00:00"))
    lad.update(840.0, ms("2024-08-30T00:00"))
    lad.update(840.0, ms("2024-09-01T00:00"))
    assert lad.state.mode is Mode.DEMO


def test_acknowledge_lifts_a_rung_until_its_window_rolls() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    lad.update(960.0, WED + HOUR)
    events = lad.acknowledge("daily_3%_halt_new_trades", WED + 2 * HOUR)
    assert [e.kind for e in events] == [LadderEventKind.ACKNOWLEDGED]
    assert lad.state.trading_state is TradingState.ACTIVE
    assert lad.update(955.0, WED + 3 * HOUR) == ()  # disarmed for the rest of the day


def test_acknowledged_rung_still_lets_a_deeper_rung_fire() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    lad.update(960.0, WED + HOUR)
    lad.acknowledge(ts_ms=WED + 2 * HOUR)
    events = lad.update(940.0, WED + 3 * HOUR)
    assert [e.action for e in events] == [LadderAction.CLOSE_ALL]


def test_acknowledged_rung_rearms_on_the_next_window() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    lad.update(960.0, WED + HOUR)
    lad.acknowledge(ts_ms=WED + 2 * HOUR)
    lad.update(1000.0, WED + 24 * HOUR)
    events = lad.update(965.0, WED + 25 * HOUR)
    assert [e.action for e in events] == [LadderAction.HALT_NEW_TRADES]


def test_acknowledging_an_inactive_rung_is_an_error_naming_it() -> None:
    with pytest.raises(InputValidationError) as err:
        ladder().acknowledge("daily_3%_halt_new_trades", 0)
    assert err.value.field == "rung_name"


def test_reset_rearms_everything_from_the_current_nav() -> None:
    lad = ladder()
    lad.update(1000.0, ms("2024-08-01T00:00"))
    lad.update(840.0, ms("2024-08-02T00:00"))
    event = lad.reset(840.0, ms("2024-08-02T01:00"))
    assert event.kind is LadderEventKind.RESET
    assert lad.state.trading_state is TradingState.ACTIVE and lad.state.mode is None
    assert lad.update(830.0, ms("2024-08-02T02:00")) == ()  # 1.2 % below the new peak


def test_injected_clock_timestamps_operator_events() -> None:
    assert ladder(clock_ms=123_456).reset(1000.0).ts_ms == 123_456


def test_event_record_carries_drawdown_and_state_after_the_change() -> None:
    lad = ladder()
    lad.update(1000.0, WED)
    event = lad.update(970.0, WED + HOUR)[0]
    record = event.to_dict()
    assert record["drawdown_pct"] == pytest.approx(0.03)
    assert (record["peak_nav"], record["nav"], record["trading_state"]) == (1000.0, 970.0, "HALTED")
    assert "halt new trades" in str(record["note"])
    assert lad.history == (event,)


@settings(max_examples=40, deadline=None)
@given(navs=st.lists(st.floats(500.0, 1500.0), min_size=2, max_size=30))
def test_within_one_day_the_trading_state_only_tightens(navs: list[float]) -> None:
    lad = ladder()
    rank = {TradingState.ACTIVE: 0, TradingState.HALTED: 1, TradingState.REDUCING: 2}
    seen = 0
    for i, nav in enumerate(navs):
        lad.update(nav, WED + i * 60_000)
        assert rank[lad.state.trading_state] >= seen
        seen = rank[lad.state.trading_state]
