"""OHLCV and funding-rate loading for the replay: CSV, Parquet, Feather and JSON(.gz) in freqtrade
and ccxt layouts, validated, normalised to one frame layout.

Normalised OHLCV frame: a RangeIndex and the columns ``date`` (datetime64[ns, UTC], candle open
time), ``open``, ``high``, ``low``, ``close``, ``volume`` (float64), sorted, unique. ``attrs``
carries ``source`` (the path), ``symbol``, ``timeframe``, ``candle_type`` and ``synthetic``
(False). Every error names the file and the column.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskguard.model.errors import InputValidationError

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV_COLUMNS = ("date", *PRICE_COLUMNS, "volume")
_DATE_ALIASES = ("date", "timestamp", "time", "datetime", "open_time")
_RATE_ALIASES = ("fundingrate", "funding_rate", "rate")
_SECONDS_BELOW = 10**11
"""Numeric timestamps below this are epoch seconds (10**11 s is the year 5138, 10**11 ms is 1973)."""

_FREQTRADE_NAME = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)(?:_(?P<settle>[A-Za-z0-9]+))?"
    r"-(?P<timeframe>\d+[smhdwM])(?:-(?P<candle_type>[A-Za-z_]+))?$")


class DataFileError(InputValidationError):
    """A data file that cannot be used. ``field`` is ``<path>:<column>``."""

    def __init__(self, path: Path | str, column: str, message: str, value: object = None) -> None:
        self.path = str(path)
        self.column = column
        super().__init__(f"{path}:{column}", message, value)


@dataclass(frozen=True, slots=True)
class SeriesName:
    """What a freqtrade file name says: ``BTC_USDT_USDT-1h-futures.feather`` -> BTCUSDT, 1h, futures."""

    symbol: str | None
    timeframe: str | None
    candle_type: str | None


@dataclass(frozen=True, slots=True)
class OhlcvArrays:
    """Contiguous NumPy columns for the replay loop: open time (epoch ms) and float64 OHLCV."""

    time_ms: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".json.gz", ".jsongz", ".feather", ".parquet", ".csv.gz", ".csv", ".json"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def parse_series_name(path: Path | str) -> SeriesName:
    """Symbol, timeframe and candle type from a freqtrade file name (None where the name says nothing)."""
    match = _FREQTRADE_NAME.match(_stem(Path(path)))
    if match is None:
        return SeriesName(None, None, None)
    candle_type = match["candle_type"] or "spot"
    return SeriesName((match["base"] + match["quote"]).upper(), match["timeframe"], candle_type)


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".json.gz", ".jsongz", ".json")):
        return "json"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".feather"):
        return "feather"
    if name.endswith(".parquet"):
        return "parquet"
    raise DataFileError(path, "(file)", "unknown extension; use .csv, .parquet, .feather, .json or .json.gz")


def _read_json(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    opener: Any = gzip.open if path.name.lower().endswith(("gz",)) else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DataFileError(path, "(file)", f"not readable as JSON: {exc}") from exc
    if isinstance(data, dict):
        return pd.DataFrame(data)  # column-oriented {"date": [...], "open": [...]}
    if not isinstance(data, list) or not data:
        raise DataFileError(path, "(file)", "must be a non-empty list of candles")
    first = data[0]
    if isinstance(first, dict):
        return pd.DataFrame.from_records(data)
    if isinstance(first, list | tuple):
        width = len(first)
        if width < len(columns) or any(len(row) != width for row in data):
            raise DataFileError(path, "(row)", f"every row must be a list of {len(columns)} values", first)
        return pd.DataFrame([row[: len(columns)] for row in data], columns=list(columns))
    raise DataFileError(path, "(row)", "rows must be lists [ms, ...] or objects", first)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_raw(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DataFileError(path, "(file)", "no such file")
    fmt = _format_of(path)
    if fmt == "json":
        return _read_json(path, columns)
    try:
        if fmt == "csv":
            frame = pd.read_csv(path)
            if all(_is_number(str(c)) for c in frame.columns):
                # ccxt rows written without a header: [ms, open, high, low, close, volume]
                frame = pd.read_csv(path, header=None, names=list(columns[: len(frame.columns)]))
        elif fmt == "feather":
            frame = pd.read_feather(path)
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow / parser errors have no common base class
        raise DataFileError(path, "(file)", f"not readable as {fmt}: {exc}") from exc
    if frame.index.name is not None and str(frame.index.name).lower() in _DATE_ALIASES:
        frame = frame.reset_index()  # a frame saved with its dates as the index
    return frame


def _date_column(path: Path, frame: pd.DataFrame) -> str:
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    for alias in _DATE_ALIASES:
        if alias in lowered:
            return lowered[alias]
    raise DataFileError(path, "date", f"missing; expected one of {list(_DATE_ALIASES)}",
                        list(frame.columns))


def _require_ohlcv_columns(path: Path, frame: pd.DataFrame) -> None:
    """Refuse a frame that is not OHLCV at all, naming every missing column at once."""
    lowered = {str(c).lower() for c in frame.columns}
    missing = [] if lowered & set(_DATE_ALIASES) else ["/".join(_DATE_ALIASES)]
    missing += [c for c in PRICE_COLUMNS if c not in lowered]
    if missing:
        # One missing column is that column's error (``file:low``); several name the file's columns.
        field = ("date" if "/" in missing[0] else missing[0]) if len(missing) == 1 else "(columns)"
        raise DataFileError(path, field, f"not OHLCV: missing column(s) {', '.join(missing)}",
                            [str(c) for c in frame.columns])


def _to_utc(path: Path, column: str, values: pd.Series[Any]) -> pd.Series[Any]:
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataFileError(path, column, f"missing timestamp at row {row}")
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = pd.to_datetime(values, utc=True)
    elif pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        unit: Literal["s", "ms"] = "s" if float(numbers.abs().max()) < _SECONDS_BELOW else "ms"
        dates = pd.Series(pd.to_datetime(numbers.round().to_numpy(dtype=np.int64), unit=unit, utc=True))
    else:
        try:
            dates = pd.to_datetime(values, utc=True)
        except (ValueError, TypeError) as exc:
            raise DataFileError(path, column, f"not parseable as dates: {exc}") from exc
    return dates.astype("datetime64[ns, UTC]")


def _check_dates(path: Path, column: str, dates: pd.Series[Any]) -> None:
    stamps = dates.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    steps = np.diff(stamps)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        row = int(bad[0]) + 1
        what = "duplicate" if steps[bad[0]] == 0 else "out of order"
        raise DataFileError(path, column, f"dates must increase strictly; row {row} is {what}",
                            str(dates.iloc[row]))


def _numeric(path: Path, frame: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    if column not in lowered:
        raise DataFileError(path, column, "missing column", list(frame.columns))
    values = pd.to_numeric(frame[lowered[column]], errors="coerce").to_numpy(dtype=np.float64)
    return values


def _first_row(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _validate_prices(path: Path, dates: pd.Series[Any], cols: dict[str, npt.NDArray[np.float64]]) -> None:
    for name in PRICE_COLUMNS:
        values = cols[name]
        bad = ~np.isfinite(values)
        if bad.any():
            row = _first_row(bad)
            raise DataFileError(
                path, name, f"NaN, infinite or non-numeric price at row {row} ({dates.iloc[row]})",
                values[row])
        if (values <= 0).any():
            row = _first_row(values <= 0)
            raise DataFileError(path, name, f"price must be > 0; row {row} ({dates.iloc[row]})", values[row])
    op, hi, lo, cl = (cols[n] for n in PRICE_COLUMNS)
    checks = (
        ("high", hi < lo, "high below low"),
        ("high", hi < np.maximum(op, cl), "high below open or close"),
        ("low", lo > np.minimum(op, cl), "low above open or close"),
    )
    for name, mask, message in checks:
        if mask.any():
            row = _first_row(mask)
            raise DataFileError(path, name, f"{message} at row {row} ({dates.iloc[row]})", cols[name][row])
    volume = cols["volume"]
    if (volume[np.isfinite(volume)] < 0).any():
        row = _first_row(volume < 0)
        raise DataFileError(path, "volume", f"negative volume at row {row} ({dates.iloc[row]})", volume[row])


def normalize_ohlcv(frame: pd.DataFrame, source: Path | str = "(frame)") -> pd.DataFrame:
    """Validate and normalise an in-memory OHLCV frame (same rules and errors as the file loaders).

    A missing ``volume`` column or NaN volumes (freqtrade mark files) become 0.0; the count of
    filled volumes is kept in ``attrs["volume_filled"]``. NaN prices are errors.
    """
    path = Path(str(source))
    if frame.empty:
        raise DataFileError(path, "(file)", "no rows")
    _require_ohlcv_columns(path, frame)
    date_col = _date_column(path, frame)
    dates = _to_utc(path, date_col, frame[date_col]).reset_index(drop=True)
    _check_dates(path, "date", dates)
    cols = {name: _numeric(path, frame, name) for name in PRICE_COLUMNS}
    lowered = {str(c).lower() for c in frame.columns}
    volume = _numeric(path, frame, "volume") if "volume" in lowered else np.zeros(len(frame))
    cols["volume"] = volume
    _validate_prices(path, dates, cols)
    missing_volume = ~np.isfinite(volume)
    filled = int(missing_volume.sum())
    if filled:
        volume = np.where(missing_volume, 0.0, volume)
    out = pd.DataFrame({"date": dates, **{n: cols[n] for n in PRICE_COLUMNS}, "volume": volume})
    out.attrs["volume_filled"] = filled
    return out


def load_ohlcv(path: Path | str) -> pd.DataFrame:
    """Load one OHLCV file (CSV, Parquet, Feather, JSON, JSON.gz; freqtrade or ccxt layout).

    Accepted layouts: columns date/timestamp + open/high/low/close/volume (timestamps as UTC dates,
    ISO strings, epoch ms or epoch s), or JSON lists ``[[ms, o, h, l, c, v], ...]``. Raises
    DataFileError naming the file and the column on anything invalid.
    """
    file = Path(path)
    frame = normalize_ohlcv(_read_raw(file, OHLCV_COLUMNS), file)
    name = parse_series_name(file)
    frame.attrs.update(source=str(file), symbol=name.symbol, timeframe=name.timeframe,
                       candle_type=name.candle_type, synthetic=False)
    return frame


def load_funding_rates(path: Path | str) -> pd.Series[float]:
    """Load a funding-rate history: rate per funding interval (fraction, 0.0001 = 0.01 % per 8 h)
    indexed by UTC funding time floored to the second (freqtrade stamps are a few ms late).

    Layouts: freqtrade ``-funding_rate`` files (rate in the ``open`` column) and ccxt funding
    histories (``timestamp`` + ``fundingRate``, as CSV or JSON records).
    """
    file = Path(path)
    frame = _read_raw(file, ("date", "open", "high", "low", "close", "volume"))
    if frame.empty:
        raise DataFileError(file, "(file)", "no rows")
    date_col = _date_column(file, frame)
    dates = _to_utc(file, date_col, frame[date_col]).dt.floor("s").reset_index(drop=True)
    _check_dates(file, "date", dates)
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    rate_col = next((lowered[a] for a in _RATE_ALIASES if a in lowered), None)
    column = rate_col if rate_col is not None else "open"
    rates = _numeric(file, frame, column.lower())
    bad = ~np.isfinite(rates)
    if bad.any():
        row = _first_row(bad)
        raise DataFileError(
            file, column, f"NaN or non-numeric rate at row {row} ({dates.iloc[row]})", rates[row])
    series = pd.Series(rates, index=pd.DatetimeIndex(dates, name="date"), name="funding_rate")
    name = parse_series_name(file)
    series.attrs.update(source=str(file), symbol=name.symbol, timeframe=name.timeframe, synthetic=False)
    return series


def load_directory(
    directory: Path | str, timeframe: str = "1h", candle_type: str = "futures"
) -> dict[str, pd.DataFrame]:
    """Every freqtrade-named OHLCV file of ``timeframe`` and ``candle_type`` in ``directory``, by
    symbol (``BTC_USDT_USDT-1h-futures.feather`` -> ``"BTCUSDT"``). When a symbol has several
    formats, Feather wins over Parquet, then JSON.gz, JSON and CSV (the freqtrade default first)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise DataFileError(folder, "(directory)", "no such directory")
    preference = (".feather", ".parquet", ".json.gz", ".jsongz", ".json", ".csv")
    chosen: dict[str, tuple[int, Path]] = {}
    for path in sorted(folder.iterdir()):
        name = parse_series_name(path)
        rank = next((i for i, ext in enumerate(preference) if path.name.lower().endswith(ext)), None)
        if name.symbol is None or rank is None or name.timeframe != timeframe or name.candle_type != candle_type:
            continue
        if name.symbol not in chosen or rank < chosen[name.symbol][0]:
            chosen[name.symbol] = (rank, path)
    return {symbol: load_ohlcv(path) for symbol, (_, path) in sorted(chosen.items())}


def to_arrays(frame: pd.DataFrame) -> OhlcvArrays:
    """Zero-copy where possible: the normalised frame's columns as contiguous NumPy arrays."""
    dates = frame["date"]
    time_ms = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[ms]").astype(np.int64)

    def column(name: str) -> npt.NDArray[np.float64]:
        return np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))

    return OhlcvArrays(np.ascontiguousarray(time_ms), column("open"), column("high"), column("low"),
                       column("close"), column("volume"))


def funding_arrays(rates: pd.Series[float]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Funding times (epoch ms) and rates as NumPy arrays, for riskguard.exits.trade_cashflows."""
    index = pd.DatetimeIndex(rates.index)
    times = index.tz_convert("UTC").as_unit("ms").asi8 if index.tz is not None else index.as_unit("ms").asi8
    return np.ascontiguousarray(times, dtype=np.int64), np.ascontiguousarray(rates.to_numpy(dtype=np.float64))
