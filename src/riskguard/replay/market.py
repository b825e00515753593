"""The market a replay runs on: per-symbol OHLCV arrays, funding rates and where they came from.

Real files (freqtrade or ccxt layouts, see ``riskguard.replay.data``) or the labelled synthetic
sample; a synthetic market says so in every output (``MarketData.synthetic``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskguard.replay.data import (
    DataFileError,
    OhlcvArrays,
    funding_arrays,
    load_funding_rates,
    load_ohlcv,
    parse_series_name,
    to_arrays,
)
from riskguard.replay.synthetic import SYNTHETIC_SOURCE, generate_funding_rates, generate_ohlcv


@dataclass(frozen=True, slots=True)
class SymbolSeries:
    """One symbol's bars (``bars``, and the normalised frame for the regime detector), its bar
    length (ms), funding times (epoch ms) and rates (fraction per interval), and its source label."""

    symbol: str
    frame: pd.DataFrame
    bars: OhlcvArrays
    timeframe_ms: int
    funding_times_ms: npt.NDArray[np.int64] | None
    funding_rates: npt.NDArray[np.float64] | None
    source: str

    @property
    def close_times_ms(self) -> npt.NDArray[np.int64]:
        """Close time of every bar (open time + bar length), epoch ms: when the bar is known."""
        return self.bars.time_ms + self.timeframe_ms


@dataclass(frozen=True, slots=True)
class MarketData:
    """Every symbol of a replay, sorted by symbol; ``synthetic`` when any series is not market data."""

    series: tuple[SymbolSeries, ...]
    synthetic: bool
    description: str

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols in replay order."""
        return tuple(s.symbol for s in self.series)

    @property
    def bar_count(self) -> int:
        """Bars over all symbols."""
        return sum(len(s.bars) for s in self.series)

    def select(self, symbols: Sequence[str]) -> MarketData:
        """Only ``symbols`` (unknown ones raise DataFileError naming the symbol)."""
        wanted = {s.upper() for s in symbols}
        missing = sorted(wanted - set(self.symbols))
        if missing:
            raise DataFileError("(market)", "symbol", f"no data for {missing[0]}", missing[0])
        return MarketData(tuple(s for s in self.series if s.symbol in wanted), self.synthetic, self.description)

    def window(self, start_ms: int | None = None, end_ms: int | None = None) -> MarketData:
        """The bars opening in [start_ms, end_ms) (epoch ms; None = unbounded)."""
        out: list[SymbolSeries] = []
        for s in self.series:
            times = s.bars.time_ms
            lo = 0 if start_ms is None else int(np.searchsorted(times, start_ms, side="left"))
            hi = len(times) if end_ms is None else int(np.searchsorted(times, end_ms, side="left"))
            if hi - lo < 2:
                continue
            frame = s.frame.iloc[lo:hi].reset_index(drop=True)
            frame.attrs.update(s.frame.attrs)
            out.append(SymbolSeries(s.symbol, frame, to_arrays(frame), s.timeframe_ms, s.funding_times_ms,
                                    s.funding_rates, s.source))
        if not out:
            raise DataFileError("(window)", "date", "no symbol has at least two bars in the window",
                                [start_ms, end_ms])
        return MarketData(tuple(out), self.synthetic, self.description)


def _timeframe_ms(path: str, arrays: OhlcvArrays) -> int:
    if len(arrays) < 2:
        raise DataFileError(path, "date", "needs at least two bars", len(arrays))
    return int(np.median(np.diff(arrays.time_ms)))


def _series(symbol: str, frame: pd.DataFrame, funding: pd.Series[float] | None, source: str) -> SymbolSeries:
    arrays = to_arrays(frame)
    f_times, f_rates = funding_arrays(funding) if funding is not None else (None, None)
    return SymbolSeries(symbol, frame, arrays, _timeframe_ms(source, arrays), f_times, f_rates, source)


def _expand(paths: Sequence[Path], timeframe: str,
            wanted: set[str] | None = None) -> tuple[list[Path], dict[str, Path]]:
    """OHLCV files (directories expanded to their ``timeframe`` futures files of the ``wanted``
    symbols, None = all) and funding files by symbol."""
    ohlcv: list[Path] = []
    funding: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            preference = (".feather", ".parquet", ".json.gz", ".json", ".csv")
            chosen: dict[str, tuple[int, Path]] = {}
            for child in sorted(path.iterdir()):
                name = parse_series_name(child)
                rank = next((i for i, ext in enumerate(preference) if child.name.endswith(ext)), None)
                if name.symbol is None or rank is None or (wanted is not None and name.symbol not in wanted):
                    continue
                if name.candle_type == "funding_rate":
                    funding.setdefault(name.symbol, child)
                elif (name.timeframe == timeframe and name.candle_type == "futures"
                      and (name.symbol not in chosen or rank < chosen[name.symbol][0])):
                    chosen[name.symbol] = (rank, child)
            if not chosen:
                which = "" if wanted is None else f" of {', '.join(sorted(wanted))}"
                raise DataFileError(path, "(directory)",
                                    f"no {timeframe} futures OHLCV files{which} (freqtrade names)")
            ohlcv.extend(p for _, p in sorted(chosen.values(), key=lambda rp: str(rp[1])))
        elif not path.exists():
            raise DataFileError(path, "(file)", "no such file or directory")
        elif parse_series_name(path).candle_type == "funding_rate":
            symbol = parse_series_name(path).symbol
            if symbol is not None:
                funding[symbol] = path
        else:
            ohlcv.append(path)
    return ohlcv, funding


def load_market(paths: Sequence[Path | str], *, symbols: Sequence[str] | None = None,
                timeframe: str = "1h") -> MarketData:
    """Load OHLCV files and/or directories of freqtrade files (with their ``-funding_rate`` files
    when present). A file whose name does not say the symbol is refused (field ``symbol``).
    ``symbols`` keeps only those symbols."""
    wanted = None if symbols is None else {s.upper() for s in symbols}
    ohlcv, funding = _expand([Path(p) for p in paths], timeframe, wanted)
    series: dict[str, SymbolSeries] = {}
    for path in ohlcv:
        frame = load_ohlcv(path)
        symbol = frame.attrs.get("symbol")
        if not symbol:
            raise DataFileError(path, "symbol", "file name must say the symbol, e.g. BTC_USDT_USDT-1h-futures.csv")
        if wanted is not None and symbol not in wanted:
            continue
        if symbol in series:
            raise DataFileError(path, "symbol", f"{symbol} given twice", str(path))
        rates = load_funding_rates(funding[symbol]) if symbol in funding else None
        series[symbol] = _series(symbol, frame, rates, str(path))
    if not series:
        raise DataFileError(", ".join(str(p) for p in paths), "symbol", "no OHLCV series selected")
    names = ", ".join(f"{s} ({Path(series[s].source).name})" for s in sorted(series))
    return MarketData(tuple(series[s] for s in sorted(series)), False, f"market data: {names}")


def synthetic_market(*, days: int = 365, seed: int = 3, symbols: Sequence[str] | None = None) -> MarketData:
    """The labelled synthetic sample: hourly seeded GBM candles and 8-hourly funding, NOT market data."""
    frames = generate_ohlcv(seed=seed, bars=days * 24)
    rates = generate_funding_rates(seed=seed, periods=days * 3)
    wanted = None if symbols is None else {s.upper() for s in symbols}
    series = tuple(_series(sym, frames[sym], rates.get(sym), SYNTHETIC_SOURCE)
                   for sym in sorted(frames) if wanted is None or sym in wanted)
    if not series:
        raise DataFileError("(synthetic)", "symbol", f"none of {sorted(frames)} selected", symbols)
    return MarketData(series, True, f"SYNTHETIC sample ({SYNTHETIC_SOURCE}), seed {seed}, {days} days of 1h bars")


def market_from_frames(frames: dict[str, pd.DataFrame], *, description: str, synthetic: bool,
                       funding: dict[str, pd.Series[float]] | None = None) -> MarketData:
    """A market from in-memory OHLCV frames by symbol (validated like files; ``funding`` optional)."""
    from riskguard.replay.data import normalize_ohlcv

    series = []
    for symbol in sorted(frames):
        frame = normalize_ohlcv(frames[symbol], f"(frame {symbol})")
        series.append(_series(symbol.upper(), frame, (funding or {}).get(symbol), f"(frame {symbol})"))
    if not series:
        raise DataFileError("(frames)", "symbol", "no frames given")
    return MarketData(tuple(series), synthetic, description)
