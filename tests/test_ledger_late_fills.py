"""A reservation whose order may still fill keeps its budget: an add takes a slot when its position
closes before it fills, and a reservation whose order was placed does not expire. No order of
reserve / place / fill / close / release / expiry across processes leaves a cap exceeded."""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_fixtures import PRICES, Clock, buy, db_url, make_gate, mark_markets, posture
from riskguard.ledger import ACTIVE, EXPIRED, Ledger
from riskguard.runtime import RiskGate

__all__ = ["db_url"]

TTL_MS = 5_000


def _one_slot() -> object:
    # Pyramiding as loose as it goes: these tests add at the entry price.
    return posture(**{"portfolio.max_open_positions": 1, "portfolio.max_open_positions_high_confidence": 1,
                      "ledger.reservation_ttl_s": TTL_MS / 1000,
                      "exits.pyramiding": {"min_profit_r": 0.0, "min_add_distance_r": 0.0, "min_add_interval_s": 0.0,
                                           "size_ratio": 1.0, "max_combined_risk_r": 3.0}})


def _open_positions(ledger: Ledger) -> int:
    return len(ledger.positions())


def test_an_add_that_fills_after_its_position_closed_cannot_open_a_position_over_the_cap(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, _one_slot())
    _, detail, first = gate.reserve(buy("btc", "BTCUSDT"))
    assert first is not None
    gate.fill(first, detail["sized"]["qty"], PRICES["BTCUSDT"])
    clock.advance(10)  # past the strategy's cooldown
    _, add_detail, add = gate.reserve(buy("btc-add", "BTCUSDT"))
    assert add is not None  # an add: the open position holds the slot
    gate.close("s1", "BTCUSDT", PRICES["BTCUSDT"])
    clock.advance(10)
    veto, detail, _ = gate.reserve(buy("eth", "ETHUSDT", strategy="s2"))
    assert veto and detail["reasons"] == ["global_concurrency_exceeded"]  # the add's fill would open BTC again
    gate.fill(add, add_detail["sized"]["qty"], PRICES["BTCUSDT"])
    assert _open_positions(gate.ledger) == 1


def test_a_placed_reservation_keeps_its_budget_past_its_ttl(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, _one_slot())
    _, detail, placed = gate.reserve(buy("btc", "BTCUSDT"))
    assert placed is not None and gate.placed(placed)
    clock.advance(10 * TTL_MS)
    mark_markets(gate, clock())
    veto, other, _ = gate.reserve(buy("eth", "ETHUSDT", strategy="s2"))
    assert veto and other["reasons"] == ["global_concurrency_exceeded"]
    gate.fill(placed, detail["sized"]["qty"], PRICES["BTCUSDT"])  # the late fill still has its budget
    assert _open_positions(gate.ledger) == 1
    assert [r.status for r in gate.ledger.reservations(status=None)] == ["FILLED"]


def test_placing_an_order_after_its_reservation_expired_is_refused(db_url: str) -> None:
    clock = Clock()
    gate = make_gate(db_url, clock, _one_slot())
    _, _, reservation_id = gate.reserve(buy("btc", "BTCUSDT"))
    assert reservation_id is not None
    clock.advance(TTL_MS)
    assert gate.placed(reservation_id) is False
    assert gate.ledger.expire(now_ms=clock()) == 1


def test_a_released_placed_order_returns_its_budget(db_url: str) -> None:
    gate = make_gate(db_url, the_posture=_one_slot())
    _, _, reservation_id = gate.reserve(buy("btc", "BTCUSDT"))
    assert reservation_id is not None and gate.placed(reservation_id)
    assert gate.release(reservation_id) and gate.placed(reservation_id) is False
    veto, detail, _ = gate.reserve(buy("eth", "ETHUSDT", strategy="s2"))
    assert not veto, detail["reasons"]


def _caps_hold(ledger: Ledger, global_cap: int, strategy_cap: int) -> None:
    positions = ledger.positions()
    assert len(positions) <= global_cap, positions
    per_strategy = Counter(p.strategy for p in positions)
    assert max(per_strategy.values(), default=0) <= strategy_cap, per_strategy


def _interleave(url: str, seed: int, steps: int) -> None:
    """Two processes' gates on one account, random reserve / place / fill (partial, late) / close /
    release / expiry, a bot's protocol: an order is sent only if ``placed`` accepted it, and only
    a sent order fills. After every step no cap is exceeded."""
    rng = random.Random(seed)
    clock = Clock()
    the_posture = posture(**{"portfolio.max_open_positions": 2, "portfolio.max_open_positions_high_confidence": 2,
                             "ledger.reservation_ttl_s": TTL_MS / 1000,
                             "strategies": {"default": {"max_concurrent_positions": 1, "cooldown_flat_s": 0.001,
                                                        "cooldown_open_s": 0.001}}})
    account = f"acct-{uuid.uuid4().hex[:10]}"  # hypothesis runs every example on the test's one database
    gates = [make_gate(url, clock, the_posture, account_id=account, actor="a"),
             make_gate(url, clock, the_posture, account_id=account, migrate=False, nav=None, actor="b")]
    sent: dict[str, tuple[RiskGate, float, float]] = {}  # reservation id -> gate, qty left, price
    for step in range(steps):
        clock.advance(rng.choice([1, 50, 400, TTL_MS // 2, 2 * TTL_MS]))
        for gate in gates:
            mark_markets(gate, clock())
        gate = rng.choice(gates)
        action = rng.random()
        held = [(p.strategy, p.symbol) for p in gate.ledger.positions()]
        if action < 0.4:
            symbol = rng.choice(sorted(PRICES))
            strategy = rng.choice(["s1", "s2", "s3"])
            _, detail, reservation_id = gate.reserve(buy(f"{seed}-{step}", symbol, 200.0, strategy))
            if reservation_id is not None and rng.random() < 0.8 and gate.placed(reservation_id):
                sent[reservation_id] = (gate, float(detail["sized"]["qty"]), PRICES[symbol])
        elif action < 0.7 and sent:
            reservation_id = rng.choice(sorted(sent))
            owner, left, price = sent[reservation_id]
            qty = left if rng.random() < 0.6 else left / 2
            owner.fill(reservation_id, qty, price)
            if qty == left:
                del sent[reservation_id]
            else:
                sent[reservation_id] = (owner, left - qty, price)
        elif action < 0.85 and held:
            strategy, symbol = rng.choice(held)
            gate.close(strategy, symbol, PRICES[symbol])
        elif action < 0.95 and sent:
            reservation_id = rng.choice(sorted(sent))
            sent.pop(reservation_id)[0].release(reservation_id)
        else:
            gate.ledger.expire(now_ms=clock())
        _caps_hold(gate.ledger, 2, 1)
    statuses = Counter(r.status for r in gates[0].ledger.reservations(status=None))
    assert set(statuses) <= {ACTIVE, EXPIRED, "FILLED", "RELEASED"}
    for gate in gates:
        gate.ledger.dispose()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31))
def test_no_interleaving_with_late_fills_exceeds_a_cap(db_url: str, seed: int) -> None:
    _interleave(db_url, seed, 60)


@pytest.mark.parametrize("seed", range(3))
def test_long_interleavings_with_late_fills_never_exceed_a_cap(db_url: str, seed: int) -> None:
    _interleave(db_url, 1_000 + seed, 150)
