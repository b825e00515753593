"""Indicators: Wilder ATR identical to TA-Lib on real Binance candles, realized vol, vol ratio."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.math.indicators import (
    atr,
    exponential_smoothing,
    log_returns,
    realized_volatility,
    true_range,
    volatility_ratio,
)
from riskguard.model.errors import InputValidationError

talib = pytest.importorskip("talib", reason="TA-Lib (test-only dependency) is not installed")

DATA = Path(os.environ.get("RISKGUARD_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
CANDLES = DATA / "freqtrade-testdata"
SYMBOLS = ("BTC", "ETH", "SOL", "BNB")


def _candles(symbol: str) -> pd.DataFrame:
    path = CANDLES / f"{symbol}_USDT_USDT-1h-futures.feather"
    if not path.exists():
        pytest.skip(f"shared candle data not found at {path} (set RISKGUARD_SHARED_DATA)")
    return pd.read_feather(path)


def _hlc(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (df["high"].to_numpy(np.float64), df["low"].to_numpy(np.float64), df["close"].to_numpy(np.float64))


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_atr_equals_talib_on_real_1h_candles(symbol: str) -> None:
    high, low, close = _hlc(_candles(symbol))
    ours, ref = atr(high, low, close, 14), talib.ATR(high, low, close, timeperiod=14)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=0.0, equal_nan=True)


@pytest.mark.parametrize("period", [2, 7, 21, 50])
def test_atr_equals_talib_for_other_periods(period: int) -> None:
    high, low, close = _hlc(_candles("BTC"))
    np.testing.assert_allclose(
        atr(high, low, close, period), talib.ATR(high, low, close, timeperiod=period),
        rtol=1e-9, atol=0.0, equal_nan=True)


def test_atr_warm_up_is_nan_for_exactly_period_bars() -> None:
    high, low, close = _hlc(_candles("ETH"))
    out = atr(high, low, close, 14)
    assert np.isnan(out[:14]).all() and np.isfinite(out[14:]).all()


def test_true_range_equals_talib_trange() -> None:
    high, low, close = _hlc(_candles("SOL"))
    np.testing.assert_allclose(true_range(high, low, close), talib.TRANGE(high, low, close),
                               rtol=1e-12, equal_nan=True)


def test_atr_with_fewer_bars_than_period_is_all_nan() -> None:
    assert np.isnan(atr([2.0, 3.0], [1.0, 1.5], [1.5, 2.0], 14)).all()


def test_atr_seed_is_mean_of_first_true_ranges() -> None:
    high, low, close = [10.0, 12.0, 13.0, 11.0], [9.0, 10.0, 11.0, 9.0], [9.5, 11.0, 12.0, 10.0]
    out = atr(high, low, close, 2)
    # TR1 = 12 - 9.5 = 2.5, TR2 = 13 - 11 = 2, TR3 = 12 - 9 = 3
    assert out[2] == pytest.approx((2.5 + 2.0) / 2, rel=1e-15)
    assert out[3] == pytest.approx((2.25 * 1 + 3.0) / 2, rel=1e-15)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 1e5), st.floats(0, 0.2), st.floats(0, 1)), min_size=3, max_size=60),
       st.integers(1, 20))
def test_atr_matches_talib_on_random_bars(bars: list[tuple[float, float, float]], period: int) -> None:
    low = np.array([b[0] for b in bars])
    high = low * (1 + np.array([b[1] for b in bars]))
    close = low + (high - low) * np.array([b[2] for b in bars])
    np.testing.assert_allclose(atr(high, low, close, period), talib.ATR(high, low, close, timeperiod=period),
                               rtol=1e-9, atol=1e-12, equal_nan=True)


def test_atr_refuses_nan_input_naming_the_field() -> None:
    with pytest.raises(InputValidationError) as err:
        atr([1.0, 2.0], [0.5, float("nan")], [0.7, 1.5])
    assert err.value.field == "low"


def test_atr_refuses_high_below_low() -> None:
    with pytest.raises(InputValidationError, match="high"):
        atr([1.0, 1.0], [2.0, 0.5], [1.5, 0.7])


def test_atr_refuses_mismatched_lengths() -> None:
    with pytest.raises(InputValidationError):
        atr([1.0, 2.0], [0.5], [0.7, 1.5])


def test_atr_refuses_zero_period() -> None:
    with pytest.raises(InputValidationError) as err:
        atr([1.0, 2.0], [0.5, 1.0], [0.7, 1.5], period=0)
    assert err.value.field == "period"


def test_realized_volatility_equals_pandas_rolling_std_of_log_returns() -> None:
    close = _candles("BTC")["close"].to_numpy(np.float64)
    ref = pd.Series(np.log(close)).diff().rolling(24).std(ddof=1).to_numpy()
    np.testing.assert_allclose(realized_volatility(close, 24), ref, rtol=1e-9, equal_nan=True)


def test_realized_volatility_annualises_by_sqrt_of_periods_per_year() -> None:
    close = _candles("ETH")["close"].to_numpy(np.float64)
    np.testing.assert_allclose(realized_volatility(close, 48, periods_per_year=8760),
                               realized_volatility(close, 48) * np.sqrt(8760), rtol=1e-12, equal_nan=True)


def test_realized_volatility_warm_up_is_window_bars() -> None:
    out = realized_volatility(np.linspace(100, 110, 30), 10)
    assert np.isnan(out[:10]).all() and np.isfinite(out[10:]).all()


def test_log_returns_refuse_non_positive_prices() -> None:
    with pytest.raises(InputValidationError, match="close"):
        log_returns([100.0, 0.0, 101.0])


def test_volatility_ratio_spikes_above_1_5_in_the_2024_08_05_btc_crash() -> None:
    df = _candles("BTC")
    ratio = volatility_ratio(df["close"].to_numpy(np.float64), 24, 720)
    crash_day = ((df["date"] >= "2024-08-05") & (df["date"] < "2024-08-06")).to_numpy()
    assert np.nanmax(ratio[crash_day]) > 1.5


def test_volatility_ratio_is_about_one_on_a_typical_day() -> None:
    ratio = volatility_ratio(_candles("BTC")["close"].to_numpy(np.float64), 24, 720)
    assert 0.5 < float(np.nanmedian(ratio)) < 1.5


def test_volatility_ratio_is_nan_until_the_long_window_is_filled() -> None:
    ratio = volatility_ratio(_candles("SOL")["close"].to_numpy(np.float64), 24, 720)
    assert np.isnan(ratio[:720]).all() and np.isfinite(ratio[720:]).all()


def test_volatility_ratio_refuses_short_window_not_below_long() -> None:
    with pytest.raises(InputValidationError) as err:
        volatility_ratio(np.linspace(1, 2, 100), 30, 30)
    assert err.value.field == "short_window"


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=300),
    alpha=st.floats(min_value=1e-4, max_value=1.0),
    previous=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
def test_exponential_smoothing_is_bit_identical_to_scipy_lfilter(values: list[float], alpha: float,
                                                                  previous: float) -> None:
    from scipy.signal import lfilter

    x = np.array(values, dtype=np.float64)
    expected, _ = lfilter([alpha], [1.0, alpha - 1.0], x, zi=np.array([(1.0 - alpha) * previous]))
    got = exponential_smoothing(x, alpha, previous)
    assert got.tobytes() == np.asarray(expected, dtype=np.float64).tobytes()


def test_atr_and_the_replay_import_no_scipy() -> None:
    import subprocess
    import sys

    code = ("import sys, numpy as np; from riskguard.math.indicators import atr; "
            "from riskguard.replay.strategies import ema; from riskguard.policy.regime import regime_features; "
            "x = np.linspace(100.0, 120.0, 200); atr(x + 1, x - 1, x, 14); ema(x, 20); "
            "print('scipy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
