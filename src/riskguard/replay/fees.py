"""Fees and funding of one simulated trade (USDT), applied after the exit simulation."""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskguard.exits.plan import ExitPlan
from riskguard.model import validation as v
from riskguard.model.errors import InputValidationError
from riskguard.replay.exit_simulation import ExitResult, FillKind

_BPS = 1e-4


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Exchange fees in basis points of notional. Stop, trailing, time and take-profit *market*
    orders pay taker; set ``take_profit_maker`` when targets are resting limit orders."""

    taker_bps: float
    maker_bps: float
    entry_maker: bool = False
    take_profit_maker: bool = False

    def __post_init__(self) -> None:
        v.non_negative("taker_bps", self.taker_bps)
        v.finite("maker_bps", self.maker_bps)  # maker rebates are negative fees


@dataclass(frozen=True, slots=True)
class TradeCashflows:
    """Result of one trade, USDT: gross price P&L, fees paid (>= 0 unless rebates), funding
    received (< 0 when paid), net = gross - fees + funding; ``net_r`` = net / initial risk."""

    gross_usdt: float
    fees_usdt: float
    funding_usdt: float
    net_usdt: float
    net_r: float


def trade_cashflows(
    plan: ExitPlan,
    result: ExitResult,
    times_ms: npt.ArrayLike,
    open_: npt.ArrayLike,
    fees: FeeSchedule,
    funding_times_ms: npt.ArrayLike | None = None,
    funding_rates: npt.ArrayLike | None = None,
    entry_time_ms: int | None = None,
) -> TradeCashflows:
    """Fees on entry and every fill, and funding at each funding time the position was open.

    ``times_ms`` / ``open_`` are the bars the simulation ran on (open time, epoch ms; open price).
    Funding: at each time ``t`` after entry (default: the first bar's open) and at or before the
    open of the last fill's bar, the quantity still open pays ``rate × qty × price`` where price is
    the open of the bar containing ``t``; longs pay a positive rate, shorts receive it. ``rate`` is
    per funding interval (Binance: per 8 h).
    """
    times = np.asarray(times_ms, dtype=np.int64)
    opens = np.asarray(open_, dtype=np.float64)
    if times.shape != opens.shape or times.shape[0] <= result.exit_bar:
        raise InputValidationError(
            "times_ms", "must cover every bar of the simulation, like open_", times.shape)
    qty = plan.qty
    direction = plan.direction
    gross = math.fsum(direction * (f.price - plan.entry_price) * f.fraction * qty for f in result.fills)
    entry_bps = fees.maker_bps if fees.entry_maker else fees.taker_bps
    fee_total = plan.entry_price * qty * entry_bps * _BPS
    for fill in result.fills:
        if fill.kind is FillKind.END_OF_DATA:
            continue  # a mark, not a trade
        maker = fill.kind is FillKind.TAKE_PROFIT and fees.take_profit_maker
        bps = fees.maker_bps if maker else fees.taker_bps
        fee_total += fill.price * fill.fraction * qty * bps * _BPS

    funding = 0.0
    if funding_times_ms is not None or funding_rates is not None:
        if funding_times_ms is None or funding_rates is None:
            raise InputValidationError("funding_rates", "funding times and rates go together", None)
        f_times = np.asarray(funding_times_ms, dtype=np.int64)
        rates = np.asarray(funding_rates, dtype=np.float64)
        if f_times.shape != rates.shape:
            raise InputValidationError("funding_rates", "needs one rate per funding time", rates.shape)
        if not np.all(np.isfinite(rates)):
            raise InputValidationError("funding_rates", "must be finite", None)
        start = int(times[0]) if entry_time_ms is None else v.timestamp_ms("entry_time_ms", entry_time_ms)
        last = int(times[result.exit_bar])
        lo = int(f_times.searchsorted(start, side="right"))
        hi = int(f_times.searchsorted(last, side="right"))
        if hi > lo:
            funding = -direction * _funding_sum(result, times, opens, f_times[lo:hi], rates[lo:hi], qty)
    net = gross - fee_total + funding
    return TradeCashflows(gross, fee_total, funding, net, net / plan.risk_usdt)


_PAIRWISE_MIN = 8
"""NumPy sums 8 or more float64 values pairwise; fewer in one plain loop from 0.0."""


def _funding_sum(result: ExitResult, times: npt.NDArray[np.int64], opens: npt.NDArray[np.float64],
                 window_t: npt.NDArray[np.int64], rates: npt.NDArray[np.float64], qty: float) -> float:
    """Sum over the funding times ``window_t`` of rate x share still open x qty x open of the bar
    holding the time (USDT, the sign as paid by a long). A trade spans a few funding times: those
    are summed in plain floats, bit for bit what ``np.sum`` gives (a plain loop from 0.0 below 8
    terms); longer windows use NumPy itself."""
    fills = result.fills
    fill_times = [int(times[f.bar]) for f in fills]
    closed_before = [0.0]
    closed = 0.0
    for index, f in enumerate(fills):  # np.cumsum: running sums from the first fraction
        closed = f.fraction if index == 0 else closed + f.fraction
        closed_before.append(closed)
    bar_of = times.searchsorted(window_t, side="right").tolist()
    terms = [rate * (1.0 - closed_before[bisect_left(fill_times, t)]) * qty * float(opens[max(bar - 1, 0)])
             for t, rate, bar in zip(window_t.tolist(), rates.tolist(), bar_of, strict=True)]
    if len(terms) >= _PAIRWISE_MIN:
        return float(np.sum(np.array(terms)))
    total = 0.0
    for term in terms:
        total += term
    return total
