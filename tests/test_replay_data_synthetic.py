"""The synthetic demo sample: labelled as synthetic, deterministic, valid, fast."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from riskguard.replay.data import normalize_ohlcv
from riskguard.replay.synthetic import SYNTHETIC_SOURCE, generate_funding_rates, generate_ohlcv


def test_sample_has_four_symbols_of_a_year_of_hourly_bars() -> None:
    frames = generate_ohlcv()
    assert sorted(frames) == ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"]
    for frame in frames.values():
        assert len(frame) == 24 * 365
        assert (frame["date"].diff().dropna() == pd.Timedelta(hours=1)).all()


def test_every_frame_is_labelled_synthetic() -> None:
    for symbol, frame in generate_ohlcv(bars=48).items():
        assert frame.attrs["synthetic"] is True
        assert frame.attrs["source"] == SYNTHETIC_SOURCE
        assert "not market data" in frame.attrs["source"]
        assert frame.attrs["symbol"] == symbol
    for series in generate_funding_rates(periods=3).values():
        assert series.attrs["synthetic"] is True


def test_same_seed_gives_identical_candles() -> None:
    first, second = generate_ohlcv(seed=11, bars=500), generate_ohlcv(seed=11, bars=500)
    for symbol in first:
        pd.testing.assert_frame_equal(first[symbol], second[symbol])


def test_different_seeds_give_different_candles() -> None:
    assert not generate_ohlcv(seed=1, bars=50)["BTCUSDT"].equals(generate_ohlcv(seed=2, bars=50)["BTCUSDT"])


def test_candles_pass_the_loader_validation() -> None:
    for frame in generate_ohlcv().values():
        normalize_ohlcv(frame)  # raises on NaN, high < low, body outside the range, unsorted dates


def test_price_levels_start_near_the_real_ones() -> None:
    starts = {s: f["open"].iloc[0] for s, f in generate_ohlcv(bars=2).items()}
    assert starts == {"BTCUSDT": 42_000.0, "ETHUSDT": 2_300.0, "SOLUSDT": 100.0, "BNBUSDT": 310.0}


def test_volatility_regimes_and_jumps_give_fat_tails() -> None:
    close = generate_ohlcv()["BTCUSDT"]["close"].to_numpy()
    returns = np.diff(np.log(close))
    excess_kurtosis = ((returns - returns.mean()) ** 4).mean() / returns.var() ** 2 - 3.0
    assert excess_kurtosis > 1.0


def test_a_year_for_four_symbols_takes_under_a_second() -> None:
    started = time.perf_counter()
    generate_ohlcv(seed=5)
    assert time.perf_counter() - started < 1.0
