"""PortfolioCvar's headroom is the largest notional within the limit, found exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from riskguard.book import Book, PortfolioCvar
from riskguard.model import Position


def _cvar_with(seed: int, held_notional: float) -> tuple[PortfolioCvar, Book]:
    rng = np.random.default_rng(seed)
    cvar = PortfolioCvar(alpha=0.95, window=720, min_history=100)
    for symbol, vol in (("BTCUSDT", 0.006), ("ETHUSDT", 0.008)):
        cvar.update_returns(symbol, rng.standard_t(4, 720) * vol)
    book = Book(risk_per_unstopped_notional=0.02)
    if held_notional >= 0.01:  # below a cent the qty may underflow to 0, which a Position refuses
        book.add_position(Position(symbol="ETHUSDT", side="LONG", qty=held_notional / 3_000.0, entry_price=3_000.0,
                                   strategy="s"))
    return cvar, book


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 3_000.0), st.floats(5.0, 200.0), st.booleans())
def test_headroom_is_within_the_limit_and_a_little_more_is_not(seed: int, held: float, limit: float,
                                                                buy: bool) -> None:
    cvar, book = _cvar_with(seed, held)
    sign = 1.0 if buy else -1.0
    _, headroom, _ = cvar.evaluate(book, "BTCUSDT", sign * 100.0, limit)
    assert headroom is not None and headroom >= 0.0
    at_headroom, _, _ = cvar.evaluate(book, "BTCUSDT", sign * headroom, limit)
    assert at_headroom is not None
    if headroom == 0.0:
        assert at_headroom > limit  # the book alone is already beyond the limit
    else:
        assert at_headroom <= limit * (1 + 1e-9) + 1e-9
        beyond, _, _ = cvar.evaluate(book, "BTCUSDT", sign * headroom * 1.001 + sign * 0.01, limit)
        assert beyond is not None and beyond > limit


def test_headroom_is_zero_when_the_book_alone_exceeds_the_limit() -> None:
    cvar, book = _cvar_with(1, 50_000.0)
    _, headroom, _ = cvar.evaluate(book, "BTCUSDT", 100.0, 5.0)
    assert headroom == 0.0


def test_a_rebuilt_book_with_as_many_changes_but_other_positions_is_not_served_a_stale_cvar() -> None:
    # The ledger rebuilds the engine's book from storage before each reserve: a new Book whose
    # change count can equal the previous book's while it holds other positions.
    cvar, small = _cvar_with(3, 100.0)
    _, large = _cvar_with(3, 30_000.0)
    assert len(small.positions) == len(large.positions) == 1
    small_cvar, _, _ = cvar.evaluate(small, "BTCUSDT", 100.0, 1e9)
    large_cvar, _, _ = cvar.evaluate(large, "BTCUSDT", 100.0, 1e9)
    fresh, _ = _cvar_with(3, 30_000.0)
    expected, _, _ = fresh.evaluate(large, "BTCUSDT", 100.0, 1e9)
    assert small_cvar is not None and large_cvar is not None
    assert large_cvar == expected
    assert large_cvar > small_cvar * 10


def _largest_within(cvar: PortfolioCvar, book: Book, symbol: str, sign: float, limit: float) -> float:
    """Reference: the largest notional whose CVaR is within ``limit``, bisected down to adjacent floats."""
    def within(x: float) -> bool:
        observed, _, _ = cvar.evaluate(book, symbol, sign * x, limit)
        assert observed is not None
        return observed <= limit

    if not within(0.0):
        return 0.0
    low, high = 0.0, 1.0
    while within(high):
        low, high = high, 2.0 * high
    while True:
        middle = (low + high) / 2.0
        if middle in (low, high):
            return low
        if within(middle):
            low = middle
        else:
            high = middle


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.floats(-5_000.0, 5_000.0), st.floats(0.0, 300.0), st.booleans(),
       st.sampled_from([0.9, 0.95, 0.975, 0.99]))
@example(seed=512, held=2200.0, spare=0.0, buy=True, alpha=0.99)  # no spare: the true largest is 1.2e-9 USDT
def test_headroom_is_never_beyond_the_limit_and_within_1e_9_of_the_largest_notional_that_is(
        seed: int, held: float, spare: float, buy: bool, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    cvar = PortfolioCvar(alpha=alpha, window=720, min_history=100)
    for symbol, vol in (("BTCUSDT", 0.006), ("ETHUSDT", 0.008)):
        cvar.update_returns(symbol, rng.standard_t(4, 720) * vol)
    book = Book(risk_per_unstopped_notional=0.02)
    if abs(held) >= 0.01:
        book.add_position(Position(symbol="ETHUSDT", side="LONG" if held > 0 else "SHORT",
                                   qty=abs(held) / 3_000.0, entry_price=3_000.0, strategy="s"))
    sign = 1.0 if buy else -1.0
    book_alone, _, _ = cvar.evaluate(book, "BTCUSDT", 0.0, 1e9)
    assert book_alone is not None
    limit = book_alone + spare  # at or above the book's own CVaR: some headroom is left
    _, headroom, _ = cvar.evaluate(book, "BTCUSDT", sign * 100.0, limit)
    assert headroom is not None
    at_headroom, _, _ = cvar.evaluate(book, "BTCUSDT", sign * headroom, limit)
    assert at_headroom is not None and at_headroom <= limit
    largest = _largest_within(cvar, book, "BTCUSDT", sign, limit)
    # Relative 1e-9, or a micro-USDT near zero (far below any exchange's quantity step).
    assert abs(headroom - largest) <= max(1e-9 * largest, 1e-6)


def test_headroom_stays_within_the_limit_when_rounding_noise_is_wider_than_the_step_down() -> None:
    # A 10-billion-USDT book and a near-constant candidate return (1e-10): the tail loss is rounded
    # to ~1e-6 USDT while the candidate moves it by ~1e-10 per USDT, so Newton's root can be off by
    # far more than the steps down reach (~1e-9 relative); bisection against the last feasible point
    # then finds the headroom (this seed takes that path).
    rng = np.random.default_rng(0)
    cvar = PortfolioCvar(alpha=0.95, window=720, min_history=100)
    cvar.update_returns("ETHUSDT", rng.standard_t(4, 720) * 0.008)
    cvar.update_returns("BTCUSDT", 1e-10 * (1.0 + np.abs(rng.standard_normal(720)) * 0.01))
    book = Book(risk_per_unstopped_notional=0.02)
    book.add_position(Position(symbol="ETHUSDT", side="SHORT", qty=1e10 / 3_000.0, entry_price=3_000.0,
                               strategy="s"))
    book_alone, _, _ = cvar.evaluate(book, "BTCUSDT", 0.0, 1e15)
    assert book_alone is not None
    limit = book_alone + 0.01
    _, headroom, _ = cvar.evaluate(book, "BTCUSDT", -100.0, limit)
    assert headroom is not None and headroom > 0.0
    at_headroom, _, _ = cvar.evaluate(book, "BTCUSDT", -headroom, limit)
    assert at_headroom is not None and at_headroom <= limit
    largest = _largest_within(cvar, book, "BTCUSDT", -1.0, limit)
    assert abs(headroom - largest) <= 1e-9 * largest
