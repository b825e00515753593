"""Concurrent bots through one ledger: 8 processes x 500 reserves against tight caps, never a violation."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from ledger_fixtures import (
    PRICES,
    cap_violations,
    consistency_problems,
    make_gate,
    pg_url,
    posture,
    race_worker,
    rows,
    sqlite_url,
)
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t

__all__ = ["pg_url", "sqlite_url"]

WORKERS = 8
RESERVES = int(os.environ.get("RISKGUARD_RACE_RESERVES", "500"))
NAV = 4_400.0


def _race(url: str) -> tuple[float, int]:
    the_posture = posture(**{"portfolio.max_open_positions": 4, "ledger.reservation_ttl_s": 0.5})
    gate = make_gate(url, the_posture=the_posture, nav=None)
    from riskguard.model.snapshots import AccountSnapshot

    gate.ledger.mark_nav(AccountSnapshot(nav=NAV, ts_ms=time.time_ns() // 1_000_000), actor="test")
    gate.ledger.dispose()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    started = time.perf_counter()
    workers = [context.Process(target=race_worker, args=(url, w, RESERVES, the_posture, 1000 + w, results))
               for w in range(WORKERS)]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=500) for _ in workers]
    failures = [r for r in reports if isinstance(r, str)]
    assert failures == []
    approvals = sum(reports)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    elapsed = time.perf_counter() - started
    ledger = Ledger(url)
    assert consistency_problems(ledger) == []
    assert cap_violations(ledger, the_posture, NAV, PRICES) == []
    decisions = rows(ledger, t.decisions)
    assert len(decisions) == WORKERS * RESERVES
    assert approvals == sum(1 for d in decisions if d.approved)
    vetoed_by_caps = sum(1 for d in decisions if '"global_concurrency_exceeded"' in d.detail.split('"warnings"')[0]
                         or '_nav_cap_exceeded"' in d.detail.split('"warnings"')[0])
    assert vetoed_by_caps > 0, "the caps never bound: the race proved nothing"
    print(f"\n{url.split(':')[0]}: {WORKERS}x{RESERVES} reserves in {elapsed:.1f}s, {approvals} approved, "
          f"{vetoed_by_caps} vetoed by caps")
    ledger.dispose()
    return elapsed, approvals


@pytest.mark.slow
def test_eight_processes_never_exceed_the_caps_on_sqlite(sqlite_url: str) -> None:
    _race(sqlite_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_never_exceed_the_caps_on_postgresql(pg_url: str) -> None:
    _race(pg_url)
