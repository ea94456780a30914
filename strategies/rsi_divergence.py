"""RSI_Divergence: bullish RSI divergence on 5m candles, confirmed on 1m by trend and volume."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from daybreak.core.timeframes import context_frame, resample, timeframe_ms
from strategies.base import BaseStrategy, StrategyParams
from strategies.conditions import ema, rsi, shared_field, volume_ratio
from strategies.indicators import TalibRef, ema_settle, wilder_settle
from strategies.registry import register

CONTEXT = "5m"


class RSIDivergenceParams(StrategyParams):
    rsi_period: int = shared_field("rsi_period", 14)
    swing_strength: int = Field(
        2,
        ge=1,
        le=50,
        json_schema_extra={"search": {"low": 1, "high": 6}},
        description="A swing low (high) is the lowest low (highest high) of this many 5m candles on each side",
    )
    max_swing_gap: int = Field(
        48,
        ge=2,
        le=1000,
        json_schema_extra={"search": {"low": 6, "high": 200}},
        description="Two swing points farther apart than this many 5m candles are not compared",
    )
    signal_valid: int = Field(
        6,
        ge=1,
        le=500,
        json_schema_extra={"search": {"low": 1, "high": 30}},
        description="A bullish divergence stays valid for this many 5m candles after it is confirmed",
    )
    ema_period: int = Field(
        50,
        ge=2,
        le=2000,
        json_schema_extra={"search": {"low": 10, "high": 200}},
        description="1m confirmation: close above the EMA of this span, 1m candles",
    )
    volume_window: int = shared_field("volume_window", 20)
    volume_mult: float = shared_field("volume_mult", 1.0)

    @model_validator(mode="after")
    def _timeframe(self) -> RSIDivergenceParams:
        if self.timeframe != "1m":
            raise ValueError(f"timeframe {self.timeframe!r}: RSI_Divergence reads 5m context from 1m candles, use '1m'")
        return self


def _divergence(price: pd.Series, rsi_values: pd.Series, strength: int, max_gap: int, bullish: bool) -> pd.Series:
    """True on the context candle that confirms a divergence between consecutive swing points.

    A swing low at row s is low_s == min(low_{s-k..s+k}) and low_s < min(low_{s-k..s-1}) (of equal
    lows, the first one counts); it is known at row s + k, once the k candles after it closed.
    Bullish at row c = s + k: the swing low is lower than the previous swing low while RSI at the
    swing is higher, and the previous swing is at most ``max_gap`` rows earlier. Bearish mirrors it
    with swing highs (higher high, lower RSI).
    """
    window = 2 * strength + 1
    point, point_rsi = price.shift(strength), rsi_values.shift(strength)
    before = price.shift(strength + 1).rolling(strength)
    if bullish:
        is_extreme = (point == price.rolling(window).min()) & (point < before.min())
    else:
        is_extreme = (point == price.rolling(window).max()) & (point > before.max())
    is_swing = is_extreme & point_rsi.notna()
    rows = pd.Series(np.arange(len(price), dtype=np.float64), index=price.index)
    prev_point = point.where(is_swing).ffill().shift(1)
    prev_rsi = point_rsi.where(is_swing).ffill().shift(1)
    prev_row = rows.where(is_swing).ffill().shift(1)
    if bullish:
        diverges = (point < prev_point) & (point_rsi > prev_rsi)
    else:
        diverges = (point > prev_point) & (point_rsi < prev_rsi)
    return (is_swing & diverges & (rows - prev_row <= max_gap)).fillna(False).astype(bool)


@register
class RSIDivergence(BaseStrategy[RSIDivergenceParams]):
    """Buy on a 5m bullish RSI divergence confirmed on 1m by a close above EMA(50) on above-average volume.

    Context (5m candles built from closed 1m candles by :func:`daybreak.timeframes.resample`,
    aligned by :func:`~daybreak.timeframes.context_frame`: usable only once all five 1m candles
    closed): RSI(n) of 5m closes (``ta.momentum.RSIIndicator``, Wilder). Swing lows and highs
    with ``swing_strength`` candles each side (2: Bill Williams' fractal); bullish divergence =
    a swing low below the previous swing low (at most ``max_swing_gap`` 5m candles earlier) with
    a higher RSI at the swing; bearish = a higher swing high with a lower RSI (Murphy 1999).
    Entry at 1m row t: a bullish divergence confirmed on one of the last
    ``signal_valid`` closed 5m candles, close_t > EMA_50(close)_t (``ta.trend.EMAIndicator``) and
    volume_t > volume_mult x mean(volume_{t-N..t-1}) (base currency). Exit: the newest closed 5m
    candle confirms a bearish divergence. Prices in quote per base, RSI 0..100.

    Warm-up (1m candles): the larger of 5 x (RSI settling + swing gap + 2 x strength + validity
    + 1) and the settling of the 1m EMA, + 1. Output columns: ``rsi_5m``, ``bull_div_5m``,
    ``bear_div_5m``, ``ema``, ``volume_ratio``.
    """

    name = "RSI_Divergence"
    params_model = RSIDivergenceParams
    context_timeframe = CONTEXT

    @property
    def warmup(self) -> int:
        p = self.params
        per_context = timeframe_ms(CONTEXT) // timeframe_ms(p.timeframe)
        context_rows = wilder_settle(p.rsi_period) + p.max_swing_gap + 2 * p.swing_strength + p.signal_valid + 1
        return max(per_context * (context_rows + 1), ema_settle(p.ema_period), p.volume_window) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        ctx = resample(out, CONTEXT, p.timeframe)
        ctx["rsi_5m"] = rsi(ctx["close"], p.rsi_period)
        bull = _divergence(ctx["low"], ctx["rsi_5m"], p.swing_strength, p.max_swing_gap, bullish=True)
        ctx["bull_div_5m"] = bull.astype(np.float64).rolling(p.signal_valid, min_periods=1).max() > 0
        ctx["bear_div_5m"] = _divergence(ctx["high"], ctx["rsi_5m"], p.swing_strength, p.max_swing_gap, bullish=False)
        aligned = context_frame(out, ctx[["timestamp", "rsi_5m", "bull_div_5m", "bear_div_5m"]], CONTEXT, p.timeframe)
        for col in aligned.columns:
            out[col] = aligned[col]
        out["ema"] = ema(out["close"], p.ema_period)
        out["volume_ratio"] = volume_ratio(out["volume"], p.volume_window)
        confirmed = (out["close"] > out["ema"]) & (out["volume_ratio"] > p.volume_mult)
        out["enter_long"] = out["bull_div_5m"] & confirmed
        out["exit_long"] = out["bear_div_5m"]
        return out

    def talib_refs(self) -> list[TalibRef]:
        p = self.params
        return [
            TalibRef("rsi_5m", "RSI", {"timeperiod": p.rsi_period}, timeframe=CONTEXT),
            TalibRef("ema", "EMA", {"timeperiod": p.ema_period}),
        ]
