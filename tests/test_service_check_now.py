"""ServiceCore.check_now: a dry run decided at once from what the process holds (for the event
loop), or None when that would need I/O or waiting; when it decides, it decides as check does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskguard.ledger.ledger import Ledger
from riskguard.model.intent import OrderIntent
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.service.core import ServiceCore
from service_fixtures import NAV, intent, now_ms, quotes, service_settings


@pytest.fixture
def core(tmp_path: Path) -> Iterator[ServiceCore]:
    made = ServiceCore(service_settings(f"sqlite:///{tmp_path / 'ledger.db'}"))
    made.mark_nav(AccountSnapshot(nav=NAV, ts_ms=now_ms()), "test")
    made.update_markets([MarketSnapshot(**q) for q in quotes()])
    try:
        yield made
    finally:
        made.close_ledger()


def _order() -> OrderIntent:
    return OrderIntent.from_dict(intent("now-1", strategy="st_now"))


def _warm(core: ServiceCore) -> None:
    """A dry run on the thread path, then one at once: the book and the ledger's version are known."""
    core.check(_order())
    core.check_now(_order())
    core.check(_order())


def test_a_dry_run_decided_at_once_decides_as_check_does(core: ServiceCore) -> None:
    _warm(core)
    at_once = core.check_now(_order())
    veto, detail = core.check(_order())
    assert at_once is not None
    assert at_once[0] == veto is False
    assert at_once[1]["reasons"] == detail["reasons"] and at_once[1]["sized"] == detail["sized"]
    assert [c["gate"] for c in at_once[1]["checks"]] == [c["gate"] for c in detail["checks"]]


def test_the_first_dry_run_is_not_decided_at_once(core: ServiceCore) -> None:
    assert core.check_now(_order()) is None


def test_a_dry_run_is_not_decided_at_once_while_the_core_is_busy(core: ServiceCore) -> None:
    _warm(core)
    with core._lock:
        assert core.check_now(_order()) is None


def test_after_a_commit_elsewhere_the_next_dry_run_reads_the_ledger_and_sees_it(core: ServiceCore) -> None:
    _warm(core)
    other = Ledger(core.settings.db_url)  # another process's writer
    try:
        other.set_trading_state("HALTED", "halted elsewhere", actor="ops-host-2")
    finally:
        other.dispose()
    assert core.check_now(_order()) is None
    veto, detail = core.check(_order())
    assert veto is True and "trading_halted" in detail["reasons"]
    again = core.check_now(_order())
    assert again is not None and again[0] is True and "trading_halted" in again[1]["reasons"]


def test_the_kept_connection_still_waits_for_locks_after_a_dry_run_at_once(core: ServiceCore) -> None:
    _warm(core)
    assert core.check_now(_order()) is not None  # its probe ran with SQLite's busy timeout at 0
    assert core._dry_connection is not None
    driver = core._dry_connection.connection.driver_connection
    assert driver is not None and int(driver.execute("PRAGMA busy_timeout").fetchone()[0]) > 0


def test_a_reservation_expiring_makes_the_next_dry_run_rebuild_the_book(core: ServiceCore) -> None:
    veto, _, reservation_id = core.reserve(OrderIntent.from_dict(intent("held-1", strategy="st_held")))
    assert veto is False and reservation_id
    _warm(core)
    assert core.check_now(_order()) is not None
    expires = core._dry_state.reservations[0].expires_ms
    core._dry.clock = lambda: expires  # its TTL has run out
    assert core.check_now(_order()) is None
