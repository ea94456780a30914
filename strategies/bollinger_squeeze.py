"""Bollinger_Squeeze: narrow bands (a squeeze), then a close above the upper band on a volume surge."""

from __future__ import annotations

import pandas as pd

from strategies.base import BaseStrategy, StrategyParams
from strategies.conditions import (
    at_least,
    bollinger,
    seen_within,
    shared_field,
    squeeze,
    volume_ratio,
)
from strategies.indicators import TalibRef
from strategies.registry import register


class BollingerSqueezeParams(StrategyParams):
    bb_window: int = shared_field("bb_window", 20)
    bb_std: float = shared_field("bb_std", 2.0)
    squeeze_lookback: int = shared_field("squeeze_lookback", 120)
    squeeze_quantile: float = shared_field("squeeze_quantile", 0.2)
    squeeze_memory: int = shared_field("squeeze_memory", 10)
    volume_window: int = shared_field("volume_window", 20)
    volume_mult: float = shared_field("volume_mult", 2.0)


@register
class BollingerSqueeze(BaseStrategy[BollingerSqueezeParams]):
    """Buy on a close above the upper Bollinger Band with a volume surge shortly after a squeeze.

    Bands (Bollinger 2001; ``ta.volatility.BollingerBands``): middle = SMA_n(close), upper/lower
    = middle +- k x population stdev_n(close), quote per base. Width = (upper - lower) / middle
    (a fraction). Squeeze at row s: width_s is at or below the q-quantile of the widths of the
    last L candles. Entry at row t: a squeeze on one of the previous ``squeeze_memory`` candles,
    close_t > upper_t, and volume_t >= volume_mult x mean(volume_{t-M..t-1}) (a zero mean is no
    surge). Exit: close_t < middle_t. Playbook: 20 candles, 2 stdev, lowest 20 % of 120 candles,
    volume 2 x the mean of 20.

    Warm-up: bands + ranking lookback + memory + 1 (no smoothing). Output columns: ``bb_upper``,
    ``bb_middle``, ``bb_lower``, ``bb_width``, ``squeeze``, ``volume_ratio``.
    """

    name = "Bollinger_Squeeze"
    params_model = BollingerSqueezeParams

    @property
    def warmup(self) -> int:
        p = self.params
        return max(p.bb_window + p.squeeze_lookback + p.squeeze_memory, p.volume_window) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        for col, values in bollinger(out["close"], p.bb_window, p.bb_std).items():
            out[col] = values
        out["squeeze"] = squeeze(out["bb_width"], p.squeeze_lookback, p.squeeze_quantile)
        out["volume_ratio"] = volume_ratio(out["volume"], p.volume_window)
        out["enter_long"] = (
            seen_within(out["squeeze"], p.squeeze_memory)
            & (out["close"] > out["bb_upper"])
            & at_least(out["volume_ratio"], p.volume_mult)
        )
        out["exit_long"] = out["close"] < out["bb_middle"]
        return out

    def talib_refs(self) -> list[TalibRef]:
        p = self.params
        params = {"timeperiod": p.bb_window, "nbdevup": p.bb_std, "nbdevdn": p.bb_std, "matype": 0}
        return [
            TalibRef(col, "BBANDS", params, output=i) for i, col in enumerate(("bb_upper", "bb_middle", "bb_lower"))
        ]
