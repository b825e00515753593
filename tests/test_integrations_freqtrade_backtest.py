"""The proof inside freqtrade itself: a real, offline ``freqtrade backtesting`` (Binance USD-M
futures, isolated margin) of the example EMA-cross strategy with riskguard's mixin and the
``moderate`` posture, on the real 1h candles (with mark and funding) of BTC, ETH, SOL and BNB.

Every assertion reads freqtrade's own results (its exported trade list and its log) and the ledger
riskguard wrote during the run. freqtrade is allowed 10 open trades: whatever held it to fewer was
riskguard.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from freqtrade_harness import PAIRS, REPO, BacktestRun, make_user_data, max_concurrent, missing_data, run_backtest
from riskguard.config import preset
from riskguard.gates import GATE_NAMES
from riskguard.integrations.freqtrade import Settings, to_binance_symbol
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.runtime import LEDGER_UNAVAILABLE


def _skip_or_fail(message: str) -> None:
    """Skip, or fail under RISKGUARD_REQUIRE_FREQTRADE=1 (CI: this proof must run there)."""
    if os.environ.get("RISKGUARD_REQUIRE_FREQTRADE") == "1":
        pytest.fail(f"RISKGUARD_REQUIRE_FREQTRADE=1: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


if importlib.util.find_spec("freqtrade") is None:
    _skip_or_fail("the freqtrade test extra is not installed (pip install -e '.[freqtrade]')")
if missing_data():
    _skip_or_fail(str(missing_data()))

# Six months of the year keeps the run near half a minute; benchmarks/freqtrade_with_without.py runs the year.
TIMERANGE = "20240101-20240701"
STRATEGY = "RiskguardEmaCross"
MODERATE = preset("moderate")
REASON_CODES = set(GATE_NAMES) | {LEDGER_UNAVAILABLE}
VETO_LINE = re.compile(r"riskguard vetoed (\S+) (long|short) entry at (\S+): (.*) \(decision (\S+)\)")


@pytest.fixture(scope="module")
def backtest(tmp_path_factory: pytest.TempPathFactory) -> tuple[BacktestRun, Ledger]:
    root = tmp_path_factory.mktemp("freqtrade")
    url = f"sqlite:///{root / 'riskguard.db'}"
    run = run_backtest(root, STRATEGY, timerange=TIMERANGE, max_open_trades=10,
                       riskguard={"posture": "moderate", "ledger_url": url, "backtest_spread_bps": 1.0})
    return run, Ledger(url)


def _rows(ledger: Ledger, table: Any) -> list[Any]:
    with ledger.reading() as conn:
        return list(conn.execute(select(table)))


def _vetoes(run: BacktestRun) -> list[tuple[str, list[str], str]]:
    found = []
    for line in run.log.splitlines():
        match = VETO_LINE.search(line)
        if match:
            found.append((match.group(1), match.group(4).split(", "), match.group(5)))
    return found


def _reservation_for(ledger_rows: dict[str, Any], trade: dict[str, Any], strategy: str = STRATEGY) -> Any:
    side = "SELL" if trade["is_short"] else "BUY"
    return ledger_rows[f"{strategy}-{to_binance_symbol(trade['pair'])}-{side}-{trade['open_timestamp']}"]


def test_freqtrade_traded_every_pair_through_riskguard(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, _ = backtest
    assert run.result["trading_mode"] == "futures" and run.result["margin_mode"] == "isolated"
    assert len(run.trades) > 50
    assert {tr["pair"] for tr in run.trades} == set(PAIRS)


def test_entries_were_vetoed_with_riskguards_reasons_in_freqtrades_log(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, _ = backtest
    vetoes = _vetoes(run)
    reasons = Counter(reason for _, found, _ in vetoes for reason in found)
    assert vetoes, "riskguard vetoed nothing"
    assert set(reasons) <= REASON_CODES
    assert reasons["strategy_concurrency_exceeded"] > 0


def test_every_logged_veto_is_a_stored_decision_with_the_same_reasons(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = backtest
    stored = {d.decision_id: d for d in _rows(ledger, t.decisions) if not d.approved}
    logged = {decision_id: reasons for _, reasons, decision_id in _vetoes(run)}
    assert set(logged) == set(stored)
    for decision_id, reasons in logged.items():
        assert reasons == ledger.decision(decision_id).detail["reasons"]


def test_open_trades_never_exceeded_the_postures_caps(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, _ = backtest
    strategy_cap = MODERATE.strategies["default"].max_concurrent_positions
    assert max_concurrent(run.trades) <= min(strategy_cap, MODERATE.portfolio.max_open_positions)
    assert max_concurrent(run.trades) == strategy_cap  # the cap was reached, so it was what bound


def test_stakes_and_leverage_are_riskguards_sizes(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = backtest
    reservations = {r.intent_id: r for r in _rows(ledger, t.reservations)}
    decisions = {d.decision_id: d for d in _rows(ledger, t.decisions)}
    for trade in run.trades:
        reserved = _reservation_for(reservations, trade)
        symbol_cap = MODERATE.symbols[to_binance_symbol(trade["pair"])].max_leverage
        assert trade["leverage"] == reserved.leverage == symbol_cap
        assert trade["amount"] == pytest.approx(reserved.qty, rel=1e-12)
        assert trade["open_rate"] == reserved.price
        assert trade["stake_amount"] == pytest.approx(reserved.qty * reserved.price / reserved.leverage, rel=1e-9)
        assert decisions[reserved.decision_id].approved


def test_stake_is_the_sized_notional_over_leverage(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = backtest
    reservations = {r.intent_id: r for r in _rows(ledger, t.reservations)}
    for trade in run.trades:
        detail = ledger.decision(_reservation_for(reservations, trade).decision_id).detail
        sized = detail["sized"]
        assert trade["stake_amount"] == pytest.approx(sized["notional"] / sized["leverage"], rel=1e-9)
        assert sized["notional"] <= detail["nav"] * MODERATE.trade.max_trade_nav_pct * (1 + 1e-9)


def test_decisions_were_taken_in_backtest_time_with_fresh_nav(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = backtest
    reservations = {r.intent_id: r for r in _rows(ledger, t.reservations)}
    for trade in run.trades:
        detail = ledger.decision(_reservation_for(reservations, trade).decision_id).detail
        assert detail["ts_ms"] == trade["open_timestamp"]
        assert detail["nav_fresh"] is True


def test_ledger_agrees_with_freqtrades_trade_list(backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = backtest
    fills = sorted(_rows(ledger, t.fills), key=lambda f: f.fill_id)
    episodes: dict[tuple[str, int], list[Any]] = {}
    current: dict[str, list[Any]] = {}
    for fill in fills:
        if fill.kind == "fill":
            current[fill.symbol] = [fill]
        else:
            current[fill.symbol].append(fill)
        if fill.kind == "close":
            episode = current.pop(fill.symbol)
            episodes[(fill.symbol, episode[0].ts_ms)] = episode
    assert len(episodes) == len(run.trades)
    for trade in run.trades:
        episode = episodes[(to_binance_symbol(trade["pair"]), trade["open_timestamp"])]
        entry, close = episode[0], episode[-1]
        assert (entry.qty, entry.price, entry.side) == (trade["amount"], trade["open_rate"],
                                                         "SELL" if trade["is_short"] else "BUY")
        assert (close.qty, close.price, close.ts_ms) == (trade["amount"], trade["close_rate"],
                                                         trade["close_timestamp"])
        assert sum(f.realized_pnl for f in episode) == pytest.approx(trade["profit_abs"], abs=1e-6)
    assert ledger.positions() == []
    assert ledger.reservations() == []
    assert ledger.account().realized_pnl == pytest.approx(run.result["profit_total_abs"], abs=1e-4)


# -- adds: position adjustment through riskguard -------------------------------------------------
PYRAMID_STRATEGY = "RiskguardEmaCrossPyramid"
PYRAMID_TIMERANGE = "20240101-20240401"  # three months keep the second run short
PYRAMID_RULE = MODERATE.exits.pyramiding
ADD_VETO_LINE = re.compile(r"riskguard vetoed (\S+) (long|short) add at (\S+): (.*) \(decision (\S+)\)")


@pytest.fixture(scope="module")
def pyramid_backtest(tmp_path_factory: pytest.TempPathFactory) -> tuple[BacktestRun, Ledger]:
    """The strategy asks to add on every candle of an open trade, in profit or in loss."""
    root = tmp_path_factory.mktemp("freqtrade-adds")
    url = f"sqlite:///{root / 'riskguard.db'}"
    run = run_backtest(root, PYRAMID_STRATEGY, timerange=PYRAMID_TIMERANGE, max_open_trades=10,
                       riskguard={"posture": "moderate", "ledger_url": url, "backtest_spread_bps": 1.0})
    return run, Ledger(url)


def _adds(run: BacktestRun) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every add freqtrade filled: (trade, order), the trade's entry orders after its first."""
    return [(trade, order) for trade in run.trades for order in [o for o in trade["orders"] if o["ft_is_entry"]][1:]]


def _add_decisions(ledger: Ledger) -> list[Any]:
    """The stored decisions on adds (their detail as stored JSON)."""
    d = t.decisions.c
    with ledger.reading() as conn:
        return list(conn.execute(select(d.decision_id, d.symbol, d.ts_ms, d.approved, d.detail)
                                 .where(d.intent_id.like("%-add"))))


def test_freqtrade_added_exactly_the_adds_riskguard_approved(pyramid_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = pyramid_backtest
    approved = [d for d in _add_decisions(ledger) if d.approved]
    assert approved, "no add was approved: the proof proves nothing"
    assert len(_adds(run)) == len(approved)
    assert {order["ft_order_tag"] for _, order in _adds(run)} == {"add_in_profit"}  # freqtrade's own profit
    reservations = {r.decision_id: r for r in _rows(ledger, t.reservations)}
    placed = sorted((to_binance_symbol(trade["pair"]), order["order_filled_timestamp"], order["amount"])
                    for trade, order in _adds(run))
    decided = sorted((d.symbol, d.ts_ms, reservations[d.decision_id].qty) for d in approved)
    assert placed == decided


def test_the_strategy_asked_for_adds_in_loss_and_riskguard_refused_them(
        pyramid_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = pyramid_backtest
    vetoed = [d for d in _add_decisions(ledger) if not d.approved]
    reasons = Counter(r for d in vetoed for r in json.loads(d.detail)["reasons"])
    assert reasons["pyramid_not_in_profit"] > 0
    assert set(reasons) <= REASON_CODES
    logged = {m.group(5): m.group(4).split(", ") for m in map(ADD_VETO_LINE.search, run.log.splitlines()) if m}
    assert logged == {d.decision_id: json.loads(d.detail)["reasons"] for d in vetoed}


def test_no_add_happened_before_the_position_was_min_profit_r_in_profit(
        pyramid_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = pyramid_backtest
    entries = {r.intent_id: r for r in _rows(ledger, t.reservations)}
    for trade in run.trades:
        legs = [o for o in trade["orders"] if o["ft_is_entry"]]
        stop = _reservation_for(entries, trade, PYRAMID_STRATEGY).stop_price
        direction = -1.0 if trade["is_short"] else 1.0
        one_r = abs(legs[0]["safe_price"] - stop) * legs[0]["amount"]  # the opening leg's risk, USDT
        for i, add in enumerate(legs[1:], start=1):
            before = legs[:i]
            profit = sum(direction * (add["safe_price"] - leg["safe_price"]) * leg["amount"] for leg in before)
            assert profit >= PYRAMID_RULE.min_profit_r * one_r * (1 - 1e-9)  # never averaging down
            assert direction * (add["safe_price"] - before[-1]["safe_price"]) > 0
            assert add["amount"] <= before[-1]["amount"] * PYRAMID_RULE.size_ratio * (1 + 1e-9)
        assert len(legs) - 1 <= PYRAMID_RULE.max_adds


def test_the_ledgers_legs_and_closes_match_freqtrades_orders(pyramid_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = pyramid_backtest
    episodes: dict[tuple[str, int], list[Any]] = {}
    current: dict[str, list[Any]] = {}
    for fill in sorted(_rows(ledger, t.fills), key=lambda f: f.fill_id):
        if fill.kind == "funding":
            continue
        current.setdefault(fill.symbol, []).append(fill)
        if fill.kind == "close":
            episode = current.pop(fill.symbol)
            episodes[(fill.symbol, episode[0].ts_ms)] = episode
    assert len(episodes) == len(run.trades)
    for trade in run.trades:
        episode = episodes[(to_binance_symbol(trade["pair"]), trade["open_timestamp"])]
        legs = [o for o in trade["orders"] if o["ft_is_entry"]]
        assert [(f.kind, f.qty, f.price, f.ts_ms) for f in episode[:-1]] == [
            ("fill", o["amount"], o["safe_price"], o["order_filled_timestamp"]) for o in legs]
        assert (episode[-1].qty, episode[-1].price) == (pytest.approx(trade["amount"]), trade["close_rate"])
    assert ledger.positions() == [] and ledger.reservations() == []
    assert ledger.account().realized_pnl == pytest.approx(run.result["profit_total_abs"], abs=1e-4)


def test_each_add_saw_the_ledgers_legs_as_freqtrades_orders(pyramid_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = pyramid_backtest
    pyramids = {(d.symbol, d.ts_ms): json.loads(d.detail)["pyramid"] for d in _add_decisions(ledger) if d.approved}
    for trade in run.trades:
        legs = [o for o in trade["orders"] if o["ft_is_entry"]]
        for before, add in enumerate(legs[1:]):
            pyramid = pyramids[(to_binance_symbol(trade["pair"]), add["order_filled_timestamp"])]
            assert (pyramid["adds"], pyramid["pending_adds"]) == (before, 0)
            assert pyramid["initial_risk_usdt"] == pytest.approx(pyramid["r_unit"] * legs[0]["amount"])


# -- dynamic stops: riskguard moves the stop, the ledger records it --------------------------------
TRAILING_STRATEGY = "RiskguardEmaCrossPyramidTrailing"
STOP_EXITS = {"stop_loss", "trailing_stop_loss"}


@pytest.fixture(scope="module")
def dynamic_stop_backtest(tmp_path_factory: pytest.TempPathFactory) -> tuple[BacktestRun, Ledger]:
    """The pyramiding strategy without its own break-even stop, on riskguard's dynamic stops."""
    root = tmp_path_factory.mktemp("freqtrade-stops")
    url = f"sqlite:///{root / 'riskguard.db'}"
    run = run_backtest(root, TRAILING_STRATEGY, timerange=PYRAMID_TIMERANGE, max_open_trades=10,
                       riskguard={"posture": "moderate", "ledger_url": url, "backtest_spread_bps": 1.0,
                                  "dynamic_stops": True})
    return run, Ledger(url)


def _stop_moves(ledger: Ledger, trade: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The ledger's ``stop_moved`` events of ``trade``'s position: (ts_ms, payload) in order."""
    symbol = to_binance_symbol(trade["pair"])
    return [(event.ts_ms, payload) for event in ledger.events("stop_moved")
            if (payload := json.loads(event.payload))["symbol"] == symbol
            and trade["open_timestamp"] <= event.ts_ms <= trade["close_timestamp"]]


def test_riskguard_moved_the_stops_and_each_path_only_tightened(
        dynamic_stop_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = dynamic_stop_backtest
    moved = 0
    for trade in run.trades:
        direction = -1.0 if trade["is_short"] else 1.0
        moves = [payload for _, payload in _stop_moves(ledger, trade)]
        assert all(direction * (m["to"] - m["from"]) > 0.0 for m in moves)
        assert all(direction * (b["to"] - a["to"]) > 0.0 for a, b in itertools.pairwise(moves))
        moved += bool(moves)
    assert moved > len(run.trades) // 4, "riskguard moved too few stops for the proof to mean anything"


def test_every_exit_by_stop_was_at_or_beyond_the_stop_riskguard_recorded(
        dynamic_stop_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = dynamic_stop_backtest
    opening = {r.intent_id: r.stop_price for r in _rows(ledger, t.reservations)}
    stopped = [trade for trade in run.trades if trade["exit_reason"] in STOP_EXITS]
    assert any(trade["exit_reason"] == "trailing_stop_loss" for trade in stopped)
    for trade in stopped:
        direction = -1.0 if trade["is_short"] else 1.0
        moves = _stop_moves(ledger, trade)
        side = "SELL" if trade["is_short"] else "BUY"
        recorded = moves[-1][1]["to"] if moves else opening[
            f"{TRAILING_STRATEGY}-{to_binance_symbol(trade['pair'])}-{side}-{trade['open_timestamp']}"]
        assert direction * (trade["close_rate"] - recorded) >= -1e-9 * recorded
        assert direction * (trade["stop_loss_abs"] - recorded) >= -1e-9 * recorded  # freqtrade's stop no looser


def test_dynamic_stops_made_room_for_more_adds_than_the_strategys_own_break_even(
        dynamic_stop_backtest: tuple[BacktestRun, Ledger], pyramid_backtest: tuple[BacktestRun, Ledger]) -> None:
    run, ledger = dynamic_stop_backtest
    approved = [d for d in _add_decisions(ledger) if d.approved]
    without = [d for d in _add_decisions(pyramid_backtest[1]) if d.approved]
    assert len(approved) > len(without) > 0
    assert len(_adds(run)) == len(approved)
    for trade in run.trades:  # the opening stop spends the whole risk budget: no add before a move
        moves = [ts for ts, _ in _stop_moves(ledger, trade)]
        for d in approved:
            if d.symbol == to_binance_symbol(trade["pair"]) and trade["open_timestamp"] <= d.ts_ms \
                    <= trade["close_timestamp"]:
                assert moves and moves[0] <= d.ts_ms


def _doc_blocks(language: str) -> list[str]:
    text = (REPO / "docs" / "integrations" / "freqtrade.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_docs_copy_paste_strategy_and_config_run_in_freqtrade(tmp_path: Path) -> None:
    strategy_code = _doc_blocks("python")[0]
    config = json.loads(_doc_blocks("json")[0])
    Settings.from_mapping(config["riskguard"])  # the documented section is valid as written
    user_data = make_user_data(tmp_path)
    (user_data / "strategies" / "my_ema_cross.py").write_text(strategy_code, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'riskguard.db'}"
    run = run_backtest(tmp_path, "MyEmaCross", timerange="20240301-20240401", max_open_trades=config["max_open_trades"],
                       riskguard={**config["riskguard"], "ledger_url": url, "backtest_spread_bps": 1.0})
    ledger = Ledger(url)
    assert run.trades
    assert len([d for d in _rows(ledger, t.decisions) if d.approved]) == len(run.trades)
    assert ledger.positions() == []


def test_the_docs_pyramid_example_is_the_strategy_the_proof_runs() -> None:
    example = (REPO / "examples" / "freqtrade" / "riskguard_ema_cross.py").read_text(encoding="utf-8")
    without_docstrings = re.sub(r'\n    """.*?"""\n\n', "\n", example, flags=re.DOTALL)
    assert _doc_blocks("python")[1] in without_docstrings
