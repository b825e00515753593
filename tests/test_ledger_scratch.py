"""A scratch ledger (``Ledger(url, scratch=True)``): the replay's own SQLite file, not synced to disk,
written through one connection; the same rows as a shared ledger, and never a shared database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskguard.ledger import Ledger
from riskguard.ledger.errors import LedgerError
from riskguard.model.snapshots import AccountSnapshot


def _synchronous(ledger: Ledger) -> int:
    with ledger.transaction() as conn:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def _ledger(path: Path, *, scratch: bool) -> Ledger:
    ledger = Ledger(f"sqlite:///{path}", account_id="replay", scratch=scratch)
    ledger.upgrade()
    ledger.ensure_account("paper", actor="test", now_ms=1_000)
    return ledger


def test_a_scratch_ledger_does_not_sync_its_commits_and_a_shared_one_does(tmp_path: Path) -> None:
    scratch, shared = _ledger(tmp_path / "scratch.sqlite", scratch=True), _ledger(tmp_path / "shared.sqlite",
                                                                                  scratch=False)
    try:
        assert _synchronous(scratch) == 0  # OFF
        assert _synchronous(shared) == 1  # NORMAL (WAL)
    finally:
        scratch.dispose()
        shared.dispose()


def test_a_scratch_ledger_stores_the_same_marks_and_fills_as_a_shared_one(tmp_path: Path) -> None:
    stored = []
    for scratch in (True, False):
        ledger = _ledger(tmp_path / f"{scratch}.sqlite", scratch=scratch)
        try:
            for k in range(3):
                ledger.mark_nav(AccountSnapshot(nav=1_000.0 + k, ts_ms=2_000 + k), actor="test", now_ms=3_000)
            account = ledger.account()
            stored.append(([(m.ts_ms, m.nav) for m in ledger.equity_marks()], account.nav, account.version))
        finally:
            ledger.dispose()
    assert stored[0] == stored[1]


def test_a_postgresql_ledger_cannot_be_scratch() -> None:
    url = os.environ.get("RISKGUARD_TEST_PG_URL")
    if not url:
        pytest.skip("RISKGUARD_TEST_PG_URL not set (PostgreSQL on 127.0.0.1:5432)")
    with pytest.raises(LedgerError, match="scratch"):
        Ledger(url, scratch=True)
