"""OHLCV / funding loaders: every format and layout round-trips, real files load, bad files name
the file and the column."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskguard.replay.data import (
    DataFileError,
    funding_arrays,
    load_directory,
    load_funding_rates,
    load_ohlcv,
    normalize_ohlcv,
    parse_series_name,
    to_arrays,
)

SHARED = Path(os.environ.get("RISKGUARD_SHARED_DATA",
                             Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
TESTDATA = SHARED / "freqtrade-testdata"
needs_shared = pytest.mark.skipif(not TESTDATA.is_dir(), reason=f"shared data not found at {TESTDATA}")

MS = [1_700_000_000_000 + i * 3_600_000 for i in range(4)]
ROWS = [
    [MS[0], 100.0, 101.0, 99.0, 100.5, 10.0],
    [MS[1], 100.5, 102.0, 100.0, 101.5, 12.5],
    [MS[2], 101.5, 101.8, 99.5, 100.0, 8.0],
    [MS[3], 100.0, 100.9, 99.9, 100.7, 0.0],
]


def small_frame() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["date", "open", "high", "low", "close", "volume"])
    frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    return frame


def assert_normalised(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert all(frame[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
    assert to_arrays(frame).time_ms.tolist() == MS
    assert frame[["open", "high", "low", "close", "volume"]].to_numpy().tolist() == [r[1:] for r in ROWS]


def test_freqtrade_feather_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-1h-futures.feather"
    small_frame().to_feather(path)
    assert_normalised(load_ohlcv(path))


def test_freqtrade_parquet_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-1h-futures.parquet"
    small_frame().to_parquet(path)
    assert_normalised(load_ohlcv(path))


def test_parquet_with_dates_as_the_index_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "indexed.parquet"
    small_frame().set_index("date").to_parquet(path)
    assert_normalised(load_ohlcv(path))


def test_ccxt_csv_with_millisecond_timestamps_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "btcusdt.csv"
    pd.DataFrame(ROWS, columns=["timestamp", "open", "high", "low", "close", "volume"]).to_csv(path, index=False)
    assert_normalised(load_ohlcv(path))


def test_headerless_ccxt_csv_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "ccxt.csv"
    path.write_text("\n".join(",".join(str(v) for v in row) for row in ROWS) + "\n")
    assert_normalised(load_ohlcv(path))


def test_corrupt_feather_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.feather"
    path.write_bytes(b"not arrow at all")
    with pytest.raises(DataFileError, match="not readable as feather") as info:
        load_ohlcv(path)
    assert info.value.path == str(path)


def test_invalid_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[[1, 2, 3")
    with pytest.raises(DataFileError, match="not readable as JSON"):
        load_ohlcv(path)


def test_csv_with_iso_dates_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "btc.csv"
    small_frame().to_csv(path, index=False)
    assert_normalised(load_ohlcv(path))


def test_freqtrade_json_list_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-1h.json"
    path.write_text(json.dumps(ROWS))
    assert_normalised(load_ohlcv(path))


def test_gzipped_json_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-1h-futures.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump(ROWS, handle)
    assert_normalised(load_ohlcv(path))


def test_json_records_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    keys = ["timestamp", "open", "high", "low", "close", "volume"]
    path.write_text(json.dumps([dict(zip(keys, row, strict=True)) for row in ROWS]))
    assert_normalised(load_ohlcv(path))


def test_epoch_seconds_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "seconds.csv"
    rows = [[r[0] // 1000, *r[1:]] for r in ROWS]
    pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close", "volume"]).to_csv(path, index=False)
    assert_normalised(load_ohlcv(path))


def test_symbol_and_timeframe_come_from_freqtrade_names() -> None:
    name = parse_series_name("data/BTC_USDT_USDT-1h-futures.feather")
    assert (name.symbol, name.timeframe, name.candle_type) == ("BTCUSDT", "1h", "futures")
    assert parse_series_name("ETH_USDT-5m.json.gz").symbol == "ETHUSDT"
    assert parse_series_name("ETH_USDT-5m.json.gz").candle_type == "spot"
    assert parse_series_name("SOL_USDT_USDT-8h-funding_rate.feather").candle_type == "funding_rate"
    assert parse_series_name("prices.csv").symbol is None


def test_loaded_frame_carries_its_origin(tmp_path: Path) -> None:
    path = tmp_path / "SOL_USDT_USDT-1h-futures.feather"
    small_frame().to_feather(path)
    attrs = load_ohlcv(path).attrs
    assert (attrs["symbol"], attrs["timeframe"], attrs["synthetic"]) == ("SOLUSDT", "1h", False)
    assert attrs["source"] == str(path)


def write_bad(tmp_path: Path, column: str, row: int, value: object) -> Path:
    frame = small_frame()
    frame.loc[row, column] = value
    path = tmp_path / "bad.feather"
    frame.to_feather(path)
    return path


def test_nan_price_names_the_file_and_the_column(tmp_path: Path) -> None:
    path = write_bad(tmp_path, "close", 2, np.nan)
    with pytest.raises(DataFileError) as info:
        load_ohlcv(path)
    assert info.value.field == f"{path}:close"
    assert "row 2" in str(info.value)


def test_high_below_low_is_refused(tmp_path: Path) -> None:
    path = write_bad(tmp_path, "high", 1, 99.0)
    with pytest.raises(DataFileError, match="high below low") as info:
        load_ohlcv(path)
    assert info.value.column == "high"


def test_low_above_the_body_is_refused(tmp_path: Path) -> None:
    path = write_bad(tmp_path, "low", 0, 100.2)
    with pytest.raises(DataFileError, match="low above open or close") as info:
        load_ohlcv(path)
    assert info.value.column == "low"


def test_non_monotonic_dates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "unsorted.json"
    path.write_text(json.dumps([ROWS[1], ROWS[0], *ROWS[2:]]))
    with pytest.raises(DataFileError, match="out of order") as info:
        load_ohlcv(path)
    assert info.value.field == f"{path}:date"


def test_duplicate_dates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dupes.json"
    path.write_text(json.dumps([ROWS[0], ROWS[0]]))
    with pytest.raises(DataFileError, match="duplicate"):
        load_ohlcv(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nolow.csv"
    small_frame().drop(columns=["low"]).to_csv(path, index=False)
    with pytest.raises(DataFileError) as info:
        load_ohlcv(path)
    assert info.value.field == f"{path}:low"


def test_missing_date_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nodate.csv"
    small_frame().drop(columns=["date"]).to_csv(path, index=False)
    with pytest.raises(DataFileError) as info:
        load_ohlcv(path)
    assert info.value.column == "date"


def test_non_numeric_price_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    frame = small_frame().astype({"open": object})
    frame.loc[3, "open"] = "n/a"
    frame.to_csv(path, index=False)
    with pytest.raises(DataFileError, match="non-numeric") as info:
        load_ohlcv(path)
    assert info.value.column == "open"


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "candles.xlsx"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match="unknown extension"):
        load_ohlcv(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        load_ohlcv(tmp_path / "absent.feather")


def test_nan_volume_becomes_zero_and_is_counted() -> None:
    frame = small_frame()
    frame.loc[1, "volume"] = np.nan
    out = normalize_ohlcv(frame)
    assert out["volume"].tolist() == [10.0, 0.0, 8.0, 0.0]
    assert out.attrs["volume_filled"] == 1


def test_freqtrade_funding_rates_are_read_from_open_and_floored_to_the_second(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-8h-funding_rate.feather"
    dates = pd.to_datetime([0, 8 * 3_600_000 + 1, 16 * 3_600_000 + 7], unit="ms", utc=True)
    pd.DataFrame({"date": dates, "open": [1e-4, -2e-4, 3e-4], "high": 0.0, "low": 0.0, "close": 0.0,
                  "volume": 0.0}).to_feather(path)
    rates = load_funding_rates(path)
    times, values = funding_arrays(rates)
    assert times.tolist() == [0, 8 * 3_600_000, 16 * 3_600_000]
    assert values.tolist() == [1e-4, -2e-4, 3e-4]
    assert rates.attrs["symbol"] == "BTCUSDT"


def test_ccxt_funding_history_csv_uses_the_funding_rate_column(tmp_path: Path) -> None:
    path = tmp_path / "funding.csv"
    pd.DataFrame({"timestamp": [0, 28_800_000], "symbol": "BTC/USDT:USDT",
                  "fundingRate": [1e-4, 2e-4]}).to_csv(path, index=False)
    assert load_funding_rates(path).tolist() == [1e-4, 2e-4]


def test_nan_funding_rate_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "funding.csv"
    pd.DataFrame({"timestamp": [0, 28_800_000], "fundingRate": [1e-4, None]}).to_csv(path, index=False)
    with pytest.raises(DataFileError) as info:
        load_funding_rates(path)
    assert info.value.field == f"{path}:fundingRate"


@needs_shared
@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL", "BNB"])
def test_real_one_hour_futures_files_load(symbol: str) -> None:
    frame = load_ohlcv(TESTDATA / f"{symbol}_USDT_USDT-1h-futures.feather")
    assert len(frame) == 8870
    assert frame.attrs["symbol"] == f"{symbol}USDT"
    assert frame["date"].iloc[0] == pd.Timestamp("2023-12-01", tz="UTC")
    arrays = to_arrays(frame)
    assert np.all(np.diff(arrays.time_ms) == 3_600_000)


@needs_shared
def test_directory_loading_picks_the_four_hourly_futures_series() -> None:
    frames = load_directory(TESTDATA, "1h", "futures")
    assert sorted(frames) == ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    assert frames["XRPUSDT"].attrs["source"].endswith(".feather")


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such directory"):
        load_directory(tmp_path / "nowhere")


@needs_shared
def test_real_json_gz_matches_the_real_feather() -> None:
    from_json = load_ohlcv(TESTDATA / "XRP_USDT_USDT-1h-futures.json.gz")
    from_feather = load_ohlcv(TESTDATA / "XRP_USDT_USDT-1h-futures.feather")
    pd.testing.assert_frame_equal(from_json, from_feather, check_like=False)


@needs_shared
def test_real_mark_file_with_nan_volume_loads_with_zero_volume() -> None:
    frame = load_ohlcv(TESTDATA / "XRP_USDT_USDT-1h-mark.feather")
    assert frame.attrs["volume_filled"] == len(frame)
    assert frame.attrs["candle_type"] == "mark"


@needs_shared
def test_real_funding_file_lands_on_whole_seconds() -> None:
    rates = load_funding_rates(TESTDATA / "XRP_USDT_USDT-8h-funding_rate.feather")
    times, values = funding_arrays(rates)
    assert len(rates) == 91
    assert np.all(times % 1000 == 0)
    assert values.min() == pytest.approx(-0.002193, abs=1e-6)
