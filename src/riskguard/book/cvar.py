"""Portfolio CVaR of the book plus one candidate position, from the return history the engine is fed.

Scenario i is row i of the aligned return matrix; the portfolio's P&L in a scenario is the signed
exposures (USDT) dotted with that row. The base P&L vector of the book is cached per book version
(positions and reservations; marks do not invalidate it), so a check costs one vector add and one
partial sort; the largest notional that stays within the limit is found once per book version,
symbol, side and limit by Newton steps (CVaR is convex and piecewise linear along the added
exposure), then checked to be within the limit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from riskguard.book.book import Book
from riskguard.model.errors import InputValidationError

FloatArray = npt.NDArray[np.float64]
_BISECTION_STEPS = 40
_DESCENT_FIRST = 2.0 ** -52  # relative: one to two ulps below Newton's root
_DESCENT_STEPS = 23  # doubling up to 2**-30 (~9.3e-10) relative below it
_NEWTON_STEPS = 30
_MAX_NOTIONAL = 1e12  # USDT; beyond any account riskguard guards


def _mean(values: FloatArray) -> float:
    # The correctly rounded sum (math.fsum) does not depend on the order of the tail, which
    # partition leaves arbitrary: the loss of one portfolio is then the same number whichever
    # array it was computed from, so a headroom verified feasible stays feasible when re-evaluated.
    return math.fsum(values.tolist()) / len(values)


class PortfolioCvar:
    """Historical CVaR (USDT loss) of the book with a candidate position added."""

    def __init__(self, alpha: float, window: int, min_history: int) -> None:
        self.alpha = alpha
        self.window = window
        self.min_history = min_history
        self._returns: dict[str, FloatArray] = {}
        self._matrix: FloatArray | None = None
        self._columns: dict[str, int] = {}
        self._base_key: tuple[int, int] | None = None
        self._base: FloatArray | None = None
        self._headroom: dict[tuple[object, ...], float] = {}
        self._observed: dict[tuple[object, ...], float] = {}
        self._results: dict[tuple[object, ...], tuple[float | None, float | None, str | None]] = {}
        self._data_version = 0

    def update_returns(self, symbol: str, returns: npt.ArrayLike) -> None:
        """Replace ``symbol``'s per-period simple returns (oldest first); keeps the last ``window``."""
        array = np.asarray(returns, dtype=np.float64).ravel()
        # The lowest and highest return bound every value, and a NaN fails both comparisons: two
        # reductions clear a valid array (a replay feeds ~700 a year); the checks below name the fault.
        if array.size == 0 or not (array.min() > -1.0 and array.max() < math.inf):
            if array.size == 0 or not np.all(np.isfinite(array)):
                raise InputValidationError("returns", "must be a non-empty array of finite numbers", symbol)
            raise InputValidationError("returns", "a simple return of -100 % or less is impossible", symbol)
        self._returns[symbol] = array[-self.window:].copy()
        self._matrix = None
        self._data_version += 1
        self._headroom.clear()
        self._observed.clear()
        self._results.clear()

    def history(self, symbol: str) -> int:
        """Number of return periods held for ``symbol``."""
        array = self._returns.get(symbol)
        return 0 if array is None else int(array.size)

    @property
    def data_version(self) -> int:
        """Bumped by every ``update_returns``: equal versions mean the same return data."""
        return self._data_version

    def return_arrays(self) -> dict[str, FloatArray]:
        """The return history held per symbol (oldest first), in symbol order, as the arrays held:
        read only (each update replaces a symbol's array, never changes it in place)."""
        return {symbol: self._returns[symbol] for symbol in sorted(self._returns)}

    def returns_by_symbol(self) -> dict[str, list[float]]:
        """The return history held per symbol (oldest first), in symbol order: feeding it back to a
        fresh PortfolioCvar with the same window reproduces every result exactly."""
        return {symbol: self._returns[symbol].tolist() for symbol in sorted(self._returns)}

    def _aligned(self) -> FloatArray | None:
        if self._matrix is None and self._returns:
            length = min(a.size for a in self._returns.values())
            if length >= self.min_history:
                self._columns = {s: i for i, s in enumerate(sorted(self._returns))}
                self._matrix = np.column_stack([self._returns[s][-length:] for s in sorted(self._returns)])
        return self._matrix

    def _book_pnl(self, book: Book, matrix: FloatArray) -> FloatArray | None:
        key = (book.version, self._data_version)
        if self._base_key != key:
            exposures = np.zeros(matrix.shape[1])
            for symbol, exposure in book.symbols.items():
                signed = ((exposure.long_qty - exposure.short_qty) * exposure.price
                          + exposure.reserved_long - exposure.reserved_short)
                if signed == 0.0:
                    continue
                column = self._columns.get(symbol)
                if column is None:
                    self._base_key, self._base = key, None
                    return None
                exposures[column] = signed
            self._base_key, self._base = key, matrix @ exposures
        return self._base

    def _tail_count(self, scenarios: int) -> int:
        # The tolerance keeps 720 x 0.05 = 36.00000000000003 at 36 scenarios.
        return max(1, math.ceil(scenarios * (1.0 - self.alpha) - 1e-9))

    def _tail_loss(self, pnl: FloatArray) -> float:
        """Mean loss (USDT) of the worst scenarios of ``pnl``, which is reordered in place: callers
        pass a scratch array (``np.partition`` would copy it first, then do the same partition)."""
        count = self._tail_count(pnl.size)
        pnl.partition(count - 1)
        return float(-_mean(pnl[:count]))

    def evaluate(self, book: Book, symbol: str, signed_notional: float,
                 limit_usdt: float) -> tuple[float | None, float | None, str | None]:
        """(CVaR USDT with the candidate, largest notional within ``limit_usdt``, note). None = unknown."""
        # A bot repeats the same question until the book changes: answer it from one memo look-up.
        result_key = (book.version, self._data_version, symbol, signed_notional, limit_usdt)
        result = self._results.get(result_key)
        if result is None:
            result = self._evaluate(book, symbol, signed_notional, limit_usdt)
            if len(self._results) > 4096:
                self._results.clear()
            self._results[result_key] = result
        return result

    def _evaluate(self, book: Book, symbol: str, signed_notional: float,
                  limit_usdt: float) -> tuple[float | None, float | None, str | None]:
        matrix = self._aligned()
        if matrix is None:
            return None, None, "no return history: CVaR unknown"
        column = self._columns.get(symbol)
        if column is None:
            return None, None, f"no return history for {symbol}: CVaR unknown"
        base = self._book_pnl(book, matrix)
        if base is None:
            return None, None, "a held symbol has no return history: CVaR unknown"
        returns = matrix[:, column]
        # Bots often repeat the same size; the tail loss of an exact (book, symbol, size) is memoised.
        size_key = (book.version, self._data_version, symbol, signed_notional)
        observed = self._observed.get(size_key)
        if observed is None:
            observed = self._tail_loss(base + returns * signed_notional)  # a new array: safe to reorder
            if len(self._observed) > 4096:
                self._observed.clear()
            self._observed[size_key] = observed
        direction = 1.0 if signed_notional >= 0.0 else -1.0
        key = (book.version, self._data_version, symbol, direction, limit_usdt)
        headroom = self._headroom.get(key)
        if headroom is None:
            headroom, at_headroom = self._solve(base, returns * direction, limit_usdt)
            if len(self._headroom) > 1024:
                self._headroom.clear()
            self._headroom[key] = headroom
            if at_headroom is not None:
                # A decision clamped to this headroom asks next for the tail loss at it, which the
                # solve verified: the same sum of the same scenarios ((r * -1) * x is r * -x exactly).
                self._observed.setdefault((book.version, self._data_version, symbol, direction * headroom),
                                          at_headroom)
        return observed, headroom, None

    def _solve(self, base: FloatArray, returns: FloatArray, limit: float) -> tuple[float, float | None]:
        """Largest x >= 0 with tail_loss(base + x * returns) <= limit, and the tail loss at it (None
        when not evaluated there: x = 0 because the book alone is over the limit, or the cap).

        The tail loss is convex and piecewise linear in x, so Newton steps on the slope of the
        current tail set reach the root in a handful of iterations (from the feasible side the first
        step lands at or beyond the root, then steps decrease onto it). The result is verified; about
        a third of the time float rounding leaves it a hair infeasible, and the largest feasible x
        is then a few ulps below: steps down of 1, 2, 4, ... ulps (relative 2**-52 .. 2**-30, so
        never more than ~1e-9 below the root) find it with one partial sort each. Bisection against
        the last feasible point remains for the case none of those is feasible.

        Each point's tail loss is computed once: the first Newton step (x = 0) is the book alone, and
        a converged step's value is the verification of that x (the sum of the same scenarios).
        """
        count = self._tail_count(base.size)
        scratch = np.empty_like(base)
        feasible, x = 0.0, 0.0
        converged: float | None = None  # the tail loss at x when the steps stopped there
        for step_number in range(_NEWTON_STEPS):
            pnl = np.add(base, np.multiply(returns, x, out=scratch), out=scratch)  # base + returns * x
            tail = pnl.argpartition(count - 1)[:count]
            value = float(-_mean(pnl[tail]))
            if step_number == 0 and value > limit:
                return 0.0, None  # the book alone is over the limit
            slope = float(-_mean(returns[tail]))
            if value <= limit:
                feasible = max(feasible, x)
            if slope <= 0.0:
                # Adding exposure does not raise this tail: look further out.
                if x > _MAX_NOTIONAL:
                    return _MAX_NOTIONAL, None
                x = max(2.0 * x, limit, 1.0)
                continue
            step = (limit - value) / slope
            if abs(step) <= 1e-12 * max(1.0, x):
                converged = value
                break
            x += step
        bounded = min(max(x, 0.0), _MAX_NOTIONAL)
        at_x = converged if converged is not None and bounded == x else self._tail_loss(base + returns * bounded)
        x = bounded
        if at_x <= limit:
            return x, at_x
        high = x
        decrement = x * _DESCENT_FIRST
        for _ in range(_DESCENT_STEPS):
            candidate = x - decrement
            if candidate <= feasible:
                break
            at_candidate = self._tail_loss(base + returns * candidate)
            if at_candidate <= limit:
                return candidate, at_candidate
            high = candidate
            decrement *= 2.0
        low = feasible
        for _ in range(_BISECTION_STEPS):
            middle = (low + high) / 2.0
            if self._tail_loss(base + returns * middle) <= limit:
                low = middle
            else:
                high = middle
        return low, None
