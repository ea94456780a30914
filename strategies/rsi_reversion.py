"""RSI_Reversion: buy when RSI climbs back out of oversold, sell when it is overbought."""

from __future__ import annotations

import pandas as pd
from pydantic import Field, model_validator

from strategies.base import BaseStrategy, StrategyParams
from strategies.conditions import crossed_above_level, rsi, shared_field
from strategies.indicators import TalibRef, wilder_settle
from strategies.registry import register


class RSIReversionParams(StrategyParams):
    rsi_period: int = shared_field("rsi_period", 14)
    rsi_oversold: float = shared_field("rsi_oversold", 30.0)
    rsi_overbought: float = Field(
        70.0,
        gt=0,
        lt=100,
        json_schema_extra={"search": {"low": 55.0, "high": 90.0}},
        description="RSI overbought level; above it the strategy sells",
    )

    @model_validator(mode="after")
    def _levels(self) -> RSIReversionParams:
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError(f"rsi_oversold ({self.rsi_oversold}) must be below rsi_overbought ({self.rsi_overbought})")
        return self


@register
class RSIReversion(BaseStrategy[RSIReversionParams]):
    """Buy on RSI crossing back above oversold; sell while RSI is above overbought.

    RSI(n) = 100 - 100 / (1 + avg gain / avg loss), gains and losses of close-to-close changes
    smoothed with Wilder's average, ewm(alpha=1/n) (Wilder 1978; ``ta.momentum.RSIIndicator``).
    Entry at row t: RSI_t > oversold and RSI_{t-1} <= oversold. Exit: RSI_t > overbought.
    Levels are on the 0..100 RSI scale. Playbook defaults: RSI(14), 30 / 70.

    Warm-up: the RSI window plus the candles after which the seed of Wilder's average weighs
    less than 1e-8 (``ta`` and TA-Lib seed differently and agree after it), plus one for the cross.
    Output columns: ``rsi``.
    """

    name = "RSI_Reversion"
    params_model = RSIReversionParams

    @property
    def warmup(self) -> int:
        return wilder_settle(self.params.rsi_period) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        out["rsi"] = rsi(out["close"], p.rsi_period)
        out["enter_long"] = crossed_above_level(out["rsi"], p.rsi_oversold)
        out["exit_long"] = (out["rsi"] > p.rsi_overbought).fillna(False).astype(bool)
        return out

    def talib_refs(self) -> list[TalibRef]:
        return [TalibRef("rsi", "RSI", {"timeperiod": self.params.rsi_period})]
