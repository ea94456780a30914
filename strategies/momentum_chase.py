"""Momentum_Chase: buy when price is up 3 % or more over the last 5 minutes."""

from __future__ import annotations

import pandas as pd
from pydantic import Field, model_validator

from daybreak.core.timeframes import timeframe_ms
from strategies.base import BaseStrategy, StrategyParams, crossed_below
from strategies.conditions import (
    at_least,
    change_over,
    check_lookback_minutes,
    ema,
    shared_field,
)
from strategies.indicators import TalibRef, ema_settle
from strategies.registry import register


class MomentumChaseParams(StrategyParams):
    lookback_minutes: int = shared_field("lookback_minutes", 5)
    rise_ratio: float = shared_field("rise_ratio", 0.03)
    exit_ema: int = Field(
        9,
        ge=2,
        le=500,
        json_schema_extra={"search": {"low": 3, "high": 100}},
        description="Sell when the close crosses below the EMA of this span, candles",
    )

    @model_validator(mode="after")
    def _lookback(self) -> MomentumChaseParams:
        check_lookback_minutes(self.lookback_minutes, self.timeframe)
        return self


@register
class MomentumChase(BaseStrategy[MomentumChaseParams]):
    """Buy on the first candle whose close is up ``rise_ratio`` or more over ``lookback_minutes``.

    Change_t = close_t / close_{t - lookback} - 1 (a fraction), where the reference is the candle
    that opened exactly ``lookback_minutes`` earlier; across a data gap there is no reference and
    no signal. Entry at row t: change_t >= rise_ratio and change_{t-1} < rise_ratio (or undefined),
    so a move is chased once. Exit: close crosses below EMA(exit_ema) of closes
    (``ta.trend.EMAIndicator``). The playbook pairs the entry with a +6 % take-profit and a -3 %
    stop (``risk_overrides.Momentum_Chase`` in config.json); the EMA exit is the strategy's own.

    Warm-up: the lookback in candles, or the settling of the exit EMA (seed weight < 1e-8), + 1.
    Output columns: ``change``, ``exit_ema``.
    """

    name = "Momentum_Chase"
    params_model = MomentumChaseParams

    @property
    def warmup(self) -> int:
        p = self.params
        lookback = p.lookback_minutes * 60_000 // timeframe_ms(p.timeframe)
        return max(lookback, ema_settle(p.exit_ema)) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        out["change"] = change_over(out, p.lookback_minutes)
        out["exit_ema"] = ema(out["close"], p.exit_ema)
        rising = at_least(out["change"], p.rise_ratio)
        out["enter_long"] = rising & ~rising.shift(1, fill_value=False)
        out["exit_long"] = crossed_below(out["close"], out["exit_ema"])
        return out

    def talib_refs(self) -> list[TalibRef]:
        return [TalibRef("exit_ema", "EMA", {"timeperiod": self.params.exit_ema})]
