"""Synthetic OHLCV for the embedded demo: seeded geometric Brownian motion with volatility regimes
and jumps. NOT market data: every frame says so in ``attrs`` (``synthetic=True``, ``source``).

Returns from a common market factor plus an idiosyncratic part give the symbols a realistic
co-movement; a three-state Markov chain (calm / normal / stressed) scales volatility; Poisson
jumps add fat tails. Intrabar highs and lows come from the bar's volatility. Deterministic for a
seed; a year of 1h bars for four symbols takes a few tens of ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskguard.exits.rounding import decimals_of
from riskguard.model.errors import InputValidationError

SYNTHETIC_SOURCE = "synthetic (seeded GBM) — not market data"
HOURS_PER_YEAR = 24 * 365


@dataclass(frozen=True, slots=True)
class SyntheticSymbol:
    """Price level (USDT), annualised volatility, market beta, tick size and typical volume (base units)."""

    symbol: str
    start_price: float
    annual_vol: float
    beta: float
    tick_size: float
    volume: float


DEFAULT_SYMBOLS: tuple[SyntheticSymbol, ...] = (
    SyntheticSymbol("BTCUSDT", 42_000.0, 0.55, 1.0, 0.1, 9_000.0),
    SyntheticSymbol("ETHUSDT", 2_300.0, 0.65, 1.1, 0.01, 120_000.0),
    SyntheticSymbol("SOLUSDT", 100.0, 0.95, 1.3, 0.001, 900_000.0),
    SyntheticSymbol("BNBUSDT", 310.0, 0.60, 0.8, 0.01, 60_000.0),
)

# Volatility regimes: scale of volatility and the chance per bar of staying in the regime.
_REGIME_SCALE = np.array([0.6, 1.0, 2.2])
_REGIME_STAY = np.array([0.995, 0.995, 0.98])
_JUMPS_PER_YEAR = 12.0
_JUMP_SIZE = 0.025
_MARKET_SHARE = 0.7
"""Share of each symbol's variance explained by the common market factor."""


def _regime_path(rng: np.random.Generator, bars: int) -> npt.NDArray[np.int64]:
    # Sequential by nature, but only a few hundred switches a year: draw run lengths, not bars.
    states = np.empty(bars, dtype=np.int64)
    state, i = 1, 0
    while i < bars:
        run = int(rng.geometric(1.0 - _REGIME_STAY[state]))
        states[i : i + run] = state
        i += run
        state = int(rng.choice([s for s in range(3) if s != state]))
    return states


def generate_ohlcv(
    seed: int = 3,
    bars: int = HOURS_PER_YEAR,
    start: str = "2024-01-01",
    symbols: tuple[SyntheticSymbol, ...] = DEFAULT_SYMBOLS,
) -> dict[str, pd.DataFrame]:
    """Hourly synthetic candles per symbol, in the normalised layout of riskguard.replay.data
    (``date`` UTC, float64 OHLCV), labelled ``attrs["synthetic"] = True`` and
    ``attrs["source"] = SYNTHETIC_SOURCE``. Same seed -> identical frames."""
    if bars < 2:
        raise InputValidationError("bars", "must be >= 2", bars)
    rng = np.random.default_rng(seed)
    regimes = _regime_path(rng, bars)
    scale = _REGIME_SCALE[regimes]
    market = rng.standard_normal(bars)
    dates = pd.date_range(start=pd.Timestamp(start, tz="UTC"), periods=bars, freq="h")
    frames: dict[str, pd.DataFrame] = {}
    for spec in symbols:
        sigma = spec.annual_vol / np.sqrt(HOURS_PER_YEAR) * scale
        loading = min(1.0, np.sqrt(_MARKET_SHARE) * spec.beta)
        shock = loading * market + np.sqrt(1.0 - loading**2) * rng.standard_normal(bars)
        jumps = rng.poisson(_JUMPS_PER_YEAR / HOURS_PER_YEAR, bars) * rng.normal(0.0, _JUMP_SIZE, bars)
        log_ret = sigma * shock + jumps  # zero log drift: the median path stays at the start level
        close = spec.start_price * np.exp(np.cumsum(log_ret))
        open_ = np.empty(bars)
        open_[0] = spec.start_price
        open_[1:] = close[:-1]
        # Excursions beyond the body scale with the bar's volatility (half-normal, like a Brownian bridge).
        up = np.abs(rng.standard_normal(bars)) * sigma * 0.6
        down = np.abs(rng.standard_normal(bars)) * sigma * 0.6
        high = np.maximum(open_, close) * np.exp(up)
        low = np.minimum(open_, close) * np.exp(-down)
        places = decimals_of(spec.tick_size)
        open_r, close_r = np.round(open_, places), np.round(close, places)
        high_r = np.maximum(np.round(high, places), np.maximum(open_r, close_r))
        low_r = np.minimum(np.round(low, places), np.minimum(open_r, close_r))
        volume = spec.volume * np.exp(0.4 * rng.standard_normal(bars)) * (1.0 + np.abs(log_ret) / sigma)
        frame = pd.DataFrame({"date": dates, "open": open_r, "high": high_r, "low": low_r, "close": close_r,
                              "volume": np.round(volume, 3)})
        frame.attrs.update(source=SYNTHETIC_SOURCE, synthetic=True, symbol=spec.symbol, timeframe="1h",
                           candle_type="futures", seed=seed)
        frames[spec.symbol] = frame
    return frames


def generate_funding_rates(
    seed: int = 3,
    periods: int = 3 * 365,
    start: str = "2024-01-01",
    symbols: tuple[SyntheticSymbol, ...] = DEFAULT_SYMBOLS,
) -> dict[str, pd.Series[float]]:
    """Synthetic 8-hourly funding rates per symbol (fraction per 8 h, around Binance's 0.01 % base),
    labelled synthetic like :func:`generate_ohlcv`."""
    rng = np.random.default_rng(seed + 1)
    index = pd.DatetimeIndex(pd.date_range(start=pd.Timestamp(start, tz="UTC"), periods=periods, freq="8h"),
                             name="date")
    out: dict[str, pd.Series[float]] = {}
    for spec in symbols:
        noise = rng.normal(0.0, 0.00008, periods)
        persistent = np.empty(periods)
        level = 0.0
        for i in range(periods):  # AR(1): funding premia persist for days
            level = 0.9 * level + noise[i]
            persistent[i] = level
        series = pd.Series(np.round(0.0001 + persistent, 8), index=index, name="funding_rate")
        series.attrs.update(source=SYNTHETIC_SOURCE, synthetic=True, symbol=spec.symbol, seed=seed)
        out[spec.symbol] = series
    return out
