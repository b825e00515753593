"""A NAV mark dated slightly ahead of the engine's clock (another host's clock runs fast) is fresh,
not "in the future": its age counts as 0 up to the posture's account.max_clock_skew_s."""

from __future__ import annotations

from conftest import NOW_MS, buy, check_of, make_engine, posture_with
from riskguard import AccountSnapshot


def test_a_nav_mark_dated_ahead_within_the_clock_skew_tolerance_does_not_block_with_nav_stale() -> None:
    engine = make_engine()
    engine.update_account(AccountSnapshot(nav=4_400.0, ts_ms=NOW_MS + 4_000))  # 4 s ahead, tolerance 5 s
    veto, detail = engine.check_order(buy(), now_ms=NOW_MS)
    assert not veto, detail["reasons"]
    assert detail["nav_fresh"] and detail["nav_age_ms"] == 0.0
    assert check_of(detail, "nav_stale")["observed"] == 0.0


def test_the_tolerance_is_the_postures_max_clock_skew() -> None:
    engine = make_engine(posture_with(**{"account.max_clock_skew_s": 3_600}))
    engine.update_account(AccountSnapshot(nav=4_400.0, ts_ms=NOW_MS + 3_000_000))  # 50 min ahead
    veto, detail = engine.check_order(buy(), now_ms=NOW_MS)
    assert not veto and detail["nav_fresh"]


def test_a_nav_mark_dated_beyond_the_tolerance_still_vetoes_new_risk() -> None:
    engine = make_engine()
    engine.update_account(AccountSnapshot(nav=4_400.0, ts_ms=NOW_MS + 3_600_000))  # an hour ahead
    veto, detail = engine.check_order(buy(), now_ms=NOW_MS)
    assert veto and "nav_stale" in detail["reasons"] and not detail["nav_fresh"]
