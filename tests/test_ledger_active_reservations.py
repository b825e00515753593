"""Reading and expiring the active reservations costs the same however many reservations ended
before (migration 0005): the active index holds active reservations by expiry, and the account's
expired_through_ms floor keeps every read above the entries of those that expired, even with no
VACUUM. The floor never hides an active reservation, whatever the writers' clocks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, insert, text

from ledger_fixtures import T0, Clock, buy, db_url, make_gate, pg_url
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.ledger.hotpath import RESERVATION_COLUMNS
from riskguard.ledger.migrate import upgrade

__all__ = ["db_url", "pg_url"]

TTL_MS = 30_000


def _floor(ledger: Ledger) -> int:
    with ledger.reading() as conn:
        return int(conn.execute(text("SELECT expired_through_ms FROM rg_accounts")).scalar_one())


def _reservation(reservation_id: str, status: str, expires_ms: int) -> dict[str, Any]:
    row = {c: None for c in RESERVATION_COLUMNS}
    row.update(reservation_id=reservation_id, account_id="default", intent_id=f"i-{reservation_id}",
               decision_id=f"d-{reservation_id}", strategy="s1", symbol="BTCUSDT", side="BUY", qty=0.008,
               price=50_000.0, notional=400.0, risk_usdt=4.0, opens_new=True, leverage=1.0, filled_qty=0.0,
               status=status, created_ms=expires_ms - TTL_MS, expires_ms=expires_ms, created_version=1)
    return row


def test_a_ledger_written_before_the_migration_keeps_its_active_reservations(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0004_position_legs")
    with engine.begin() as conn:
        conn.execute(insert(t.accounts).values(
            account_id="default", version=1, mode="paper", trading_state="ACTIVE", state_reason="", state_actor="t",
            state_ts_ms=T0, realized_pnl=0.0))
        conn.execute(insert(t.reservations), [_reservation("ended", "EXPIRED", T0 - 1),
                                              _reservation("live", "ACTIVE", T0 + TTL_MS)])
    engine.dispose()
    ledger = Ledger(db_url)
    ledger.upgrade()
    assert _floor(ledger) == T0 + TTL_MS - 1  # just below the earliest active expiry
    assert [r.reservation_id for r in ledger.reservations()] == ["live"]
    clock = Clock(T0 + 1_000)
    gate = make_gate(db_url, clock)
    assert [r.reservation_id for r in gate.refresh().reservations] == ["live"]
    clock.advance(TTL_MS)
    assert gate.ledger.expire(now_ms=clock()) == 1
    assert ledger.reservations() == []
    ledger.dispose()
    gate.ledger.dispose()


def test_each_reserve_raises_the_floor_to_its_clock(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    gate.reserve(buy("a"))
    assert _floor(gate.ledger) == T0
    clock.advance(TTL_MS + 5)
    veto, _, _ = gate.reserve(buy("b", notional=10_000_000.0))  # vetoed, but "a" expires with it
    assert veto
    assert _floor(gate.ledger) == clock()
    gate.ledger.dispose()


def test_a_reservation_by_a_writer_whose_clock_lags_is_seen_by_every_process(db_url: str) -> None:
    slow = make_gate(db_url, Clock(T0), actor="slow")  # marks the NAV at T0
    fast = make_gate(db_url, Clock(T0 + 2 * TTL_MS), actor="fast", nav=None)
    _, _, ahead = fast.reserve(buy("ahead", "ETHUSDT"))
    assert _floor(fast.ledger) == T0 + 2 * TTL_MS
    _, detail, behind = slow.reserve(buy("behind", strategy="s2"))
    assert ahead is not None and behind is not None, detail["reasons"]
    assert _floor(slow.ledger) < T0 + TTL_MS  # pulled below the lagging writer's reservation's expiry
    third = make_gate(db_url, Clock(T0 + 1), actor="third", nav=None)
    assert {r.reservation_id for r in third.refresh().reservations} == {ahead, behind}
    assert {r.reservation_id for r in third.ledger.reservations()} == {ahead, behind}
    for gate in (fast, slow, third):
        gate.ledger.dispose()


def _buffers_reading_active_reservations(ledger: Ledger) -> int:
    """Shared buffers one read of the reserve path's active reservations touches (PostgreSQL)."""
    from riskguard.ledger.hotpath import _STATEMENTS

    query = _STATEMENTS[True].reservations.replace("%s", "'default'")
    with ledger.reading() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}").scalar_one()
    document = plan if isinstance(plan, list) else __import__("json").loads(plan)
    top = document[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


def _expire_history(ledger: Ledger, count: int, start: int) -> None:
    """``count`` reservations stored ACTIVE and then expired by the ledger, as reserves leave them."""
    with ledger.transaction() as conn:
        conn.execute(insert(t.reservations), [_reservation(f"h{start + k}", "ACTIVE", start + k) for k in range(count)])
    assert ledger.expire(now_ms=start + count) == count


def test_reading_the_active_reservations_does_not_grow_with_the_expired_ones(pg_url: str) -> None:
    clock = Clock()
    gate = make_gate(pg_url, clock)
    ledger = gate.ledger
    with ledger.transaction() as conn:
        conn.exec_driver_sql("ALTER TABLE rg_reservations SET (autovacuum_enabled = off)")
    _expire_history(ledger, 200, T0 + 1)
    clock.advance(1_000)
    _, _, live = gate.reserve(buy("live"))  # expires at T0 + 31,000
    few = _buffers_reading_active_reservations(ledger)
    # 100 times as many dead index entries, no VACUUM, all below the live reservation's
    _expire_history(ledger, 20_000, T0 + 2_000)
    many = _buffers_reading_active_reservations(ledger)
    assert [r.reservation_id for r in ledger.reservations()] == [live]
    assert many <= few + 1
    ledger.dispose()
