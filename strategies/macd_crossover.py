"""MACD_Crossover: buy when the MACD line crosses above its signal line, sell on the cross below."""

from __future__ import annotations

import pandas as pd
from pydantic import Field, model_validator
from ta.trend import MACD

from strategies.base import BaseStrategy, StrategyParams, crossed_above, crossed_below
from strategies.conditions import check_ema_pair
from strategies.indicators import TalibRef, ema_settle
from strategies.registry import register


class MACDCrossoverParams(StrategyParams):
    fast: int = Field(
        12,
        ge=2,
        le=500,
        json_schema_extra={"search": {"low": 4, "high": 50}},
        description="Fast EMA span of the MACD line, candles",
    )
    slow: int = Field(
        26,
        ge=3,
        le=2000,
        json_schema_extra={"search": {"low": 10, "high": 200}},
        description="Slow EMA span of the MACD line, candles (greater than fast)",
    )
    signal: int = Field(
        9,
        ge=2,
        le=500,
        json_schema_extra={"search": {"low": 3, "high": 50}},
        description="EMA span of the signal line (EMA of the MACD line), candles",
    )

    @model_validator(mode="after")
    def _order(self) -> MACDCrossoverParams:
        check_ema_pair(self.fast, self.slow, ("fast", "slow"))
        return self


@register
class MACDCrossover(BaseStrategy[MACDCrossoverParams]):
    """Buy when MACD crosses above its signal line; sell when it crosses below.

    MACD = EMA_fast(close) - EMA_slow(close), signal = EMA_signal(MACD), in quote per base
    (Appel 1979; ``ta.trend.MACD``, EMA = ewm(span, adjust=False)). A cross at row t means
    MACD_t > signal_t and MACD_{t-1} <= signal_{t-1} (mirror for the sell). Playbook: 12/26/9.

    Warm-up: settling of the slow EMA, then of the signal EMA fed by it (seed weight < 1e-8), + 1.
    Output columns: ``macd``, ``macd_signal``.
    """

    name = "MACD_Crossover"
    params_model = MACDCrossoverParams

    @property
    def warmup(self) -> int:
        return ema_settle(self.params.slow) + ema_settle(self.params.signal) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        macd = MACD(out["close"], window_slow=p.slow, window_fast=p.fast, window_sign=p.signal)
        out["macd"], out["macd_signal"] = macd.macd(), macd.macd_signal()
        out["enter_long"] = crossed_above(out["macd"], out["macd_signal"])
        out["exit_long"] = crossed_below(out["macd"], out["macd_signal"])
        return out

    def talib_refs(self) -> list[TalibRef]:
        p = self.params
        params = {"fastperiod": p.fast, "slowperiod": p.slow, "signalperiod": p.signal}
        return [TalibRef("macd", "MACD", params, output=0), TalibRef("macd_signal", "MACD", params, output=1)]
