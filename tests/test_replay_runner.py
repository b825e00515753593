"""The replay loop: the real engine and ledger in the loop, exits between events, fees and funding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskguard.config import preset
from riskguard.model.enums import Side
from riskguard.model.errors import InputValidationError
from riskguard.replay.data import OhlcvArrays
from riskguard.replay.market import MarketData, market_from_frames, synthetic_market
from riskguard.replay.metrics import summarize
from riskguard.replay.report import report_json
from riskguard.replay.runner import ReplayOptions, ReplayResult, run_replay
from riskguard.replay.signals_file import FileSignal
from riskguard.replay.strategies import BarView, Breakout, EmaTrend, Entry, Strategy

START = pd.Timestamp("2024-03-01", tz="UTC")


@pytest.fixture(scope="module")
def sample() -> MarketData:
    return synthetic_market(days=45)


@pytest.fixture(scope="module")
def moderate_run(sample: MarketData) -> ReplayResult:
    return run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()])


def _flat_frame(bars: int, price: float) -> pd.DataFrame:
    dates = pd.date_range(START, periods=bars, freq="1h")
    close = np.full(bars, price)
    return pd.DataFrame({"date": dates, "open": close, "high": close * 1.004, "low": close * 0.996,
                         "close": close, "volume": np.full(bars, 10.0)})


def _file_signal(ts: pd.Timestamp, side: Side = Side.BUY, atr: float = 200.0) -> FileSignal:
    return FileSignal(ts_ms=int(ts.value // 1_000_000), symbol="BTCUSDT", side=side, strategy="manual",
                      signal_id="s1", confidence=0.8, expected_rr=2.0, stop_price=None, take_profit_price=None,
                      atr=atr, leverage=2.0, source=None)


def test_same_inputs_give_a_byte_identical_json_report(sample: MarketData, moderate_run: ReplayResult) -> None:
    again = run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()])
    assert report_json(again) == report_json(moderate_run)


def test_ledger_in_the_loop_decides_exactly_like_the_engine_alone(sample: MarketData,
                                                                  moderate_run: ReplayResult) -> None:
    alone = run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()],
                       options=ReplayOptions(use_ledger=False))
    assert moderate_run.ledger_in_loop and not alone.ledger_in_loop
    assert alone.decisions == moderate_run.decisions
    assert alone.trades == moderate_run.trades


def test_ledger_realised_pnl_includes_funding_and_matches_the_replays_own(moderate_run: ReplayResult) -> None:
    assert any(t.funding_usdt > 0.0 for t in moderate_run.trades)  # funding received, not only paid
    net = sum(t.net_usdt for t in moderate_run.trades)
    assert moderate_run.ledger_realized_usdt == pytest.approx(net, abs=1e-6)


def test_equity_ends_at_start_plus_the_net_result_of_every_trade(moderate_run: ReplayResult) -> None:
    net = sum(t.net_usdt for t in moderate_run.trades)
    assert moderate_run.trades
    assert moderate_run.equity[-1] == pytest.approx(4_400.0 + net, abs=1e-6)


def test_every_trade_pays_fees_and_books_funding(moderate_run: ReplayResult) -> None:
    for trade in moderate_run.trades:
        assert trade.fees_usdt > 0.0
        assert trade.net_usdt == pytest.approx(trade.gross_usdt - trade.fees_usdt + trade.funding_usdt)
    assert any(t.funding_usdt != 0.0 for t in moderate_run.trades)


def test_open_positions_never_exceed_the_global_cap(moderate_run: ReplayResult) -> None:
    events = sorted([(t.entry_ts_ms, 1) for t in moderate_run.trades] + [(t.exit_ts_ms, -1) for t in
                                                                         moderate_run.trades],
                    key=lambda e: (e[0], e[1]))
    held = peak = 0
    for _, step in events:
        held += step
        peak = max(peak, held)
    assert peak <= preset("moderate").portfolio.max_open_positions


def test_every_approval_stays_within_the_per_trade_cap(moderate_run: ReplayResult) -> None:
    cap = preset("moderate").trade.max_trade_nav_pct
    for trade in moderate_run.trades:
        nav_then = float(np.interp(trade.entry_ts_ms, moderate_run.timeline_ms, moderate_run.equity))
        assert trade.qty * trade.entry_price <= cap * nav_then * 1.02  # entry at the next open, not the mark


def test_stop_wins_when_a_bar_touches_both_stop_and_target() -> None:
    frame = _flat_frame(60, 60_000.0)
    # The bar after entry spans far beyond both the stop and every target.
    frame.loc[31, "high"] = 70_000.0
    frame.loc[31, "low"] = 50_000.0
    market = market_from_frames({"BTCUSDT": frame}, description="test frame", synthetic=True)
    result = run_replay(preset("moderate"), market, file_signals=[_file_signal(frame["date"][29])])
    assert len(result.trades) == 1
    trade = result.trades[0]
    assert trade.exit_kind == "stop"
    assert trade.exit_price == pytest.approx(trade.stop_price)
    assert trade.net_usdt < 0.0


def test_a_signal_stamped_inside_a_bar_is_entered_at_the_next_bar_open() -> None:
    frame = _flat_frame(60, 60_000.0)
    frame.loc[31:, ["open", "close"]] = 60_100.0
    frame.loc[31:, "high"] = 60_100.0 * 1.004
    frame.loc[31:, "low"] = 60_100.0 * 0.996
    market = market_from_frames({"BTCUSDT": frame}, description="test frame", synthetic=True)
    inside_bar_30 = frame["date"][30] + pd.Timedelta(minutes=30)
    result = run_replay(preset("moderate"), market, file_signals=[_file_signal(inside_bar_30)])
    assert result.decisions[0].ts_ms == int(frame["date"][31].value // 1_000_000)  # bar 30's close
    assert result.trades[0].entry_price == 60_100.0


def test_a_file_signal_for_a_symbol_without_data_names_the_row() -> None:
    market = market_from_frames({"ETHUSDT": _flat_frame(40, 3_000.0)}, description="test", synthetic=True)
    with pytest.raises(InputValidationError, match=r"signals row 1\.symbol"):
        run_replay(preset("moderate"), market, file_signals=[_file_signal(START)])


def test_a_replay_needs_signals(sample: MarketData) -> None:
    with pytest.raises(InputValidationError, match="signals"):
        run_replay(preset("moderate"), sample)


def test_summary_counts_every_decision_once(moderate_run: ReplayResult) -> None:
    s = summarize(moderate_run)
    assert s.approved + s.vetoed == s.decisions == len(moderate_run.decisions)
    assert s.pass_rate == pytest.approx(s.approved / s.decisions)
    assert sum(s.resizes_by_gate.values()) == s.resized
    assert 0.0 <= s.max_drawdown < 1.0


def test_json_report_of_a_synthetic_run_says_so(moderate_run: ReplayResult, tmp_path: Path) -> None:
    data = json.loads(report_json(moderate_run))
    assert data["synthetic"] is True
    assert "SYNTHETIC" in data["warning"] and "SYNTHETIC" in data["data"]


class _EveryNthBar:
    """A user strategy through the per-bar protocol: BUY every ``n``-th bar after a warm-up."""

    name = "every_nth"

    def __init__(self, n: int) -> None:
        self.n = n

    def prepare(self, symbol: str, bars: OhlcvArrays) -> None:
        self.seen = len(bars)

    def __call__(self, view: BarView) -> Entry | None:
        if view.index < 20 or view.index % self.n:
            return None
        return Entry(Side.BUY, confidence=0.8, expected_rr=2.0)


def test_a_user_strategy_plugs_in_through_the_per_bar_protocol(sample: MarketData) -> None:
    strategy = _EveryNthBar(50)
    assert isinstance(strategy, Strategy)
    result = run_replay(preset("moderate"), sample.select(["BTCUSDT"]), strategies=[strategy],
                        options=ReplayOptions(use_ledger=False))
    assert result.decisions and all(d.strategy == "every_nth" and d.side == "BUY" for d in result.decisions)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(30, 700), st.booleans(), st.sampled_from(["BTCUSDT", "ETHUSDT"])),
                min_size=1, max_size=25))
def test_equity_and_caps_hold_for_any_signal_sequence(sample: MarketData,
                                                      rows: list[tuple[int, bool, str]]) -> None:
    market = sample.select(["BTCUSDT", "ETHUSDT"])
    base = int(market.series[0].bars.time_ms[0])
    signals = [FileSignal(ts_ms=base + hour * 3_600_000, symbol=symbol, side=Side.BUY if buy else Side.SELL,
                          strategy=f"s{n % 3}", signal_id=f"p{n}", confidence=0.8, expected_rr=2.0,
                          stop_price=None, take_profit_price=None, atr=None, leverage=None, source=None)
               for n, (hour, buy, symbol) in enumerate(rows)]
    result = run_replay(preset("moderate"), market, file_signals=signals, options=ReplayOptions(use_ledger=False))
    assert result.equity[-1] == pytest.approx(4_400.0 + sum(t.net_usdt for t in result.trades), abs=1e-6)
    assert len(result.trades) == sum(d.approved for d in result.decisions)
    assert float((result.exposure / result.equity).max(initial=0.0)) <= 1.05


@pytest.mark.parametrize("enabled", [True, False])
def test_a_replay_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    import gc

    was = gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        if not enabled:
            gc.disable()
        run_replay(preset("moderate"), synthetic_market(days=20), strategies=[EmaTrend()],
                   options=ReplayOptions(use_ledger=False))
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == frozen
    finally:
        if was:
            gc.enable()
