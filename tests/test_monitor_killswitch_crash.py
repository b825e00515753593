"""Across processes: kill -9 in the middle of a kill-switch activation, then the next activation (a
restart) completes the job and no position is closed twice; a running bot process sees HALTED on its
next reserve."""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from ledger_fixtures import Clock, buy, db_url, make_gate
from monitor_fixtures import PersistedExchange, open_position, paper_exchange
from riskguard.config.monitor_schema import KillSwitchSection
from riskguard.ledger import Ledger
from riskguard.ledger.controls import ControlStore
from riskguard.monitor.killswitch import KillSwitch, KillTrigger

__all__ = ["db_url"]

TESTS = Path(__file__).resolve().parent

ACTIVATE = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from monitor_fixtures import PersistedExchange
    from riskguard.config.monitor_schema import KillSwitchSection
    from riskguard.ledger import Ledger
    from riskguard.monitor.killswitch import KillSwitch
    exchange = PersistedExchange({path!r}, die_after_order_in="BTCUSDT")
    KillSwitch(Ledger({url!r}), exchange, KillSwitchSection(), actor="bot-1",
               clock=lambda: {now}).activate("manual", "kill -9 test")
""")


def test_kill_9_during_activation_then_restart_completes_with_no_duplicate_close(db_url: str,
                                                                                 tmp_path: Path) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    exchange = paper_exchange(clock)
    open_position(gate, exchange, "btc", "BTCUSDT")
    open_position(gate, exchange, "eth", "ETHUSDT")
    state = tmp_path / "paper.pickle"
    state.write_bytes(pickle.dumps(exchange))
    script = ACTIVATE.format(tests=str(TESTS), path=str(state), url=db_url, now=clock.now)
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert died.returncode == -signal.SIGKILL, died.stderr

    # Killed after the exchange filled the BTC close, before anything recorded it.
    interrupted = ControlStore(Ledger(db_url)).active()
    assert interrupted is not None and interrupted.status == "in_progress"
    assert [p.symbol for p in PersistedExchange(str(state)).inner.positions()] == ["ETHUSDT"]
    assert {p.symbol for p in Ledger(db_url).positions()} == {"BTCUSDT", "ETHUSDT"}

    restarted = PersistedExchange(str(state))
    report = KillSwitch(Ledger(db_url), restarted, KillSwitchSection(), actor="restart",  # type: ignore[arg-type]
                        clock=clock).activate(KillTrigger.MANUAL, "restart")
    assert not report.created and report.status == "done" and report.failed == []
    assert sorted(c["symbol"] for c in report.closed) == ["BTCUSDT", "ETHUSDT"]
    closes = [f for f in restarted.inner.fills if f.client_order_id and f.client_order_id.startswith("ks")]
    assert sorted(f.symbol for f in closes) == ["BTCUSDT", "ETHUSDT"]  # one close each, none twice
    assert restarted.inner.positions() == [] and Ledger(db_url).positions() == []


def _bot(url: str, now: int, ready: Any, go: Any, results: Any) -> None:
    """A running bot process: one approved and filled reserve (its book cached), then, after ``go``,
    a risk-adding intent and an exit."""
    gate = make_gate(url, Clock(now), migrate=False, nav=None, actor="bot-process")
    veto, detail, reservation = gate.reserve(buy("before", "ETHUSDT", 300.0, "bot"))
    if reservation is not None:
        gate.fill(reservation, detail["sized"]["qty"], 3_000.0)
    results.put(("before", veto, []))
    ready.set()
    go.wait(60)
    gate.engine.clock = Clock(now + 1_000)
    veto, detail, _ = gate.reserve(buy("after", "SOLUSDT", 300.0, "bot"))
    results.put(("after", veto, detail["reasons"]))
    veto, detail, _ = gate.reserve(buy("exit", "ETHUSDT", 300.0, "bot", "SELL", reduce_only=True,
                                       stop_price=None, take_profit_price=None))
    results.put(("exit", veto, detail["reasons"]))


def test_halted_is_seen_by_another_running_processs_next_reserve(db_url: str) -> None:
    clock = Clock()
    make_gate(db_url, clock).ledger.dispose()
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Event(), context.Event(), context.Queue()
    bot = context.Process(target=_bot, args=(db_url, clock.now, ready, go, results))
    bot.start()
    try:
        assert ready.wait(120), "the bot process did not start"
        assert results.get(timeout=60) == ("before", False, [])
        KillSwitch(Ledger(db_url), None, KillSwitchSection(), actor="ops", clock=clock).activate(
            KillTrigger.MANUAL, "stop every bot")
        go.set()
        name, veto, reasons = results.get(timeout=60)
        assert (name, veto) == ("after", True) and "trading_halted" in reasons
        assert results.get(timeout=60) == ("exit", False, [])
    finally:
        bot.join(60)
        if bot.is_alive():
            bot.kill()
