"""Indicator helpers shared by the strategies: warm-up lengths, a vectorised ATR, TA-Lib references.

Indicators themselves come from ``ta`` wherever it has them. The one exception is ATR:
``ta.volatility.AverageTrueRange`` runs a Python loop over every row (about 3.5 s for 525k 1m
candles, above the 1 s budget of a strategy), so :func:`average_true_range` computes the very
same recursion with pandas' exponentially weighted mean. Tests pin it to ``ta`` and to TA-Lib.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategies.memo import memoized

SETTLE_TOLERANCE = 1e-8
"""Exponential smoothers count as settled once their seed weighs less than this fraction."""


def ewm_settle(alpha: float, tolerance: float = SETTLE_TOLERANCE) -> int:
    """Candles after which an exponential smoother's seed weighs less than ``tolerance``.

    A smoother ``y_t = (1 - alpha) y_{t-1} + alpha x_t`` keeps ``(1 - alpha)^k`` of its seed after
    ``k`` candles, so ``k = ceil(ln(tolerance) / ln(1 - alpha))``. ``ta`` and TA-Lib seed EMA, RSI
    and ATR differently (first value vs SMA of the first ``n``); after this many candles both agree
    to far better than 1e-6 and the signal no longer depends on how much history came before.
    Raises ValueError unless ``0 < alpha < 1``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha!r} must be between 0 and 1 (exclusive)")
    return math.ceil(math.log(tolerance) / math.log1p(-alpha))


def ema_settle(window: int) -> int:
    """:func:`ewm_settle` of an EMA of span ``window`` (alpha = 2 / (window + 1)), plus the window."""
    return window + ewm_settle(2.0 / (window + 1))


def wilder_settle(window: int) -> int:
    """:func:`ewm_settle` of Wilder smoothing (RSI, ATR: alpha = 1 / window), plus the window."""
    return window + ewm_settle(1.0 / window)


def true_range(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """True range, quote per base: ``max(high - low, |high - prev close|, |low - prev close|)``.

    Wilder (1978), as ``ta`` and TA-Lib define it. On the first row (no previous close) it is
    ``high - low`` (as in ``ta``).
    """
    prev_close = close.shift(1)
    ranges = np.column_stack(
        [
            (high - low).to_numpy(np.float64),
            (high - prev_close).abs().to_numpy(np.float64),
            (low - prev_close).abs().to_numpy(np.float64),
        ]
    )
    return pd.Series(np.nanmax(ranges, axis=1), index=close.index, name="true_range")


@memoized
def average_true_range(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.Series:
    """Wilder's ATR in quote per base, equal to ``ta.volatility.AverageTrueRange(...).average_true_range()``.

    ``atr[window-1] = mean(tr[0:window])`` and ``atr[t] = (atr[t-1] * (window - 1) + tr[t]) / window``
    after it (``ta``'s recursion, i.e. an EMA with alpha = 1/window seeded by that mean). Unlike
    ``ta``, rows before the first value are NaN rather than 0. TA-Lib seeds with ``tr[1:window+1]``;
    both agree after :func:`wilder_settle` candles. Raises ValueError when ``window < 1``.
    """
    if window < 1:
        raise ValueError(f"ATR window {window!r} must be at least 1")
    tr = true_range(high, low, close)
    seeded = tr.copy()
    seeded.iloc[: window - 1] = np.nan
    if len(tr) >= window:
        seeded.iloc[window - 1] = tr.iloc[:window].mean()
    atr = seeded.ewm(alpha=1.0 / window, adjust=False).mean()
    return atr.rename("atr")


@dataclass(frozen=True)
class TalibRef:
    """States that a column of ``populate``'s output equals a TA-Lib indicator.

    ``column`` equals output number ``output`` of ``talib.<function>(*inputs, **params)`` shifted
    by ``shift`` rows, computed on the candles of ``timeframe`` (``None``: the strategy's own
    candles; else its context timeframe, aligned with :func:`daybreak.timeframes.context_frame`).
    ``inputs`` name candle columns. The registry-wide tests check every declared reference to
    1e-6 (relative) on rows past the strategy's warm-up.
    """

    column: str
    function: str
    params: dict = field(default_factory=dict)
    inputs: tuple[str, ...] = ("close",)
    output: int = 0
    shift: int = 0
    timeframe: str | None = None
