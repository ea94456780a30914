"""EMA_Crossover_Volume: an EMA(9)/EMA(21) golden cross confirmed by a volume surge."""

from __future__ import annotations

import pandas as pd
from pydantic import model_validator

from strategies.base import BaseStrategy, StrategyParams, crossed_above, crossed_below
from strategies.conditions import (
    at_least,
    check_ema_pair,
    ema,
    shared_field,
    volume_ratio,
)
from strategies.indicators import TalibRef, ema_settle
from strategies.registry import register


class EMACrossoverVolumeParams(StrategyParams):
    ema_fast: int = shared_field("ema_fast", 9)
    ema_slow: int = shared_field("ema_slow", 21)
    volume_window: int = shared_field("volume_window", 20)
    volume_mult: float = shared_field("volume_mult", 1.5)

    @model_validator(mode="after")
    def _order(self) -> EMACrossoverVolumeParams:
        check_ema_pair(self.ema_fast, self.ema_slow)
        return self


@register
class EMACrossoverVolume(BaseStrategy[EMACrossoverVolumeParams]):
    """Buy when EMA(fast) crosses above EMA(slow) on a candle whose volume is a surge; sell on the cross below.

    EMA = ewm(span, adjust=False) of closes (``ta.trend.EMAIndicator``), quote per base. Surge:
    volume_t >= volume_mult x mean(volume_{t-N..t-1}) (base currency; ``ta.trend.SMAIndicator``);
    a zero mean (zero-volume candles) is no surge. The sell needs no volume. Playbook: 9 / 21,
    N = 20, k = 1.5.

    Warm-up: settling of the slow EMA (seed weight < 1e-8) + 1. Output columns: ``ema_fast``,
    ``ema_slow``, ``volume_ratio``.
    """

    name = "EMA_Crossover_Volume"
    params_model = EMACrossoverVolumeParams

    @property
    def warmup(self) -> int:
        return max(ema_settle(self.params.ema_slow), self.params.volume_window) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        out["ema_fast"] = ema(out["close"], p.ema_fast)
        out["ema_slow"] = ema(out["close"], p.ema_slow)
        out["volume_ratio"] = volume_ratio(out["volume"], p.volume_window)
        cross_up = crossed_above(out["ema_fast"], out["ema_slow"])
        out["enter_long"] = cross_up & at_least(out["volume_ratio"], p.volume_mult)
        out["exit_long"] = crossed_below(out["ema_fast"], out["ema_slow"])
        return out

    def talib_refs(self) -> list[TalibRef]:
        return [
            TalibRef("ema_fast", "EMA", {"timeperiod": self.params.ema_fast}),
            TalibRef("ema_slow", "EMA", {"timeperiod": self.params.ema_slow}),
        ]
