"""Donchian_Breakout: a close above the Donchian upper band, one entry per breakout leg."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from strategies.base import BaseStrategy, StrategyParams
from strategies.conditions import donchian
from strategies.indicators import TalibRef
from strategies.registry import register

REARM_WINDOWS = 10
"""The warm-up covers this many channel windows, so the re-entry state is the same as with more history."""


class DonchianBreakoutParams(StrategyParams):
    window: int = Field(
        20,
        ge=2,
        le=2000,
        json_schema_extra={"search": {"low": 10, "high": 500}},
        description="Donchian channel window, candles",
    )
    shift: int = Field(
        1,
        ge=1,
        le=100,
        json_schema_extra={"search": {"low": 1, "high": 10}},
        description="The channel ends this many candles before the current one (1: excludes it)",
    )
    exit_window: int = Field(
        10,
        ge=1,
        le=2000,
        json_schema_extra={"search": {"low": 5, "high": 200}},
        description="Sell on a close below the lowest low of this window (same shift), candles",
    )


@register
class DonchianBreakout(BaseStrategy[DonchianBreakoutParams]):
    """Buy on a close above the Donchian upper band; after that, re-entry only once price has come
    back to the mid-channel and crossed over again.

    Channel (Donchian; ``ta.volatility.DonchianChannel``, quote per base): upper = highest high
    and lower = lowest low of the ``window`` candles ending ``shift`` candles before row t; middle
    = (upper + lower) / 2. Breakout at row t: close_t > upper_t. Re-arm at row t: close_t <=
    middle_t. Entry: a breakout when the latest breakout-or-re-arm row before t is a re-arm (or
    there is none), so one breakout leg gives one entry and a position closed by a stop or a
    take-profit is not bought back until price has crossed back over the mid-channel. Exit:
    close_t below the lowest low of the ``exit_window`` channel (same shift). Playbook: 20 / 10,
    shift 1 (Turtle rules).

    Warm-up: shift + 10 channel windows, so the re-arm state seldom depends on older history.
    Output columns: ``dc_upper``, ``dc_middle``, ``dc_lower``, ``dc_exit``.
    """

    name = "Donchian_Breakout"
    params_model = DonchianBreakoutParams

    @property
    def warmup(self) -> int:
        p = self.params
        return p.shift + REARM_WINDOWS * max(p.window, p.exit_window) + 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        p = self.params
        out = candles.copy()
        channel = donchian(out["high"], out["low"], out["close"], p.window, p.shift)
        out["dc_upper"], out["dc_middle"], out["dc_lower"] = channel["upper"], channel["middle"], channel["lower"]
        out["dc_exit"] = donchian(out["high"], out["low"], out["close"], p.exit_window, p.shift)["lower"]
        breakout = (out["close"] > out["dc_upper"]).to_numpy()
        rearm = (out["close"] <= out["dc_middle"]).to_numpy()
        # 1.0 after a breakout, 0.0 after a re-arm, NaN before either: the state entering row t
        state = pd.Series(np.where(breakout, 1.0, np.where(rearm, 0.0, np.nan)), index=out.index).ffill().shift(1)
        out["enter_long"] = breakout & (state != 1.0).to_numpy()
        out["exit_long"] = out["close"] < out["dc_exit"]
        return out

    def talib_refs(self) -> list[TalibRef]:
        p = self.params
        return [
            TalibRef("dc_upper", "MAX", {"timeperiod": p.window}, ("high",), shift=p.shift),
            TalibRef("dc_lower", "MIN", {"timeperiod": p.window}, ("low",), shift=p.shift),
            TalibRef("dc_exit", "MIN", {"timeperiod": p.exit_window}, ("low",), shift=p.shift),
        ]
