"""Fees and funding of one simulated trade (USDT), applied after the exit simulation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskguard.exits.plan import ExitPlan
from riskguard.exits.simulate import ExitResult, FillKind
from riskguard.model import validation as v
from riskguard.model.errors import InputValidationError

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
        lo = int(np.searchsorted(f_times, start, side="right"))
        hi = int(np.searchsorted(f_times, last, side="right"))
        if hi > lo:
            window_t = f_times[lo:hi]
            fill_times = times[[f.bar for f in result.fills]]
            closed_before = np.concatenate(([0.0], np.cumsum([f.fraction for f in result.fills])))
            open_share = 1.0 - closed_before[np.searchsorted(fill_times, window_t, side="left")]
            bar_of = np.clip(np.searchsorted(times, window_t, side="right") - 1, 0, None)
            funding = -direction * float(np.sum(rates[lo:hi] * open_share * qty * opens[bar_of]))
    net = gross - fee_total + funding
    return TradeCashflows(gross, fee_total, funding, net, net / plan.risk_usdt)
