"""NAV marks dated in the future: refused beyond the posture's clock-skew tolerance, and a ledger
poisoned before that rule existed can be repaired without deleting its history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import insert, update
from typer.testing import CliRunner

from ledger_fixtures import T0, Clock, buy, db_url, make_gate, posture, rows, sqlite_url
from riskguard.cli.db_commands import db_app
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.ledger.mark_repair import REPAIR_EVENT, SUPERSEDED, repair_future_marks
from riskguard.model.errors import InputValidationError
from riskguard.model.snapshots import AccountSnapshot

__all__ = ["db_url", "sqlite_url"]  # the fixtures, imported for pytest

HOUR_MS = 3_600_000
runner = CliRunner()


def _poison(ledger: Ledger, ts_ms: int, nav: float = 9_999.0) -> None:
    """What an unvalidated write left behind: the account's current mark and an equity mark at ``ts_ms``."""
    with ledger.transaction() as conn:
        conn.execute(update(t.accounts).where(t.accounts.c.account_id == ledger.account_id).values(
            nav=nav, nav_ts_ms=ts_ms, day_high_nav=nav))
        conn.execute(insert(t.equity_marks).values(account_id=ledger.account_id, ts_ms=ts_ms, nav=nav,
                                                   realized_pnl=0.0, source="exchange", actor="old-bot"))


def test_the_ledger_refuses_a_nav_mark_dated_beyond_the_clock_skew_tolerance(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    with pytest.raises(InputValidationError, match=r"^ts_ms: the NAV mark is dated 3,600\.000 s after .*"
                                                   r"account\.max_clock_skew_s = 5 s"):
        gate.mark_nav(AccountSnapshot(nav=4_000.0, ts_ms=clock() + HOUR_MS))
    assert gate.ledger.account().nav == 4_400.0
    clock.advance(1_000)
    assert gate.mark_nav(AccountSnapshot(nav=4_300.0, ts_ms=clock()))  # later correct marks still count


def test_a_nav_mark_within_the_clock_skew_tolerance_is_stored(sqlite_url: str) -> None:
    clock = Clock()
    gate = make_gate(sqlite_url, clock, posture(**{"account.max_clock_skew_s": 60}))
    assert gate.mark_nav(AccountSnapshot(nav=4_300.0, ts_ms=clock() + 59_000))
    assert gate.ledger.account().nav_ts_ms == clock() + 59_000


def test_repair_supersedes_future_marks_and_restores_the_newest_sane_one(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    ledger = gate.ledger
    _poison(ledger, T0 * 1000)  # microseconds stored as ms: year 55,840
    veto, detail, _ = gate.reserve(buy("blocked"))
    assert veto and "nav_stale" in detail["reasons"]

    result = repair_future_marks(ledger, actor="alice", reason="us as ms", now_ms=clock())
    assert result.applied and [m["ts_ms"] for m in result.superseded] == [T0 * 1000]
    assert result.account_after["nav"] == 4_400.0 and result.account_after["nav_ts_ms"] == T0
    marks = rows(ledger, t.equity_marks)
    assert len(marks) == 2 and {m.source for m in marks if m.ts_ms == T0 * 1000} == {SUPERSEDED}  # kept
    (event,) = ledger.events(REPAIR_EVENT)
    payload = json.loads(event.payload)
    assert event.actor == "alice" and payload["reason"] == "us as ms"
    assert payload["superseded"][0]["source"] == "exchange" and payload["account_before"]["nav"] == 9_999.0

    clock.advance(1_000)
    assert gate.mark_nav(AccountSnapshot(nav=4_400.0, ts_ms=clock()))
    veto, detail, _ = gate.reserve(buy("after-repair"))
    assert not veto, detail["reasons"]


def test_repair_without_a_sane_mark_leaves_no_nav_rather_than_a_wrong_one(sqlite_url: str) -> None:
    gate = make_gate(sqlite_url, nav=None)
    _poison(gate.ledger, T0 + HOUR_MS)
    result = repair_future_marks(gate.ledger, actor="a", reason="r", now_ms=T0)
    assert result.account_after["nav"] is None and gate.ledger.account().nav_ts_ms is None


def test_a_dry_run_repair_writes_nothing(sqlite_url: str) -> None:
    gate = make_gate(sqlite_url)
    _poison(gate.ledger, T0 + HOUR_MS)
    result = repair_future_marks(gate.ledger, actor="a", reason="r", now_ms=T0, dry_run=True)
    assert result.needed and not result.applied
    assert gate.ledger.account().nav_ts_ms == T0 + HOUR_MS and not gate.ledger.events(REPAIR_EVENT)


def test_db_repair_marks_command_repairs_and_reports_as_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    gate = make_gate(url)
    _poison(gate.ledger, 4_000_000_000_000_000)  # far beyond any clock: superseded by the wall clock too
    gate.ledger.dispose()
    app = typer.Typer()
    app.add_typer(db_app, name="db")
    dry = runner.invoke(app, ["db", "repair-marks", "--db-url", url, "--dry-run", "--json"])
    assert dry.exit_code == 1 and json.loads(dry.stdout)["applied"] is False
    done = runner.invoke(app, ["db", "repair-marks", "--db-url", url, "--reason", "fix", "--actor", "ops", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["account_after"]["nav_ts_ms"] == T0
    again = runner.invoke(app, ["db", "repair-marks", "--db-url", url])
    assert again.exit_code == 0 and "nothing to repair" in again.stdout


def test_a_mark_dated_ahead_within_the_tolerance_does_not_block_reserve_with_nav_stale(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, nav=None)
    gate.mark_nav(AccountSnapshot(nav=4_400.0, ts_ms=clock() + 4_000))  # this host's clock is 4 s behind
    veto, detail, reservation_id = gate.reserve(buy("skewed"))
    assert not veto, detail["reasons"]
    assert detail["nav_fresh"] and reservation_id is not None
