"""Volume_Breakout: a close above the recent high on at least three times the usual volume."""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from strategies.base import BaseStrategy, StrategyParams
from strategies.conditions import (
    at_least,
    donchian,
    prior_high,
    shared_field,
    volume_ratio,
)
from strategies.indicators import TalibRef
from strategies.registry import register


class VolumeBreakoutParams(StrategyParams):
    breakout_window: int = shared_field("breakout_window", 20)
    volume_window: int = shared_field("volume_window", 20)
    volume_mult: float = shared_field("volume_mult", 3.0)
    exit_window: int = Field(
        10,
        ge=1,
        le=2000,
        json_schema_extra={"search": {"low": 5, "high": 200}},
        description="Sell on a close below the lowest low of this many previous candles",
    )


@register
class VolumeBreakout(BaseStrategy[VolumeBreakoutParams]):
    """Buy on a close above the highest high of the previous N candles with a volume surge.

    Entry at row t: close_t > max(high_{t-N..t-1}) (Donchian upper band shifted one candle,
    ``ta.volatility.DonchianChannel``) and volume_t >= volume_mult x mean(volume_{t-M..t-1})
    (base currency; a zero mean is no surge). Exit: close_t < min(low_{t-E..t-1}). Prices in quote
    per base. Playbook: N = 20, volume 3 x the mean of the previous 20, E = 10.

    Warm-up: the longest window + 1 (no smoothing, so nothing to settle). Output columns:
    ``prior_high``, ``prior_low``, ``volume_ratio``.
    """

    name = "Volume_Breakout"
    params_model = VolumeBreakoutParams

    @property
    def warmup(self) -> int:
        p = self.params
        return max(p.breakout_window, p.volume_window, p.exit_window) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        out["prior_high"] = prior_high(out["high"], out["low"], out["close"], p.breakout_window)
        out["prior_low"] = donchian(out["high"], out["low"], out["close"], p.exit_window, 1)["lower"]
        out["volume_ratio"] = volume_ratio(out["volume"], p.volume_window)
        out["enter_long"] = (out["close"] > out["prior_high"]) & at_least(out["volume_ratio"], p.volume_mult)
        out["exit_long"] = out["close"] < out["prior_low"]
        return out

    def talib_refs(self) -> list[TalibRef]:
        p = self.params
        return [
            TalibRef("prior_high", "MAX", {"timeperiod": p.breakout_window}, ("high",), shift=1),
            TalibRef("prior_low", "MIN", {"timeperiod": p.exit_window}, ("low",), shift=1),
        ]
