"""Regime detection: rules on synthetic candles, no look-ahead, and the real 2024 candles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.config.policy_schema import RegimeDetectionSection
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError
from riskguard.policy.regime import current_regime, detect_regimes, regime_features, warmup_bars

# Short lookbacks keep the synthetic series small; the real-data tests use the posture defaults.
SMALL = RegimeDetectionSection(atr_period=5, vol_baseline_period=60, ema_fast=5, ema_slow=20,
                               slope_lookback=5, efficiency_window=20)


def _shared_data() -> Path:
    env = os.environ.get("RISKGUARD_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _candles(close: np.ndarray, spread: np.ndarray | float = 0.002) -> pd.DataFrame:
    """Candles around a close path; ``spread`` is the high-low half range as a fraction of close."""
    high = close * (1.0 + spread)
    low = close * (1.0 - spread)
    dates = pd.date_range("2024-01-01", periods=close.size, freq="1h", tz="UTC")
    return pd.DataFrame({"date": dates, "open": close, "high": high, "low": low, "close": close,
                         "volume": 1.0})


def _noise_path(n: int, seed: int, step: float = 0.002, drift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(drift, step, n)))


def _real(symbol: str) -> pd.DataFrame:
    path = _shared_data() / "freqtrade-testdata" / f"{symbol}_USDT_USDT-1h-futures.feather"
    if not path.exists():
        pytest.skip(f"shared candles not found at {path} (set RISKGUARD_SHARED_DATA)")
    return pd.read_feather(path)


def test_warmup_bars_are_unlabelled_and_later_bars_are_regimes() -> None:
    labels = detect_regimes(_candles(_noise_path(300, 1)), SMALL)
    warm = warmup_bars(SMALL)
    assert labels.iloc[:warm].isna().all()
    assert all(isinstance(label, Regime) for label in labels.iloc[warm:])


def test_empty_frame_gives_no_labels() -> None:
    assert detect_regimes(pd.DataFrame({"high": [], "low": [], "close": []}), SMALL).empty


def test_labels_are_aligned_with_the_frame_index() -> None:
    df = _candles(_noise_path(200, 2)).set_index("date", drop=False)
    labels = detect_regimes(df, SMALL)
    assert labels.index.equals(df.index)


def test_steady_uptrend_reads_bull() -> None:
    close = _noise_path(300, 3, step=0.001, drift=0.003)
    assert current_regime(_candles(close), SMALL) is Regime.BULL


def test_steady_downtrend_reads_bear() -> None:
    close = _noise_path(300, 4, step=0.001, drift=-0.003)
    assert current_regime(_candles(close), SMALL) is Regime.BEAR


def test_volatility_burst_reads_high_vol_even_inside_a_trend() -> None:
    close = _noise_path(300, 5, step=0.001, drift=0.003)
    spread = np.full(close.size, 0.002)
    spread[-10:] = 0.03  # ranges 15x wider than the baseline for the last ten bars
    assert current_regime(_candles(close, spread), SMALL) is Regime.HIGH_VOL


def test_mean_reverting_noise_reads_chop() -> None:
    rng = np.random.default_rng(6)
    close = 100.0 * (1.0 + 0.01 * np.sign(rng.normal(size=300)) * (np.arange(300) % 2 * 2 - 1))
    assert current_regime(_candles(close, 0.012), SMALL) is Regime.CHOP


def _quiet_after_busy() -> pd.DataFrame:
    """A busy random walk, then 60 bars of a tiny oscillation with ranges 20x narrower."""
    close = _noise_path(300, 7, step=0.004)
    close[240:] = close[239] * (1.0 + 0.0001 * np.sin(np.arange(60)))
    spread = np.concatenate((np.full(240, 0.01), np.full(60, 0.0005)))
    return _candles(close, spread)


def test_quiet_range_after_a_busy_market_reads_low_vol_not_chop() -> None:
    assert current_regime(_quiet_after_busy(), SMALL) is Regime.LOW_VOL


def test_with_low_vol_detection_off_a_quiet_range_reads_chop() -> None:
    off = RegimeDetectionSection(**{**SMALL.model_dump(), "detect_low_vol": False})
    assert current_regime(_quiet_after_busy(), off) is Regime.CHOP


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(0, 299))
def test_label_at_bar_t_uses_bars_up_to_t_only(seed: int, cut: int) -> None:
    df = _candles(_noise_path(300, seed, step=0.004, drift=0.0005 * np.sin(seed)))
    full = detect_regimes(df, SMALL)
    prefix = detect_regimes(df.iloc[: cut + 1], SMALL)
    assert prefix.iloc[-1] == full.iloc[cut] or (prefix.iloc[-1] is None and full.iloc[cut] is None)


def test_changing_future_bars_leaves_past_labels_unchanged() -> None:
    df = _candles(_noise_path(300, 8, step=0.004))
    shocked = df.copy()
    shocked.loc[250:, ["high", "low", "close"]] *= 3.0
    assert detect_regimes(shocked, SMALL).iloc[:250].equals(detect_regimes(df, SMALL).iloc[:250])


def test_current_regime_equals_last_label_of_detect_regimes() -> None:
    df = _candles(_noise_path(300, 9, step=0.003))
    assert current_regime(df, SMALL) == detect_regimes(df, SMALL).iloc[-1]


def test_current_regime_refuses_a_frame_shorter_than_the_warmup() -> None:
    df = _candles(_noise_path(warmup_bars(SMALL), 10))
    with pytest.raises(InputValidationError) as err:
        current_regime(df, SMALL)
    assert err.value.field == "df"


def test_missing_ohlcv_column_is_named() -> None:
    df = _candles(_noise_path(100, 11)).drop(columns=["low"])
    with pytest.raises(InputValidationError, match="low"):
        detect_regimes(df, SMALL)


def test_nan_close_is_refused_not_propagated() -> None:
    df = _candles(_noise_path(100, 12))
    df.loc[50, "close"] = np.nan
    with pytest.raises(InputValidationError):
        detect_regimes(df, SMALL)


def test_non_positive_price_is_refused() -> None:
    df = _candles(_noise_path(100, 13))
    df.loc[40, "close"] = 0.0
    with pytest.raises(InputValidationError) as err:
        detect_regimes(df, SMALL)
    assert err.value.field == "close"


def test_frozen_price_has_undefined_features_not_a_guess() -> None:
    df = _candles(np.full(200, 100.0), 0.0)
    assert detect_regimes(df, SMALL).isna().all()


def test_features_are_nan_during_warmup() -> None:
    features = regime_features(_candles(_noise_path(200, 14)), SMALL)
    warm = warmup_bars(SMALL)
    for values in (features.vol_ratio, features.trend_gap, features.trend_slope, features.efficiency):
        assert np.isnan(values[:warm]).all() and np.isfinite(values[warm:]).all()


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_crash_of_5_august_2024_reads_high_vol(symbol: str) -> None:
    df = _real(symbol)
    labels = detect_regimes(df, RegimeDetectionSection())
    day = labels[(df["date"] >= "2024-08-05") & (df["date"] < "2024-08-06")]
    assert len(day) == 24
    # The sell-off accelerated overnight (UTC); from 03:00 every bar of the day must read HIGH_VOL.
    assert (day.iloc[3:] == Regime.HIGH_VOL).all()


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_current_regime_on_5_august_2024_noon_is_high_vol(symbol: str) -> None:
    df = _real(symbol)
    assert current_regime(df[df["date"] <= "2024-08-05 12:00"], RegimeDetectionSection()) is Regime.HIGH_VOL


def test_btc_february_2024_rally_reads_mostly_bull() -> None:
    df = _real("BTC")
    labels = detect_regimes(df, RegimeDetectionSection())
    feb = labels[(df["date"] >= "2024-02-01") & (df["date"] < "2024-03-01")]
    assert (feb == Regime.BULL).mean() > 0.5
    assert (feb == Regime.BEAR).mean() < 0.05


def test_btc_june_2024_decline_reads_mostly_bear() -> None:
    df = _real("BTC")
    labels = detect_regimes(df, RegimeDetectionSection())
    june = labels[(df["date"] >= "2024-06-01") & (df["date"] < "2024-07-01")]
    assert (june == Regime.BEAR).mean() > 0.5
