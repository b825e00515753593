"""resize_to_fit shrinks an intent vetoed only by size-bound gates to max_notional_allowed."""

from __future__ import annotations

from conftest import NAV, buy, check_of, make_engine, posture_with
from riskguard import Position, RiskEngine


def _resizing_engine() -> RiskEngine:
    return make_engine(posture_with(resize_to_fit=True))


def test_oversized_trade_is_resized_to_the_binding_cap_and_says_which_gate_bound_it() -> None:
    veto, detail = _resizing_engine().check_order(buy("BTCUSDT", 1_500.0, leverage=4.0))
    assert veto is False
    assert detail["resized"] is True
    assert detail["clamped_by"] == "trade_gt_10pct_equity"  # the clamp's 15 % of NAV is under the 20 % cap
    assert detail["requested"]["notional"] == 1_500.0
    assert detail["sized"]["notional"] <= 0.15 * NAV
    assert detail["sized"]["qty"] == 0.011  # 660 / 60,000 floored to the 0.001 step


def test_resized_trade_passes_every_size_bound_gate() -> None:
    _, detail = _resizing_engine().check_order(buy("ETHUSDT", 2_000.0, leverage=1.0))
    assert detail["resized"] is True
    for gate in ("trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity", "symbol_nav_cap_exceeded"):
        assert check_of(detail, gate)["passed"] is True


def test_resize_never_rescues_a_non_size_veto() -> None:
    veto, detail = _resizing_engine().check_order(buy("BTCUSDT", 1_500.0, leverage=9.0))
    assert veto is True
    assert detail["resized"] is False
    assert detail["reasons"] == ["trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity", "symbol_nav_cap_exceeded",
                                 "leverage_exceeded"]


def test_resize_below_min_notional_stays_vetoed() -> None:
    engine = _resizing_engine()
    engine.add_position(Position(symbol="BTCUSDT", side="LONG", qty=0.017,
                                                          entry_price=60_000.0, strategy="a", stop_price=59_000.0))
    veto, detail = engine.check_order(buy("BTCUSDT", 500.0, strategy="b"))  # 80 USDT of headroom < 100 min
    assert veto is True
    assert detail["max_notional_allowed"] < 100.0


def test_without_resize_to_fit_the_same_trade_is_vetoed_with_the_headroom_reported() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 1_500.0, leverage=4.0))
    assert veto is True
    assert detail["max_notional_allowed"] == 0.15 * NAV
    assert detail["clamped_by"] == "trade_gt_10pct_equity"
