"""kill -9 in the middle of a kill-switch activation: the next activation (a restart) completes the
job and no position is closed twice."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from ledger_fixtures import Clock, db_url, make_gate
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
