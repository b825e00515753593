"""The shared ledger on real SQLite files and a real PostgreSQL server (same tests on both)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sqlalchemy import update

from ledger_fixtures import (
    PRICES,
    Clock,
    buy,
    consistency_problems,
    db_url,
    make_gate,
    mark_markets,
    pg_url,
    posture,
    rows,
)
from riskguard.ledger import (
    EXPIRED,
    FILLED,
    LEDGER_UNAVAILABLE,
    RELEASED,
    Ledger,
    LedgerError,
    LedgerNotFound,
    LedgerUnavailable,
    RiskGate,
    replay_decision,
)
from riskguard.ledger import tables as t
from riskguard.ledger.ledger import canonical_dumps
from riskguard.ledger.migrate import head_revision
from riskguard.model.decision import CONTRACT_KEYS
from riskguard.model.errors import InputValidationError
from riskguard.model.snapshots import AccountSnapshot

__all__ = ["db_url", "pg_url"]


def test_upgrade_reaches_head_and_is_idempotent(db_url: str) -> None:
    ledger = Ledger(db_url)
    assert ledger.upgrade() == head_revision()
    assert ledger.upgrade() == head_revision()
    assert ledger.schema_is_current()


def test_approved_risk_adding_intent_records_a_reservation_and_its_decision(db_url: str) -> None:
    gate = make_gate(db_url)
    veto, detail, reservation_id = gate.reserve(buy("i-1", notional=400.0))
    assert not veto, detail["reasons"]
    (reservation,) = gate.ledger.reservations()
    assert reservation.reservation_id == reservation_id
    assert reservation.notional == pytest.approx(detail["sized"]["notional"])
    assert reservation.expires_ms == gate.engine.clock() + 30_000
    assert gate.ledger.decision(detail["decision_id"]).reservation_id == reservation_id


def test_reservation_of_one_process_counts_against_the_caps_of_another(db_url: str) -> None:
    clock = Clock()
    the_posture = posture(**{"portfolio.max_open_positions": 1})
    first = make_gate(db_url, clock, the_posture)
    second = make_gate(db_url, clock, the_posture, migrate=False)
    assert not first.reserve(buy("a", "BTCUSDT", strategy="s1"))[0]
    veto, detail, reservation_id = second.reserve(buy("b", "ETHUSDT", strategy="s2"))
    assert veto and reservation_id is None
    assert detail["reasons"] == ["global_concurrency_exceeded"]


def test_order_rate_window_counts_the_approvals_of_every_process(db_url: str) -> None:
    clock = Clock()
    the_posture = posture(**{"portfolio.max_orders_per_window": 2, "portfolio.order_rate_window_s": 60})
    first = make_gate(db_url, clock, the_posture)
    second = make_gate(db_url, clock, the_posture, migrate=False)
    assert not first.reserve(buy("a", "BTCUSDT", strategy="s1"))[0]
    assert not first.reserve(buy("b", "ETHUSDT", strategy="s2"))[0]
    veto, detail, _ = second.reserve(buy("c", "SOLUSDT", strategy="s3"))
    assert veto and detail["reasons"] == ["order_rate_exceeded"]
    clock.advance(60_001)
    mark_markets(second, clock())
    assert not second.reserve(buy("d", "SOLUSDT", strategy="s3"))[0]


def test_strategy_cooldown_set_by_one_process_binds_another(db_url: str) -> None:
    clock = Clock()
    the_posture = posture(**{"strategies": {"default": {"max_concurrent_positions": 3, "cooldown_flat_s": 45,
                                                         "cooldown_open_s": 300}}})
    first = make_gate(db_url, clock, the_posture)
    second = make_gate(db_url, clock, the_posture, migrate=False)
    assert not first.reserve(buy("a", "BTCUSDT", strategy="s1"))[0]
    clock.advance(1_000)
    veto, detail, _ = second.reserve(buy("b", "ETHUSDT", strategy="s1"))
    assert veto and detail["reasons"] == ["cooldown_active"]


def test_released_reservation_returns_its_budget(db_url: str) -> None:
    gate = make_gate(db_url, the_posture=posture(**{"portfolio.max_open_positions": 1}))
    _, _, reservation_id = gate.reserve(buy("a", strategy="s1"))
    assert reservation_id is not None
    assert gate.reserve(buy("b", "ETHUSDT", strategy="s2"))[0]
    assert gate.release(reservation_id)
    assert not gate.reserve(buy("c", "ETHUSDT", strategy="s2"))[0]
    assert [r.status for r in gate.ledger.reservations(None)] == [RELEASED, "ACTIVE"]


def test_releasing_twice_reports_that_nothing_was_active(db_url: str) -> None:
    gate = make_gate(db_url)
    _, _, reservation_id = gate.reserve(buy("a"))
    assert reservation_id is not None
    assert gate.release(reservation_id) is True
    assert gate.release(reservation_id) is False


def test_same_intent_id_returns_the_first_decision_and_reserves_nothing_more(db_url: str) -> None:
    gate = make_gate(db_url)
    first = gate.reserve(buy("dup", notional=400.0))
    again = gate.reserve(buy("dup", notional=900.0))
    assert canonical_dumps(again) == canonical_dumps(first)  # the stored (JSON) form of the same decision
    assert len(gate.ledger.reservations()) == 1
    assert len(rows(gate.ledger, t.decisions)) == 1


def test_same_intent_id_from_another_process_returns_the_first_decision(db_url: str) -> None:
    clock = Clock()
    first = make_gate(db_url, clock)
    second = make_gate(db_url, clock, migrate=False)
    original = first.reserve(buy("dup"))
    assert canonical_dumps(second.reserve(buy("dup"))) == canonical_dumps(original)
    assert len(first.ledger.reservations()) == 1


def test_expired_reservation_returns_its_budget(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, posture(**{"portfolio.max_open_positions": 1, "ledger.reservation_ttl_s": 5}))
    _, _, stale = gate.reserve(buy("a", strategy="s1"))
    assert gate.reserve(buy("b", "ETHUSDT", strategy="s2"))[0]
    clock.advance(5_000)
    veto, detail, _ = gate.reserve(buy("c", "ETHUSDT", strategy="s2"))
    assert not veto, detail["reasons"]
    (expired,) = gate.ledger.reservations(EXPIRED)
    assert expired.reservation_id == stale


def test_expire_sweeps_stale_reservations_without_a_reserve(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, posture(**{"ledger.reservation_ttl_s": 5}))
    gate.reserve(buy("a"))
    assert gate.ledger.expire(now_ms=clock() + 4_999) == 0
    assert gate.ledger.expire(now_ms=clock() + 5_000) == 1
    assert gate.ledger.reservations() == []


def test_fill_opens_the_position_and_ends_the_reservation(db_url: str) -> None:
    gate = make_gate(db_url)
    _, detail, reservation_id = gate.reserve(buy("a", "BTCUSDT", notional=400.0))
    assert reservation_id is not None
    qty = detail["sized"]["qty"]
    result = gate.fill(reservation_id, qty, 50_010.0, fee=0.2)
    assert result.reservation_status == FILLED
    assert result.position_qty == pytest.approx(qty)
    (position,) = gate.ledger.positions()
    assert (position.strategy, position.symbol, position.qty, position.entry_price) == ("s1", "BTCUSDT", qty, 50_010.0)
    assert gate.ledger.reservations() == []
    assert consistency_problems(gate.ledger) == []


def test_partial_fill_keeps_the_unfilled_remainder_reserved(db_url: str) -> None:
    gate = make_gate(db_url)
    _, detail, reservation_id = gate.reserve(buy("a", "BTCUSDT", notional=600.0))
    assert reservation_id is not None
    qty = detail["sized"]["qty"]
    gate.fill(reservation_id, qty / 4, 50_000.0)
    state = gate.refresh()
    (remaining,) = state.reservations
    assert remaining.notional == pytest.approx(detail["sized"]["notional"] * 0.75)
    assert remaining.opens_new is False  # the position now holds the slot
    assert gate.engine.book.symbol_gross("BTCUSDT") == pytest.approx(detail["sized"]["notional"])
    second = gate.fill(reservation_id, qty * 3 / 4, 50_100.0)
    assert second.reservation_status == FILLED
    (position,) = gate.ledger.positions()
    assert position.entry_price == pytest.approx(50_075.0)


def test_fill_beyond_the_reserved_quantity_is_refused(db_url: str) -> None:
    gate = make_gate(db_url)
    _, detail, reservation_id = gate.reserve(buy("a"))
    assert reservation_id is not None
    with pytest.raises(InputValidationError, match="qty"):
        gate.fill(reservation_id, detail["sized"]["qty"] * 1.5, 50_000.0)


def test_released_reservation_cannot_be_filled(db_url: str) -> None:
    gate = make_gate(db_url)
    _, _, reservation_id = gate.reserve(buy("a"))
    assert reservation_id is not None
    gate.release(reservation_id)
    with pytest.raises(LedgerError, match="RELEASED"):
        gate.fill(reservation_id, 0.001, 50_000.0)


def test_unknown_reservation_is_named_in_the_error(db_url: str) -> None:
    gate = make_gate(db_url)
    with pytest.raises(LedgerNotFound, match="nope"):
        gate.fill("nope", 1.0, 1.0)


def _holding_eth(db_url: str) -> RiskGate:
    """A gate whose strategy s1 holds 0.1 ETH bought at 3,000 USDT."""
    gate = make_gate(db_url)
    _, _, reservation_id = gate.reserve(buy("a", "ETHUSDT", notional=300.0))
    assert reservation_id is not None
    gate.fill(reservation_id, 0.1, 3_000.0)
    return gate


def test_close_books_realised_pnl_net_of_fee_and_an_equity_mark(db_url: str) -> None:
    gate = _holding_eth(db_url)
    closed = gate.close("s1", "ETHUSDT", 3_100.0, fee=0.5)
    assert closed.realized_pnl == pytest.approx(0.1 * 100.0 - 0.5)
    assert closed.position_qty == 0.0
    assert gate.ledger.positions() == []
    assert gate.ledger.account().realized_pnl == pytest.approx(9.5)
    assert gate.ledger.equity_marks()[-1].realized_pnl == pytest.approx(9.5)
    assert consistency_problems(gate.ledger) == []


def test_funding_received_and_paid_is_realised_pnl_with_an_equity_mark(db_url: str) -> None:
    gate = _holding_eth(db_url)
    assert gate.book_funding("s1", "ETHUSDT", 0.25) == pytest.approx(0.25)
    assert gate.book_funding("s1", "ETHUSDT", -0.05) == pytest.approx(0.20)
    assert gate.ledger.account().realized_pnl == pytest.approx(0.20)
    assert [m.source for m in gate.ledger.equity_marks()[-2:]] == ["funding", "funding"]
    (position,) = gate.ledger.positions()
    assert position.qty == pytest.approx(0.1)
    assert consistency_problems(gate.ledger) == []


def test_close_books_its_funding_in_the_same_transaction(db_url: str) -> None:
    gate = _holding_eth(db_url)
    with pytest.raises(InputValidationError, match="qty"):
        gate.close("s1", "ETHUSDT", 3_100.0, qty=5.0, fee=0.5, funding=0.25)
    assert gate.ledger.account().realized_pnl == 0.0  # the refused close booked no funding either
    closed = gate.close("s1", "ETHUSDT", 3_100.0, fee=0.5, funding=0.25)
    assert closed.realized_pnl == pytest.approx(0.1 * 100.0 - 0.5)
    assert gate.ledger.account().realized_pnl == pytest.approx(9.75)
    assert [f.kind for f in sorted(rows(gate.ledger, t.fills), key=lambda f: f.fill_id)][-2:] == ["funding", "close"]
    assert consistency_problems(gate.ledger) == []


def test_funding_without_an_open_position_is_refused_by_name(db_url: str) -> None:
    gate = make_gate(db_url)
    with pytest.raises(LedgerNotFound, match="ETHUSDT"):
        gate.book_funding("s1", "ETHUSDT", 0.25)


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), True])
def test_non_finite_funding_is_refused_naming_the_field(db_url: str, amount: float) -> None:
    gate = make_gate(db_url)
    with pytest.raises(InputValidationError, match="amount"):
        gate.book_funding("s1", "ETHUSDT", amount)


def test_partial_close_of_a_short_books_its_share_of_pnl(db_url: str) -> None:
    gate = make_gate(db_url)
    _, _, reservation_id = gate.reserve(buy("a", "ETHUSDT", notional=300.0, side="SELL"))
    assert reservation_id is not None
    gate.fill(reservation_id, 0.1, 3_000.0)
    closed = gate.close("s1", "ETHUSDT", 2_900.0, qty=0.04)
    assert closed.realized_pnl == pytest.approx(0.04 * 100.0)
    assert closed.position_qty == pytest.approx(-0.06)


def test_approved_reducing_intent_reserves_nothing(db_url: str) -> None:
    gate = make_gate(db_url)
    _, _, reservation_id = gate.reserve(buy("a", "ETHUSDT", notional=300.0))
    assert reservation_id is not None
    gate.fill(reservation_id, 0.1, 3_000.0)
    veto, detail, reduce_id = gate.reserve(buy("b", "ETHUSDT", notional=150.0, side="SELL", reduce_only=True))
    assert not veto, detail["reasons"]
    assert detail["reducing"] and reduce_id is None
    assert gate.ledger.reservations() == []


def test_trading_state_survives_a_restart_and_every_change_is_an_event(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, actor="ops")
    gate.set_trading_state("HALTED", "manual stop")
    restarted = make_gate(db_url, clock, migrate=False)
    veto, detail, _ = restarted.reserve(buy("a"))
    assert veto and "trading_halted" in detail["reasons"]
    account = restarted.ledger.account()
    assert (account.trading_state.value, account.state_reason, account.state_actor) == ("HALTED", "manual stop", "ops")
    (event,) = restarted.ledger.events("trading_state")
    assert (event.actor, event.ts_ms) == ("ops", clock())
    assert '"to":"HALTED"' in event.payload


def test_unknown_trading_state_is_refused_by_name(db_url: str) -> None:
    gate = make_gate(db_url)
    with pytest.raises(InputValidationError, match="trading_state"):
        gate.set_trading_state("PAUSED", "why not")


def test_nav_mark_of_one_process_is_used_by_every_process(db_url: str) -> None:
    clock = Clock()
    first = make_gate(db_url, clock, nav=None)
    second = make_gate(db_url, clock, migrate=False, nav=None)
    veto, detail, _ = second.reserve(buy("a"))
    assert veto and "nav_stale" in detail["reasons"]
    first.mark_nav(AccountSnapshot(nav=4_400.0, ts_ms=clock()))
    veto, detail, _ = second.reserve(buy("b"))
    assert not veto, detail["reasons"]
    assert detail["nav"] == 4_400.0


def test_older_nav_mark_is_ignored(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    assert gate.mark_nav(AccountSnapshot(nav=1_000.0, ts_ms=clock() - 1)) is False
    assert gate.ledger.account().nav == 4_400.0


def test_restarted_process_rebuilds_its_book_from_the_ledger(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    _, detail, reservation_id = gate.reserve(buy("a", "BTCUSDT"))
    assert reservation_id is not None
    gate.fill(reservation_id, detail["sized"]["qty"], 50_000.0)
    gate.reserve(buy("b", "ETHUSDT", strategy="s2"))
    restarted = make_gate(db_url, clock, migrate=False)
    state = restarted.refresh()
    assert [(p.strategy, p.symbol) for p in state.positions] == [("s1", "BTCUSDT")]
    assert [r.intent_id for r in state.reservations] == ["b"]
    assert restarted.engine.book.open_count == 2


def test_every_decision_replays_exactly(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, posture(**{"portfolio.max_open_positions": 2}))
    ids = []
    for n, symbol in enumerate(["BTCUSDT", "ETHUSDT", "SOLUSDT", "BTCUSDT"]):
        clock.advance(250)
        _, detail, _ = gate.reserve(buy(f"i{n}", symbol, strategy=f"s{n}", notional=300.0 + n))
        ids.append(detail["decision_id"])
    stored = [gate.ledger.decision(i) for i in ids]
    assert [r.approved for r in stored] == [True, True, False, False]
    for decision_id in ids:
        result = replay_decision(gate.ledger, decision_id)
        assert result.matches, result.differences


def _feed_returns(gate: RiskGate, seed: int) -> None:
    for k, symbol in enumerate(sorted(PRICES)):
        gate.engine.update_returns(symbol, np.random.default_rng(seed + k).normal(0.0, 0.03, 300))


def test_decision_with_cvar_return_data_replays_with_the_stored_return_set(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    _feed_returns(gate, 1)
    _, detail, _ = gate.reserve(buy("a", notional=300.0))
    cvar = next(c for c in detail["checks"] if c["gate"] == "cvar_limit_exceeded")
    assert cvar["observed"] is not None and cvar["headroom_notional"] is not None
    result = replay_decision(gate.ledger, detail["decision_id"])
    assert result.matches, result.differences


def test_return_set_is_stored_once_per_change_of_the_return_data(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock)
    _, first, _ = gate.reserve(buy("none", "ETHUSDT", strategy="s0"))
    _feed_returns(gate, 1)
    _, second, _ = gate.reserve(buy("a", "BTCUSDT", strategy="s1"))
    _, third, _ = gate.reserve(buy("b", "SOLUSDT", strategy="s2"))
    _feed_returns(gate, 2)
    _, fourth, _ = gate.reserve(buy("c", "ETHUSDT", strategy="s3"))
    refs = [gate.ledger.decision(d["decision_id"]).inputs["returns"] for d in (first, second, third, fourth)]
    assert refs[0] is None
    assert refs[1] == refs[2] != refs[3]
    assert len(rows(gate.ledger, t.return_sets)) == 2
    assert gate.ledger.return_set(refs[3]) == gate.engine.cvar.returns_by_symbol()


def test_stored_decision_keeps_its_inputs_and_posture_hash(db_url: str) -> None:
    gate = make_gate(db_url)
    _, detail, _ = gate.reserve(buy("a"))
    record = gate.ledger.decision(detail["decision_id"])
    assert record.config_hash == gate.engine.limits.config_hash
    assert record.inputs["intent"]["intent_id"] == "a"
    assert record.inputs["account"]["nav"] == 4_400.0
    assert {m["symbol"] for m in record.inputs["markets"]} == set(PRICES)
    assert canonical_dumps(record.detail) == canonical_dumps(detail)


def test_unreachable_database_vetoes_with_a_clear_error_and_never_approves(db_url: str) -> None:
    gate = make_gate(db_url)
    gate.ledger = Ledger("postgresql+psycopg://bot:s3cret@127.0.0.1:1/none")
    veto, detail, reservation_id = gate.reserve(buy("a"))
    assert veto and reservation_id is None
    assert detail["reasons"] == [LEDGER_UNAVAILABLE]
    assert "unavailable" in detail["error"] and "s3cret" not in detail["error"]
    assert set(CONTRACT_KEYS) <= set(detail)  # the complete contract, like every other decision
    assert (detail["nav_fresh"], detail["max_notional_allowed"], detail["sized"]["notional"]) == (False, 0.0, None)


def test_gate_on_an_unreachable_database_refuses_to_start_and_hides_the_password() -> None:
    with pytest.raises(LedgerUnavailable) as caught:
        make_gate("postgresql+psycopg://bot:s3cret@127.0.0.1:1/none", migrate=False)
    assert "127.0.0.1:1" in str(caught.value) and "s3cret" not in str(caught.value)


def test_operation_on_a_missing_account_names_it(db_url: str) -> None:
    ledger = Ledger(db_url, account_id="nobody")
    ledger.upgrade()
    with pytest.raises(LedgerNotFound, match="nobody"):
        ledger.release("r-1")


def test_unsupported_database_scheme_is_refused_by_name() -> None:
    with pytest.raises(LedgerError, match="db_url"):
        Ledger("mysql://root@localhost/x")


def test_reserve_against_a_book_that_disagrees_with_the_ledger_writes_nothing(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, posture(**{"ledger.reservation_ttl_s": 5}))
    gate.reserve(buy("a"))
    # Tamper behind the gate's back without bumping the version: its cached book now holds a
    # reservation the ledger no longer has active.
    with gate.ledger.transaction() as conn:
        conn.execute(update(t.reservations).values(status=RELEASED))
    clock.advance(6_000)
    mark_markets(gate, clock())
    with pytest.raises(LedgerError, match=r"differ|constraint"):
        gate.reserve(buy("b"))
    assert [d.intent_id for d in gate.ledger.decisions()] == ["a"]
    veto, detail, _ = gate.reserve(buy("c", strategy="s2"))  # reloaded from the ledger
    assert not veto, detail["reasons"]


def test_reserve_after_the_database_dropped_its_connection_fails_closed_then_reconnects(pg_url: str) -> None:
    gate = make_gate(pg_url)
    gate.reserve(buy("a"))
    backend = gate.ledger._kept.driver_connection.info.backend_pid
    with gate.ledger.transaction() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")
    veto, detail, reservation_id = gate.reserve(buy("b"))
    assert veto and reservation_id is None and detail["reasons"] == [LEDGER_UNAVAILABLE]
    veto, detail, reservation_id = gate.reserve(buy("c", strategy="s2"))
    assert not veto and reservation_id is not None, detail["reasons"]


def test_unfilled_remainder_counts_as_a_slot_again_once_its_position_is_closed(db_url: str) -> None:
    gate = make_gate(db_url, the_posture=posture(**{"portfolio.max_open_positions": 2}))
    _, detail, reservation_id = gate.reserve(buy("a", "ETHUSDT", strategy="s1"))
    assert reservation_id is not None
    gate.fill(reservation_id, detail["sized"]["qty"] / 3, PRICES["ETHUSDT"])
    gate.close("s1", "ETHUSDT", PRICES["ETHUSDT"])  # the remainder could still open s1 ETHUSDT again
    veto, detail, _ = gate.reserve(buy("b", "BTCUSDT", strategy="s2"))
    assert not veto, detail["reasons"]
    veto, detail, _ = gate.reserve(buy("c", "SOLUSDT", strategy="s3"))
    assert veto and "global_concurrency_exceeded" in detail["reasons"]


def test_threads_sharing_one_gate_never_exceed_a_cap_and_every_decision_replays(db_url: str) -> None:
    gate = make_gate(db_url, Clock(), posture(**{"portfolio.max_open_positions": 6,
                                                      "portfolio.max_open_positions_high_confidence": 6}), nav=50_000.0)
    outcomes: list[tuple[bool, str, str | None]] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for k in range(25):
                symbol = sorted(PRICES)[(n + k) % len(PRICES)]
                veto, detail, rid = gate.reserve(buy(f"t{n}-{k}", symbol, notional=300.0, strategy=f"s{n}-{k}"))
                outcomes.append((veto, detail["decision_id"], rid))
                if rid is not None and k % 3 == 0:
                    gate.release(rid)
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(outcomes) == 100
    assert sum(not veto for veto, _, _ in outcomes) >= 6
    assert len(gate.ledger.reservations("ACTIVE")) <= 6
    assert consistency_problems(gate.ledger) == []
    for _, decision_id, _ in outcomes:
        assert replay_decision(gate.ledger, decision_id).matches


def test_storing_a_posture_that_another_process_stored_first_is_a_no_op(db_url: str) -> None:
    first, second = Ledger(db_url), Ledger(db_url)
    first.upgrade()
    first.store_posture("0123456789abcdef", "p", '{"name":"p"}')
    second.store_posture("0123456789abcdef", "p", '{"name":"p"}')  # the concurrent-start race, serialised
    assert second.posture_json("0123456789abcdef") == '{"name":"p"}'
    first.dispose()
    second.dispose()
