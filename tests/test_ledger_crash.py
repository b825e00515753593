"""kill -9 at random points of reserve / fill / release / close: the ledger stays consistent."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import pytest

from ledger_fixtures import consistency_problems, crash_worker, make_gate, pg_url, posture, sqlite_url
from riskguard.engine import RiskEngine
from riskguard.ledger import Ledger
from riskguard.model.snapshots import AccountSnapshot
from riskguard.runtime import RiskGate

__all__ = ["pg_url", "sqlite_url"]

KILLS = int(os.environ.get("RISKGUARD_CRASH_KILLS", "50"))


def _kill_repeatedly(url: str) -> None:
    the_posture = posture(**{"ledger.reservation_ttl_s": 0.3})
    gate = make_gate(url, the_posture=the_posture, nav=None)
    gate.ledger.mark_nav(AccountSnapshot(nav=4_400.0, ts_ms=time.time_ns() // 1_000_000), actor="test")
    gate.ledger.dispose()
    context = multiprocessing.get_context("fork")
    rng = random.Random(7)
    for attempt in range(KILLS):
        worker = context.Process(target=crash_worker, args=(url, the_posture, attempt))
        worker.start()
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join()
        assert worker.exitcode == -signal.SIGKILL, f"worker {attempt} ended early with {worker.exitcode}"
        ledger = Ledger(url)
        assert consistency_problems(ledger) == [], f"after kill {attempt}"
        restarted = RiskGate(RiskEngine(the_posture), ledger, actor="restart")
        state = restarted.refresh()
        assert len(state.positions) == len(ledger.positions())
        assert {r.reservation_id for r in state.reservations} == {
            r.reservation_id for r in ledger.reservations()}
        ledger.dispose()
    final = Ledger(url)
    assert len(final.decisions(limit=10)) > 0, "the workers never got to decide anything"
    final.dispose()


@pytest.mark.slow
def test_ledger_stays_consistent_after_repeated_kill_9_on_sqlite(sqlite_url: str) -> None:
    _kill_repeatedly(sqlite_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_ledger_stays_consistent_after_repeated_kill_9_on_postgresql(pg_url: str) -> None:
    _kill_repeatedly(pg_url)
