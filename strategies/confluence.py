"""Confluence: buy only when at least k of the chosen named conditions hold on the same closed candle."""

from __future__ import annotations

import typing
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from daybreak.core.timeframes import timeframe_ms
from strategies import conditions as c
from strategies.base import BaseStrategy, StrategyParams, crossed_above, crossed_below
from strategies.conditions import shared_field
from strategies.indicators import TalibRef, ema_settle, wilder_settle
from strategies.registry import register

Condition = Literal[
    "squeeze",
    "volume_surge",
    "ema_cross",
    "ema_trend",
    "bb_breakout",
    "price_breakout",
    "rsi_rebound",
    "atr_expansion",
    "momentum",
]
CONDITIONS: tuple[str, ...] = typing.get_args(Condition)


class ConfluenceParams(StrategyParams):
    conditions: list[Condition] = Field(
        default_factory=lambda: list[Condition](["squeeze", "volume_surge", "ema_cross"]),
        min_length=1,
        max_length=len(CONDITIONS),
        description="Named conditions to combine (each at most once): " + ", ".join(CONDITIONS),
    )
    min_count: int = Field(
        2, ge=1, le=len(CONDITIONS), description="Buy when at least this many of the conditions hold on one candle"
    )
    ema_fast: int = shared_field("ema_fast", 9)
    ema_slow: int = shared_field("ema_slow", 21)
    volume_window: int = shared_field("volume_window", 20)
    volume_mult: float = shared_field("volume_mult", 2.0)
    bb_window: int = shared_field("bb_window", 20)
    bb_std: float = shared_field("bb_std", 2.0)
    squeeze_lookback: int = shared_field("squeeze_lookback", 120)
    squeeze_quantile: float = shared_field("squeeze_quantile", 0.2)
    squeeze_memory: int = shared_field("squeeze_memory", 10)
    breakout_window: int = shared_field("breakout_window", 20)
    rsi_period: int = shared_field("rsi_period", 14)
    rsi_oversold: float = shared_field("rsi_oversold", 30.0)
    atr_period: int = shared_field("atr_period", 14)
    range_mult: float = shared_field("range_mult", 2.0)
    lookback_minutes: int = shared_field("lookback_minutes", 5)
    rise_ratio: float = shared_field("rise_ratio", 0.03)

    @model_validator(mode="after")
    def _check(self) -> ConfluenceParams:
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"conditions {self.conditions} names a condition twice")
        if self.min_count > len(self.conditions):
            raise ValueError(f"min_count ({self.min_count}) exceeds the number of conditions ({len(self.conditions)})")
        c.check_ema_pair(self.ema_fast, self.ema_slow)
        c.check_lookback_minutes(self.lookback_minutes, self.timeframe)
        return self


@register
class Confluence(BaseStrategy[ConfluenceParams]):
    """Buy when at least ``min_count`` of the named ``conditions`` hold on the same closed candle.

    Conditions (row t; prices in quote per base, volume in base currency; same definitions as the
    single-rule strategies, from :mod:`strategies.conditions`):

    - ``squeeze``: a Bollinger squeeze (width in the lowest ``squeeze_quantile`` of
      ``squeeze_lookback``) on one of the previous ``squeeze_memory`` candles (Bollinger_Squeeze).
    - ``volume_surge``: volume_t >= volume_mult x mean of the previous ``volume_window`` volumes.
    - ``ema_cross``: EMA(fast) crosses above EMA(slow) on this candle; ``ema_trend``: it is above.
    - ``bb_breakout``: close above the upper Bollinger Band.
    - ``price_breakout``: close above the highest high of the previous ``breakout_window`` candles.
    - ``rsi_rebound``: RSI crosses back above ``rsi_oversold`` (RSI_Reversion's entry).
    - ``atr_expansion``: an up candle with range >= range_mult x the previous ATR (ATR_Expansion).
    - ``momentum``: close up >= rise_ratio over ``lookback_minutes`` (Momentum_Chase's rise).

    Exit: EMA(fast) crosses below EMA(slow). The playbook combines signals to cut false alarms;
    default: squeeze, volume surge and EMA cross, at least 2 of 3. Output columns: ``ema_fast``,
    ``ema_slow``, ``cond_<name>`` per chosen condition and ``cond_count``.

    Warm-up: the largest warm-up of the chosen conditions (and of the exit EMAs).
    """

    name = "Confluence"
    params_model = ConfluenceParams

    @property
    def warmup(self) -> int:
        p = self.params
        needs = {
            "squeeze": p.bb_window + p.squeeze_lookback + p.squeeze_memory,
            "volume_surge": p.volume_window,
            "bb_breakout": p.bb_window,
            "price_breakout": p.breakout_window,
            "rsi_rebound": wilder_settle(p.rsi_period),
            "atr_expansion": wilder_settle(p.atr_period),
            "momentum": p.lookback_minutes * 60_000 // timeframe_ms(p.timeframe),
        }
        return max([ema_settle(p.ema_slow)] + [needs.get(name, 0) for name in p.conditions]) + 1

    def _condition(self, name: str, out: pd.DataFrame) -> pd.Series:
        p = self.params
        if name in ("squeeze", "bb_breakout"):
            bands = c.bollinger(out["close"], p.bb_window, p.bb_std)
            if name == "bb_breakout":
                return (out["close"] > bands["bb_upper"]).astype(bool)
            return c.seen_within(c.squeeze(bands["bb_width"], p.squeeze_lookback, p.squeeze_quantile), p.squeeze_memory)
        if name == "volume_surge":
            return c.at_least(c.volume_ratio(out["volume"], p.volume_window), p.volume_mult)
        if name == "ema_cross":
            return crossed_above(out["ema_fast"], out["ema_slow"])
        if name == "ema_trend":
            return (out["ema_fast"] > out["ema_slow"]).astype(bool)
        if name == "price_breakout":
            return (out["close"] > c.prior_high(out["high"], out["low"], out["close"], p.breakout_window)).astype(bool)
        if name == "rsi_rebound":
            return c.crossed_above_level(c.rsi(out["close"], p.rsi_period), p.rsi_oversold)
        if name == "atr_expansion":
            _, ratio = c.range_ratio(out, p.atr_period)
            return c.at_least(ratio, p.range_mult) & (out["close"] > out["open"])
        return c.at_least(c.change_over(out, p.lookback_minutes), p.rise_ratio)  # "momentum"

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        out["ema_fast"] = c.ema(out["close"], p.ema_fast)
        out["ema_slow"] = c.ema(out["close"], p.ema_slow)
        count = np.zeros(len(out), dtype=np.int64)
        for name in p.conditions:
            held = self._condition(name, out)
            out[f"cond_{name}"] = held
            count += held.to_numpy(bool)
        out["cond_count"] = count
        out["enter_long"] = out["cond_count"] >= p.min_count
        out["exit_long"] = crossed_below(out["ema_fast"], out["ema_slow"])
        return out

    def talib_refs(self) -> list[TalibRef]:
        return [
            TalibRef("ema_fast", "EMA", {"timeperiod": self.params.ema_fast}),
            TalibRef("ema_slow", "EMA", {"timeperiod": self.params.ema_slow}),
        ]
