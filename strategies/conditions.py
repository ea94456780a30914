"""Entry conditions shared by the single-rule strategies and by ``Confluence``, and their params.

Each function is vectorised over a whole candle frame (see :mod:`strategies.base` for its shape),
looks only backwards, and returns a float Series (NaN where undefined) or a bool Series (False
where undefined). Indicators come from ``ta``; ATR from :mod:`strategies.indicators`. A zero
volume mean, a zero ATR or a missing reference candle gives NaN, never inf, so never a signal.

:func:`shared_field` is the single declaration (bounds, description) of every parameter that
several strategies use, so a parameter means the same thing in every params model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from ta.momentum import RSIIndicator
from ta.trend import EMAIndicator, SMAIndicator
from ta.volatility import BollingerBands, DonchianChannel

from daybreak.core.timeframes import timeframe_ms
from strategies.base import crossed_above, safe_ratio
from strategies.indicators import average_true_range
from strategies.memo import memoized

_SHARED: dict[str, dict[str, Any]] = {
    "ema_fast": dict(
        ge=2, le=500, json_schema_extra={"search": {"low": 3, "high": 50}}, description="Fast EMA span, candles"
    ),
    "ema_slow": dict(
        ge=3,
        le=2000,
        json_schema_extra={"search": {"low": 10, "high": 200}},
        description="Slow EMA span, candles (greater than ema_fast)",
    ),
    "volume_window": dict(
        ge=2,
        le=1000,
        json_schema_extra={"search": {"low": 5, "high": 100}},
        description="Candles before the current one whose mean volume is the baseline",
    ),
    "volume_mult": dict(
        gt=0,
        le=100,
        json_schema_extra={"search": {"low": 1.0, "high": 10.0}},
        description="Volume surge: current volume at least this multiple of the baseline mean",
    ),
    "bb_window": dict(
        ge=2,
        le=500,
        json_schema_extra={"search": {"low": 10, "high": 100}},
        description="Bollinger Bands window (SMA and standard deviation), candles",
    ),
    "bb_std": dict(
        gt=0,
        le=10,
        json_schema_extra={"search": {"low": 1.0, "high": 4.0}},
        description="Bollinger Bands half-width, standard deviations",
    ),
    "squeeze_lookback": dict(
        ge=10,
        le=5000,
        json_schema_extra={"search": {"low": 30, "high": 1000}},
        description="Candles over which the band width is ranked for the squeeze",
    ),
    "squeeze_quantile": dict(
        gt=0,
        lt=1,
        json_schema_extra={"search": {"low": 0.05, "high": 0.5}},
        description="Squeeze: band width at or below this quantile of its lookback (fraction)",
    ),
    "squeeze_memory": dict(
        ge=1,
        le=500,
        json_schema_extra={"search": {"low": 1, "high": 50}},
        description="A squeeze counts for this many candles after it was seen",
    ),
    "breakout_window": dict(
        ge=1,
        le=2000,
        json_schema_extra={"search": {"low": 5, "high": 200}},
        description="Breakout: close above the highest high of this many previous candles",
    ),
    "rsi_period": dict(
        ge=2,
        le=200,
        json_schema_extra={"search": {"low": 5, "high": 50}},
        description="RSI window (Wilder smoothing), candles",
    ),
    "rsi_oversold": dict(
        gt=0,
        lt=100,
        json_schema_extra={"search": {"low": 10.0, "high": 45.0}},
        description="RSI oversold level; a cross back above it is a rebound",
    ),
    "atr_period": dict(
        ge=1,
        le=500,
        json_schema_extra={"search": {"low": 5, "high": 50}},
        description="ATR window (Wilder smoothing), candles",
    ),
    "range_mult": dict(
        gt=0,
        le=50,
        json_schema_extra={"search": {"low": 1.0, "high": 6.0}},
        description="Range expansion: candle high - low at least this multiple of the previous ATR",
    ),
    "lookback_minutes": dict(
        ge=1,
        le=1440,
        json_schema_extra={"search": {"low": 1, "high": 60}},
        description="Momentum: minutes between the reference close and the current close",
    ),
    "rise_ratio": dict(
        gt=0,
        le=10,
        json_schema_extra={"search": {"low": 0.005, "high": 0.08}},
        description="Momentum: minimum rise of the close over lookback_minutes, fraction (0.03 = 3 %)",
    ),
}


def shared_field(name: str, default: Any) -> Any:
    """A pydantic ``Field`` for shared parameter ``name`` with ``default`` and its fixed bounds."""
    return Field(default, **_SHARED[name])


def check_ema_pair(fast: int, slow: int, names: tuple[str, str] = ("ema_fast", "ema_slow")) -> None:
    """Raise ValueError (naming both fields) unless ``fast < slow``."""
    if fast >= slow:
        raise ValueError(f"{names[0]} ({fast}) must be less than {names[1]} ({slow})")


def check_lookback_minutes(minutes: int, timeframe: str) -> None:
    """Raise ValueError unless ``minutes`` is a whole number of ``timeframe`` candles."""
    if (minutes * 60_000) % timeframe_ms(timeframe):
        raise ValueError(f"lookback_minutes ({minutes}) is not a whole number of {timeframe} candles")


# -- indicators ---------------------------------------------------------------------------------
@memoized
def sma(values: pd.Series, window: int) -> pd.Series:
    """Simple moving average of ``values`` over ``window`` rows (``ta.trend.SMAIndicator``; first
    ``window-1`` NaN)."""
    return SMAIndicator(values, window).sma_indicator()


@memoized
def ema(close: pd.Series, span: int) -> pd.Series:
    """EMA of ``close`` (``ta.trend.EMAIndicator``: ewm span, adjust=False, first ``span-1`` NaN)."""
    return EMAIndicator(close, span).ema_indicator()


@memoized
def rsi(close: pd.Series, period: int) -> pd.Series:
    """RSI 0..100 (``ta.momentum.RSIIndicator``, Wilder smoothing ewm(alpha=1/period))."""
    return RSIIndicator(close, period).rsi()


@memoized
def volume_ratio(volume: pd.Series, window: int) -> pd.Series:
    """Volume / mean volume of the previous ``window`` candles (``ta.trend.SMAIndicator``).

    NaN while the mean is undefined or 0 (zero-volume candles), never inf.
    """
    baseline = SMAIndicator(volume, window).sma_indicator().shift(1)
    return safe_ratio(volume, baseline)


@memoized
def bollinger(close: pd.Series, window: int, std: float) -> dict[str, pd.Series]:
    """Bollinger Bands (``ta.volatility.BollingerBands``: SMA +- std * population stdev).

    Returns ``bb_upper``, ``bb_middle``, ``bb_lower`` (quote per base) and ``bb_width``
    = (upper - lower) / middle (a fraction; NaN if the middle is 0).
    """
    bands = BollingerBands(close, window, std)
    upper, middle, lower = bands.bollinger_hband(), bands.bollinger_mavg(), bands.bollinger_lband()
    return {"bb_upper": upper, "bb_middle": middle, "bb_lower": lower, "bb_width": safe_ratio(upper - lower, middle)}


@memoized
def donchian(high: pd.Series, low: pd.Series, close: pd.Series, window: int, shift: int) -> dict[str, pd.Series]:
    """Donchian channel of the ``window`` candles ending ``shift`` candles ago (``ta.volatility.DonchianChannel``).

    Returns ``upper`` (highest high), ``middle`` ((upper + lower) / 2) and ``lower`` (lowest low).
    """
    channel = DonchianChannel(high, low, close, window=window, offset=shift)
    return {
        "upper": channel.donchian_channel_hband(),
        "middle": channel.donchian_channel_mband(),
        "lower": channel.donchian_channel_lband(),
    }


@memoized
def prior_high(high: pd.Series, low: pd.Series, close: pd.Series, window: int) -> pd.Series:
    """Highest high of the ``window`` candles before the current one (Donchian upper, shift 1)."""
    return DonchianChannel(high, low, close, window=window, offset=1).donchian_channel_hband()


@memoized
def range_ratio(candles: pd.DataFrame, atr_period: int) -> tuple[pd.Series, pd.Series]:
    """``(atr, (high - low) / atr of the previous candle)``; the ratio is NaN where ATR is 0."""
    atr = average_true_range(candles["high"], candles["low"], candles["close"], atr_period)
    return atr, safe_ratio(candles["high"] - candles["low"], atr.shift(1))


@memoized
def change_over(candles: pd.DataFrame, minutes: int) -> pd.Series:
    """``close / close(minutes earlier) - 1`` as a fraction, by timestamp, not by row.

    The reference is the candle that opened exactly ``minutes`` before the current one; when it is
    missing (a gap in the data), the change is NaN, so a gap never looks like a fast move.
    """
    ts = candles["timestamp"].to_numpy(np.int64)
    if len(ts) == 0:
        return pd.Series(np.nan, index=candles.index, dtype=np.float64)
    then = ts - minutes * 60_000
    pos = np.minimum(np.searchsorted(ts, then), len(ts) - 1)
    ref = np.where(ts[pos] == then, candles["close"].to_numpy(np.float64)[pos], np.nan)
    return safe_ratio(candles["close"], pd.Series(ref, index=candles.index)) - 1


# -- conditions ---------------------------------------------------------------------------------
def seen_within(mask: pd.Series, candles: int) -> pd.Series:
    """True where ``mask`` was True on at least one of the previous ``candles`` rows (not this one)."""
    prev = mask.astype(np.float64).shift(1)
    return (prev.rolling(candles, min_periods=1).max() > 0).astype(bool)


@memoized
def squeeze(width: pd.Series, lookback: int, quantile: float) -> pd.Series:
    """True where the band width is at or below its ``quantile`` over the last ``lookback`` candles."""
    threshold = width.rolling(lookback).quantile(quantile)
    return (width <= threshold).fillna(False).astype(bool)


def at_least(values: pd.Series, level: float) -> pd.Series:
    """``values >= level`` with NaN as False."""
    return (values >= level).fillna(False).astype(bool)


def crossed_above_level(values: pd.Series, level: float) -> pd.Series:
    """True where ``values`` goes from ``<= level`` to ``> level``."""
    return crossed_above(values, pd.Series(level, index=values.index))
