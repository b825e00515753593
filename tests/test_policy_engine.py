"""PolicyEngine: updates recompute cached policies; lookups reflect regime, trades and equity."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config import preset
from riskguard.config.schema import Posture
from riskguard.model.enums import Regime, RiskProfile, TradingState
from riskguard.model.errors import InputValidationError
from riskguard.policy.drawdown import DrawdownWindow
from riskguard.policy.flags import PolicyViews, split_policy
from riskguard.policy.policy_engine import PolicyEngine
from riskguard.policy.regime import warmup_bars
from riskguard.policy.risk_state import SymbolPerformance
from riskguard.policy.rules import compute_policy

WED = int(datetime(2024, 8, 7, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


def engine(**flags: bool) -> PolicyEngine:
    posture = preset("moderate")
    if flags:
        data = posture.model_dump()
        data["policy"]["flags"].update(flags)
        posture = Posture.model_validate(data)
    return PolicyEngine(posture, clock=lambda: WED)


def trending_candles(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.002, 0.001, n)))
    return pd.DataFrame({"high": close * 1.002, "low": close * 0.998, "close": close})


def test_symbol_without_candles_fails_closed() -> None:
    p = engine().policy_for("BTCUSDT")
    assert (p.regime, p.allow_new_trades) == (None, False)


def test_update_regime_changes_the_policy_of_that_symbol_only() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.HIGH_VOL)
    assert pe.policy_for("BTCUSDT").max_risk_pct == 0.5
    assert pe.policy_for("ETHUSDT").regime is None


def test_update_ohlcv_detects_and_stores_the_regime() -> None:
    pe = engine()
    assert pe.update_ohlcv("ETH/USDT:USDT", trending_candles(900)) is Regime.BULL
    assert pe.policy_for("ETHUSDT").regime is Regime.BULL


def test_too_short_history_leaves_the_regime_unknown() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.BULL)
    cfg = preset("moderate").policy.regime
    assert pe.update_ohlcv("BTCUSDT", trending_candles(warmup_bars(cfg))) is None
    assert pe.policy_for("BTCUSDT").regime is None


def test_malformed_candles_raise_and_leave_the_regime_unknown() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.BULL)
    with pytest.raises(InputValidationError):
        pe.update_ohlcv("BTCUSDT", trending_candles(900).drop(columns=["close"]))
    assert pe.regime("BTCUSDT") is None


def test_losing_trades_reduce_every_symbols_policy() -> None:
    pe = engine()
    for sym in ("BTCUSDT", "ETHUSDT"):
        pe.update_regime(sym, Regime.NORMAL)
    for i in range(5):
        pe.record_trade("SOLUSDT", -5.0, -1.0, WED + i)
    assert pe.policy_for("BTCUSDT").max_risk_pct == pytest.approx(0.3)
    assert pe.policy_for("ETHUSDT").max_risk_pct == pytest.approx(0.3)


def test_very_poor_symbol_drops_out_of_allowed_symbols() -> None:
    pe = engine()
    for i in range(10):
        pe.record_trade("BNBUSDT", -5.0, -1.0, WED + i)
    assert "BNBUSDT" not in pe.policy_for("BTCUSDT").allowed_symbols
    assert not pe.policy_for("BNBUSDT").symbol_allowed


def test_equity_drawdown_trips_the_ladder_and_the_policy_follows() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.NORMAL)
    pe.update_equity(WED, 4400.0)
    events = pe.update_equity(WED + HOUR, 4260.0)  # -3.2 %
    assert [e.rung for e in events] == ["daily_3%_halt_new_trades"]
    p = pe.policy_for("BTCUSDT")
    assert (p.allow_new_trades, p.trading_state, p.risk_profile) == (
        False, TradingState.HALTED, RiskProfile.NO_NEW_TRADES)


def test_operator_acknowledge_lifts_the_halt_in_the_policy() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.NORMAL)
    pe.update_equity(WED, 4400.0)
    pe.update_equity(WED + HOUR, 4260.0)
    pe.acknowledge()
    assert pe.policy_for("BTCUSDT").allow_new_trades


def test_flags_off_keep_the_applied_view_neutral() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.HIGH_VOL)
    views = pe.views_for("BTCUSDT")
    assert views.applied.risk_multiplier == 1.0
    assert views.shadow["use_for_risk_sizing"]["risk_multiplier"] == 0.5


def test_flag_on_in_the_posture_applies_its_stage() -> None:
    pe = engine(use_for_risk_sizing=True)
    pe.update_regime("BTCUSDT", Regime.HIGH_VOL)
    assert pe.views_for("BTCUSDT").applied.risk_multiplier == 0.5
    assert pe.status()["active_stages"] == ["use_for_risk_sizing"]


def test_lookup_accepts_any_symbol_spelling() -> None:
    pe = engine()
    pe.update_regime("BTCUSDT", Regime.BULL)
    assert pe.policy_for("BTC/USDT:USDT") is pe.policy_for("BTCUSDT")


def test_repeated_lookups_return_the_cached_policy() -> None:
    pe = engine()
    assert pe.policy_for("ETHUSDT") is pe.policy_for("ETHUSDT")


def test_status_lists_every_universe_symbol() -> None:
    status = engine().status()
    assert set(status["policies"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"}  # type: ignore[arg-type]


def test_unknown_regime_value_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        engine().update_regime("BTCUSDT", "BULL")  # type: ignore[arg-type]
    assert err.value.field == "regime"


def test_a_trade_leaves_a_policy_that_reads_nothing_it_changed_as_it_was() -> None:
    pe = engine()
    pe.update_regime("ETHUSDT", Regime.NORMAL)
    before = pe.views_for("ETHUSDT")
    pe.record_trade("BTCUSDT", 12.0, 1.1, WED)  # a win: no streak, BTC's performance only
    assert pe.views_for("ETHUSDT") is before


def test_a_refresh_after_a_trade_quotes_the_drawdown_of_that_moment() -> None:
    pe = engine()
    pe.update_regime("ETHUSDT", Regime.NORMAL)
    pe.update_equity(WED, 4400.0)
    pe.update_equity(WED + HOUR, 4300.0)  # -2.3 %: the daily step (2 %) is reached
    assert "daily drawdown 2.27%" in pe.policy_for("ETHUSDT").notes[0]
    pe.update_equity(WED + 2 * HOUR, 4290.0)  # the same step: the cached policy stays
    assert "daily drawdown 2.27%" in pe.policy_for("ETHUSDT").notes[0]
    pe.record_trade("BTCUSDT", 12.0, 1.1, WED + 2 * HOUR)  # a refresh reads the drawdown again
    assert "daily drawdown 2.50%" in pe.policy_for("ETHUSDT").notes[0]


class _RecomputingEngine(PolicyEngine):
    """The reference: every refresh computes every policy afresh."""

    __slots__ = ()

    def _views(self, name: str, drawdowns: dict[DrawdownWindow, float],
               performance: SymbolPerformance | None = None,
               account: tuple[object, ...] | None = None) -> PolicyViews:
        return split_policy(compute_policy(self._inputs(name, drawdowns, performance), self._rules), self._flags)


_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "DOGEUSDT")  # DOGE is outside the universe
_TRADE = st.tuples(st.just("trade"), st.sampled_from(_SYMBOLS[:2]), st.sampled_from([-30.0, -5.0, 0.0, 8.0, 40.0]),
                   st.sampled_from([-1.0, -0.4, 0.0, 0.5, 2.0]))
# Trades are weighted up and fall on two symbols: streaks and poor performance need runs of them.
_UPDATES = st.lists(st.one_of(
    st.tuples(st.just("regime"), st.sampled_from(_SYMBOLS), st.sampled_from([None, *Regime])),
    _TRADE, _TRADE, _TRADE,
    st.tuples(st.just("equity"), st.floats(3_600.0, 4_600.0), st.sampled_from([0, HOUR, 86_400_000])),
    st.tuples(st.just("acknowledge")),
), min_size=40, max_size=120)


@settings(max_examples=100, deadline=None)
@given(_UPDATES, st.sampled_from(["conservative", "moderate", "aggressive"]))
def test_policies_equal_those_of_an_engine_that_recomputes_every_policy_on_every_refresh(
        updates: list[tuple[object, ...]], preset_name: str) -> None:
    posture = preset(preset_name)
    now = [WED]
    fast, reference = (cls(posture, clock=lambda: now[0]) for cls in (PolicyEngine, _RecomputingEngine))
    for update in updates:
        for pe in (fast, reference):
            if update[0] == "regime":
                pe.update_regime(str(update[1]), update[2])  # type: ignore[arg-type]
            elif update[0] == "trade":
                pe.record_trade(str(update[1]), float(update[2]), float(update[3]), now[0])  # type: ignore[arg-type]
            elif update[0] == "equity":
                pe.update_equity(now[0], float(update[1]))  # type: ignore[arg-type]
            else:
                pe.acknowledge(ts_ms=now[0])
        if update[0] == "equity":
            now[0] += int(update[2])  # type: ignore[call-overload]
        for symbol in _SYMBOLS:
            assert fast.views_for(symbol) == reference.views_for(symbol)
