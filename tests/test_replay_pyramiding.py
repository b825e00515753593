"""The replay's opt-in adds and stop moves (--pyramid, --dynamic-stops): every add is the engine's
decision, stops only tighten, a pyramided position never risks more than the per-trade max loss,
and the reports show both; with both off the replay is the one without them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskguard.config import preset
from riskguard.config.schema import Posture
from riskguard.ledger import STOP_MOVED
from riskguard.model.enums import Side
from riskguard.replay.accounts import LedgerAccount
from riskguard.replay.market import MarketData, load_market, market_from_frames, synthetic_market
from riskguard.replay.report import report_data, report_json, write_report
from riskguard.replay.runner import Replay, ReplayOptions, ReplayResult, TradeRow, run_replay
from riskguard.replay.signals_file import FileSignal
from riskguard.replay.strategies import Breakout, EmaTrend

SHARED = Path(os.environ.get("RISKGUARD_SHARED_DATA",
                             Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
TESTDATA = SHARED / "freqtrade-testdata"
needs_shared = pytest.mark.skipif(not TESTDATA.is_dir(), reason=f"shared data not found at {TESTDATA}")
START = pd.Timestamp("2024-03-01", tz="UTC")
MANAGED = ReplayOptions(use_ledger=False, pyramid=True, dynamic_stops=True)
PYRAMID_GATES = {"pyramid_add_limit", "pyramid_not_in_profit", "pyramid_add_too_close", "pyramid_add_too_soon",
                 "pyramid_paused", "pyramid_stop_loosened", "pyramid_size_exceeded", "pyramid_risk_exceeded"}


def _posture(**pyramiding: Any) -> Posture:
    data = preset("moderate").model_dump(mode="json")
    data["exits"]["pyramiding"].update(pyramiding)
    return Posture.model_validate(data)


@pytest.fixture(scope="module")
def real() -> MarketData:
    if not TESTDATA.is_dir():
        pytest.skip(f"shared data not found at {TESTDATA}")
    market = load_market([TESTDATA], symbols=["BTCUSDT", "ETHUSDT"])
    start = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000)
    return market.window(start, start + 120 * 86_400_000)


@pytest.fixture(scope="module")
def managed_run(real: MarketData) -> ReplayResult:
    return run_replay(preset("moderate"), real, strategies=[EmaTrend(), Breakout()], options=MANAGED)


def _approved(trade: TradeRow) -> list[Any]:
    return [a for a in trade.adds if a.approved]


# -- both off: the replay without them ---------------------------------------------------------------
def test_with_both_options_off_the_report_is_byte_identical_to_the_default_run() -> None:
    sample = synthetic_market(days=30)
    default = run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()])
    off = run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()],
                     options=ReplayOptions(pyramid=False, dynamic_stops=False))
    assert report_json(off) == report_json(default)
    data = report_data(off)
    assert "pyramiding" not in data and "pyramid" not in data["options"]
    assert all("adds" not in t and "stop_path" not in t for t in data["trades"])


def test_with_both_options_off_no_trade_is_managed(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a managed-trade path ran with both options off")

    for name in ("_enter_managed", "_on_manage", "_request_add", "_resimulate"):
        monkeypatch.setattr(Replay, name, never)
    result = run_replay(preset("moderate"), synthetic_market(days=30), strategies=[EmaTrend(), Breakout()],
                        options=ReplayOptions(use_ledger=False))
    assert result.trades and not result.adds
    assert all(not t.adds and not t.stop_path for t in result.trades)


# -- adds: the engine decides -----------------------------------------------------------------------
@needs_shared
def test_real_candles_give_adds_and_stop_moves(managed_run: ReplayResult) -> None:
    assert any(_approved(t) for t in managed_run.trades)
    assert any(t.stop_path for t in managed_run.trades)


@needs_shared
def test_an_approved_add_fills_at_the_next_bar_open_and_grows_the_trade(managed_run: ReplayResult) -> None:
    by_symbol = {s.symbol: s for s in managed_run.market.series}
    for trade in managed_run.trades:
        adds = _approved(trade)
        for add in adds:
            bars = by_symbol[trade.symbol].bars
            decided = int(np.searchsorted(by_symbol[trade.symbol].close_times_ms, add.ts_ms))
            assert add.fill_ts_ms == int(bars.time_ms[decided + 1])
            assert add.price == float(bars.open[decided + 1]) and add.qty > 0.0
        assert sum(f[2] for f in trade.fills) == pytest.approx(1.0)
        if adds:
            assert trade.qty > sum(a.qty for a in adds)  # the first leg plus every add


@needs_shared
def test_no_add_fills_when_the_engine_allows_none(real: MarketData) -> None:
    result = run_replay(_posture(max_adds=0), real, strategies=[EmaTrend(), Breakout()], options=MANAGED)
    assert result.adds and not any(a.approved for a in result.adds)
    assert all(a.qty == 0.0 and a.price is None for a in result.adds)
    assert all("pyramid_add_limit" in a.reasons for a in result.adds)
    assert all(not t.adds or not _approved(t) for t in result.trades)


@needs_shared
def test_an_add_vetoed_by_a_pyramid_gate_is_recorded_with_its_reason(managed_run: ReplayResult) -> None:
    vetoed = [a for a in managed_run.adds if not a.approved]
    assert vetoed and all(a.reasons for a in vetoed)
    assert {r for a in vetoed for r in a.reasons} & PYRAMID_GATES


# -- stops: only tighter ----------------------------------------------------------------------------
@needs_shared
def test_the_stop_never_loosens_along_a_trade_path(managed_run: ReplayResult) -> None:
    moved = [t for t in managed_run.trades if t.stop_path]
    assert moved
    for trade in moved:
        direction = 1.0 if trade.side == "BUY" else -1.0
        stop = trade.stop_price
        for move in trade.stop_path:
            assert move.old_stop == stop
            assert (move.new_stop - stop) * direction > 0.0
            stop = move.new_stop


@needs_shared
def test_dynamic_stops_alone_move_stops_and_never_add(real: MarketData) -> None:
    result = run_replay(preset("moderate"), real, strategies=[EmaTrend()],
                        options=ReplayOptions(use_ledger=False, dynamic_stops=True))
    assert not result.adds
    assert {m.reason for t in result.trades for m in t.stop_path} & {"lock", "chandelier"}


def test_a_managed_trade_whose_stop_never_moves_is_the_default_trade() -> None:
    data = preset("moderate").model_dump(mode="json")
    data["exits"]["dynamic_stop"].update(lock_steps=[], chandelier_after_r=1_000.0)
    still = Posture.model_validate(data)
    sample = synthetic_market(days=60)
    plain = run_replay(still, sample, strategies=[EmaTrend(), Breakout()], options=ReplayOptions(use_ledger=False))
    managed = run_replay(still, sample, strategies=[EmaTrend(), Breakout()],
                         options=ReplayOptions(use_ledger=False, dynamic_stops=True))
    assert len(managed.trades) == len(plain.trades) > 0
    for a, b in zip(managed.trades, plain.trades, strict=True):
        assert (a.symbol, a.entry_ts_ms, a.exit_ts_ms, a.exit_kind, a.qty) == (b.symbol, b.entry_ts_ms, b.exit_ts_ms,
                                                                                b.exit_kind, b.qty)
        assert [f[::3] for f in a.fills] == [f[::3] for f in b.fills]
        assert (a.gross_usdt, a.fees_usdt, a.funding_usdt, a.net_r) == pytest.approx(
            (b.gross_usdt, b.fees_usdt, b.funding_usdt, b.net_r), rel=1e-9, abs=1e-9)
    assert managed.equity == pytest.approx(plain.equity, rel=1e-9)


# -- the per-trade max loss, over random paths ------------------------------------------------------
def _path_market(returns: list[float]) -> MarketData:
    """Hourly candles along ``returns`` from 40,000 USDT: each bar opens at the last close (no gap),
    highs and lows 0.2 % beyond the body."""
    closes = 40_000.0 * np.cumprod(1.0 + np.array(returns))
    opens = np.concatenate(([40_000.0], closes[:-1]))
    frame = pd.DataFrame({"date": pd.date_range(START, periods=len(closes), freq="1h"), "open": opens,
                          "high": np.maximum(opens, closes) * 1.002, "low": np.minimum(opens, closes) * 0.998,
                          "close": closes, "volume": np.full(len(closes), 10.0)})
    return market_from_frames({"BTCUSDT": frame}, description="random path (test)", synthetic=True)


def _entry_signal(side: Side) -> FileSignal:
    at = START + pd.Timedelta(hours=20)
    return FileSignal(ts_ms=int(at.value // 1_000_000), symbol="BTCUSDT", side=side, strategy="manual",
                      signal_id="entry", confidence=0.8, expected_rr=2.0, stop_price=None, take_profit_price=None,
                      atr=None, leverage=2.0, source=None)


def _assert_within_max_loss(result: ReplayResult, max_loss_nav_pct: float) -> None:
    for add in result.adds:
        if add.approved:
            assert add.risk_usdt is not None
            assert add.risk_usdt <= max_loss_nav_pct * add.nav * (1.0 + 1e-9)


def test_a_steady_trend_is_pyramided_within_the_max_loss() -> None:
    posture = _posture(min_profit_r=0.5)
    result = run_replay(posture, _path_market([0.004] * 160), file_signals=[_entry_signal(Side.BUY)],
                        options=MANAGED)
    assert any(a.approved for a in result.adds)
    _assert_within_max_loss(result, posture.trade.max_loss_nav_pct)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drift=st.floats(-0.006, 0.006), noise=st.lists(st.floats(-0.02, 0.02), min_size=140, max_size=140),
       side=st.sampled_from([Side.BUY, Side.SELL]), max_combined_risk_r=st.floats(0.5, 3.0))
def test_the_loss_at_the_stop_of_a_pyramided_position_never_exceeds_the_per_trade_max_loss(
        drift: float, noise: list[float], side: Side, max_combined_risk_r: float) -> None:
    posture = _posture(max_combined_risk_r=max_combined_risk_r, min_profit_r=0.5, min_add_distance_r=0.3)
    result = run_replay(posture, _path_market([drift + n for n in noise]), file_signals=[_entry_signal(side)],
                        options=MANAGED)
    _assert_within_max_loss(result, posture.trade.max_loss_nav_pct)
    for trade in result.trades:  # after the add the stop only tightens: the risk only shrinks
        direction = 1.0 if trade.side == "BUY" else -1.0
        assert all((m.new_stop - m.old_stop) * direction > 0.0 for m in trade.stop_path)


# -- the ledger in the loop --------------------------------------------------------------------------
def test_the_ledger_stores_each_add_decision_its_fill_and_each_stop_move(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    close = LedgerAccount.close

    def inspected(self: LedgerAccount) -> None:
        ledger = self.gate.ledger
        records = [r for r in ledger.decisions(limit=100_000) if r.intent_id.endswith("-add")]
        seen["adds"] = {r.intent_id: r.approved for r in records}
        filled = {r.reservation_id for r in ledger.reservations(status=None) if r.status == "FILLED"}
        seen["filled"] = {r.intent_id for r in records if r.reservation_id in filled}
        seen["stop_moves"] = len(ledger.events(STOP_MOVED))
        close(self)

    monkeypatch.setattr(LedgerAccount, "close", inspected)
    result = run_replay(_posture(min_profit_r=0.5), _path_market([0.004] * 160),
                        file_signals=[_entry_signal(Side.BUY)],
                        options=ReplayOptions(use_ledger=True, pyramid=True, dynamic_stops=True))
    approved = [a for a in result.adds if a.approved]
    assert approved and len(seen["adds"]) == len(result.adds)
    assert sum(seen["adds"].values()) == len(approved) == len(seen["filled"])
    assert result.ledger_realized_usdt == pytest.approx(sum(t.net_usdt for t in result.trades), abs=1e-6)
    moves = [m for t in result.trades for m in t.stop_path if m.reason != "add"]  # an add's fill restates it
    assert moves and seen["stop_moves"] == len(moves)


# -- reports ---------------------------------------------------------------------------------------------
@needs_shared
def test_the_reports_show_adds_and_stop_paths(managed_run: ReplayResult, tmp_path: Path) -> None:
    paths = write_report(managed_run, tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["options"]["pyramid"] is True and data["options"]["dynamic_stops"] is True
    summary = data["pyramiding"]
    assert summary["adds_approved"] == sum(1 for a in managed_run.adds if a.approved) > 0
    assert summary["stop_moves"] == sum(len(t.stop_path) for t in managed_run.trades) > 0
    assert summary["add_requests"] == summary["adds_approved"] + summary["adds_vetoed"]
    pyramided = [t for t in data["trades"] if any(a["approved"] for a in t["adds"])]
    assert pyramided and all({"r_at_add", "qty", "stop_price"} <= set(t["adds"][0]) for t in pyramided)
    assert any(t["stop_path"] for t in data["trades"])
    page = paths["html"].read_text(encoding="utf-8")
    assert 'class="stop-path"' in page and 'class="add"' in page and "adds and stop moves" in page


@needs_shared
def test_equity_ends_at_the_trades_net_with_adds(managed_run: ReplayResult) -> None:
    assert float(managed_run.equity[-1]) == pytest.approx(
        managed_run.options.nav + sum(t.net_usdt for t in managed_run.trades), abs=1e-6)
