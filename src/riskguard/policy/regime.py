"""Market regime detection from OHLCV candles (rules and thresholds: docs/regime.md).

Every feature is causal (EMAs, Wilder ATRs, trailing windows), so the label of bar t depends on
bars 0..t only: labelling a prefix of a frame gives the same labels as labelling the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from riskguard.config.policy_schema import RegimeDetectionSection
from riskguard.math.indicators import atr, exponential_smoothing
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]

REQUIRED_COLUMNS = ("high", "low", "close")

# Integer codes of the vectorised labelling; _LABELS maps them back. Warm-up bars get _WARMUP.
_WARMUP, _HIGH_VOL, _BEAR, _BULL, _LOW_VOL, _CHOP, _NORMAL = range(7)
_LABELS = np.array([None, Regime.HIGH_VOL, Regime.BEAR, Regime.BULL, Regime.LOW_VOL, Regime.CHOP,
                    Regime.NORMAL], dtype=object)


@dataclass(frozen=True, slots=True)
class RegimeFeatures:
    """Per-bar features behind the labels, aligned with the input frame; NaN during warm-up.

    ``vol_ratio`` is ATR(atr_period) / ATR(vol_baseline_period) (dimensionless), ``trend_gap`` is
    (EMA fast - EMA slow) in ATRs, ``trend_slope`` the slow EMA's change over ``slope_lookback``
    bars in ATRs, ``efficiency`` Kaufman's efficiency ratio in [0, 1].
    """

    vol_ratio: FloatArray
    trend_gap: FloatArray
    trend_slope: FloatArray
    efficiency: FloatArray


def warmup_bars(cfg: RegimeDetectionSection) -> int:
    """Bars before the first label: the longest lookback of any feature."""
    return max(cfg.vol_baseline_period, cfg.ema_slow + cfg.slope_lookback, cfg.efficiency_window,
               cfg.atr_period)


def _columns(df: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
    import pandas as pd  # here: pandas costs ~0.3 s of start-up to every CLI command

    if not isinstance(df, pd.DataFrame):
        raise InputValidationError("df", "must be a pandas DataFrame with high, low, close columns", type(df))
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputValidationError("df", f"missing OHLCV column(s) {', '.join(missing)}", list(df.columns))
    high, low, close = (df[c].to_numpy(dtype=np.float64) for c in REQUIRED_COLUMNS)
    if np.any(close <= 0.0):
        raise InputValidationError("close", "prices must be > 0", float(np.nanmin(close)))
    return high, low, close


def _ema(values: FloatArray, span: int) -> FloatArray:
    """EMA with alpha = 2 / (span + 1), seeded with the first value (pandas ``adjust=False``)."""
    smoothed = exponential_smoothing(values[1:], 2.0 / (span + 1.0), float(values[0]))
    return np.concatenate((values[:1], smoothed))


def _lagged_change(values: FloatArray, lag: int) -> FloatArray:
    out = np.full(values.size, np.nan)
    if values.size > lag:
        out[lag:] = values[lag:] - values[:-lag]
    return out


def _efficiency_ratio(close: FloatArray, window: int) -> FloatArray:
    """|net move| / path length over ``window`` bars; a flat window (zero path) counts as pure chop."""
    out = np.full(close.size, np.nan)
    if close.size > window:
        path = np.concatenate(([0.0], np.cumsum(np.abs(np.diff(close)))))
        travelled = path[window:] - path[:-window]
        net = np.abs(close[window:] - close[:-window])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[window:] = np.where(travelled > 0.0, net / travelled, 0.0)
    return out


def regime_features(df: pd.DataFrame, cfg: RegimeDetectionSection) -> RegimeFeatures:
    """The detector's features for every bar of ``df`` (columns high, low, close; oldest first)."""
    high, low, close = _columns(df)
    if close.size == 0:
        empty = np.empty(0)
        return RegimeFeatures(empty, empty, empty, empty)
    current_atr = atr(high, low, close, cfg.atr_period)
    baseline_atr = atr(high, low, close, cfg.vol_baseline_period)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A zero ATR (a frozen price) makes ratios undefined: NaN, which labels as warm-up, never a guess.
        unit = np.where(current_atr > 0.0, current_atr, np.nan)
        vol_ratio = np.where(baseline_atr > 0.0, current_atr / baseline_atr, np.nan)
        slow = _ema(close, cfg.ema_slow)
        trend_gap = (_ema(close, cfg.ema_fast) - slow) / unit
        trend_slope = _lagged_change(slow, cfg.slope_lookback) / unit
    efficiency = _efficiency_ratio(close, cfg.efficiency_window)
    warm = min(warmup_bars(cfg), close.size)
    for feature in (vol_ratio, trend_gap, trend_slope, efficiency):
        feature[:warm] = np.nan
    return RegimeFeatures(vol_ratio, trend_gap, trend_slope, efficiency)


def _codes(features: RegimeFeatures, cfg: RegimeDetectionSection) -> npt.NDArray[np.int64]:
    f = features
    no_low_vol = np.zeros(f.vol_ratio.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        conditions = [
            f.vol_ratio >= cfg.high_vol_ratio,
            (f.trend_gap <= -cfg.trend_gap_atr) & (f.trend_slope <= -cfg.trend_slope_atr),
            (f.trend_gap >= cfg.trend_gap_atr) & (f.trend_slope >= cfg.trend_slope_atr),
            (f.vol_ratio <= cfg.low_vol_ratio) if cfg.detect_low_vol else no_low_vol,
            f.efficiency < cfg.chop_efficiency_max,
        ]
    # First match wins: HIGH_VOL, BEAR, BULL, LOW_VOL, CHOP, else NORMAL (docs/regime.md).
    codes = np.select(conditions, [_HIGH_VOL, _BEAR, _BULL, _LOW_VOL, _CHOP], default=_NORMAL)
    unknown = np.isnan(f.vol_ratio) | np.isnan(f.trend_gap) | np.isnan(f.trend_slope) | np.isnan(f.efficiency)
    codes[unknown] = _WARMUP
    return np.asarray(codes, dtype=np.int64)


def detect_regimes(df: pd.DataFrame, cfg: RegimeDetectionSection) -> pd.Series:
    """The regime of every bar of ``df``, as a Series of ``Regime`` aligned with ``df.index``.

    Bars in the warm-up (the first ``warmup_bars(cfg)`` bars) or with undefined features hold None.
    The label at bar t uses bars 0..t only (no look-ahead).
    """
    import pandas as pd

    codes = _codes(regime_features(df, cfg), cfg)
    return pd.Series(_LABELS[codes], index=df.index, dtype=object, name="regime")


def current_regime(df: pd.DataFrame, cfg: RegimeDetectionSection) -> Regime:
    """The regime of the last bar of ``df``.

    Raises InputValidationError (field ``df``) when the frame is too short to label its last bar:
    an unknown regime must fail closed upstream, not default to NORMAL.
    """
    needed = warmup_bars(cfg) + 1
    if len(df) < needed:
        raise InputValidationError("df", f"needs at least {needed} bars to label the last one", len(df))
    codes = _codes(regime_features(df, cfg), cfg)
    label = _LABELS[codes[-1]]
    if label is None:
        raise InputValidationError("df", "the last bar has undefined features (zero volatility)", len(df))
    assert isinstance(label, Regime)
    return label
