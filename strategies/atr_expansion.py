"""ATR_Expansion: a candle whose range is several ATRs wide, closing in the direction of the move."""

from __future__ import annotations

import pandas as pd

from strategies.base import BaseStrategy, StrategyParams
from strategies.conditions import at_least, range_ratio, shared_field
from strategies.indicators import TalibRef, wilder_settle
from strategies.registry import register


class ATRExpansionParams(StrategyParams):
    atr_period: int = shared_field("atr_period", 14)
    range_mult: float = shared_field("range_mult", 2.0)


@register
class ATRExpansion(BaseStrategy[ATRExpansionParams]):
    """Buy on an up candle whose range is at least m x ATR; sell on such a down candle.

    ATR(n): Wilder's average of the true range max(high - low, |high - prev close|,
    |low - prev close|) (Wilder 1978; ``ta.volatility.AverageTrueRange``'s recursion, computed
    vectorised by :func:`strategies.indicators.average_true_range`), quote per base. The candle
    is compared with the ATR of the *previous* candle, so its own range does not dilute the test.
    Entry at row t: high_t - low_t >= m x ATR_{t-1} and close_t > open_t. Exit: the same range
    with close_t < open_t. Playbook: ATR(14), m = 2.

    Warm-up: ATR window + settling of Wilder's average (seed weight < 1e-8) + 1. Output columns:
    ``atr``, ``range_ratio``.
    """

    name = "ATR_Expansion"
    params_model = ATRExpansionParams

    @property
    def warmup(self) -> int:
        return wilder_settle(self.params.atr_period) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        out["atr"], out["range_ratio"] = range_ratio(out, p.atr_period)
        wide = at_least(out["range_ratio"], p.range_mult)
        out["enter_long"] = wide & (out["close"] > out["open"])
        out["exit_long"] = wide & (out["close"] < out["open"])
        return out

    def talib_refs(self) -> list[TalibRef]:
        return [TalibRef("atr", "ATR", {"timeperiod": self.params.atr_period}, ("high", "low", "close"))]
