"""The lookahead check names the column that reads the future, or that needs more warm-up."""

from __future__ import annotations

import pandas as pd

from daybreak.drivers.lookahead import check_strategy, format_result
from strategies import registry
from strategies.base import BaseStrategy, StrategyParams
from tests.strategies.candles import load_episode


class _Peeks(BaseStrategy):
    """Buys when the next close is higher: a classic look-ahead (shift(-1))."""

    name = "Peeks"
    params_model = StrategyParams

    @property
    def warmup(self) -> int:
        return 5

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        out = candles.copy()
        out["sma"] = out["close"].rolling(5).mean()
        out["next_close"] = out["close"].shift(-1)
        out["enter_long"] = out["next_close"] > out["close"]
        out["exit_long"] = out["next_close"] < out["close"]
        return out


class _ShortWarmup(BaseStrategy):
    """An expanding mean: its value depends on how much history there is (warm-up never enough)."""

    name = "ShortWarmup"
    params_model = StrategyParams

    @property
    def warmup(self) -> int:
        return 30

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        out = candles.copy()
        out["mean_all"] = out["close"].expanding().mean()
        out["enter_long"] = out["close"] > out["mean_all"] * 1.001
        out["exit_long"] = out["close"] < out["mean_all"] * 0.999
        return out


FRAME = load_episode("DOGE-USDT_1m_2021-04-22_25.csv.gz")


def test_a_column_reading_the_next_candle_is_named():
    result = check_strategy(_Peeks(), FRAME, "DOGE/USDT", "1m")
    cols = {(f.check, f.column) for f in result.findings}
    assert ("lookahead", "next_close") in cols and ("lookahead", "sma") not in cols
    text = format_result(result)
    assert "LOOK-AHEAD column 'next_close'" in text and "reads candles after row" in text


def test_a_column_that_needs_more_history_than_the_warm_up_is_named():
    result = check_strategy(_ShortWarmup(), FRAME, "DOGE/USDT", "1m")
    assert ("warmup", "mean_all") in {(f.check, f.column) for f in result.findings}
    assert not [f for f in result.findings if f.check == "lookahead"]
    assert "WARM-UP column 'mean_all'" in format_result(result)


def test_registered_strategies_pass_including_across_the_data_gap():
    for name in ("MA_Crossover", "RSI_Divergence", "Confluence"):
        result = check_strategy(registry.build(name, None), FRAME, "DOGE/USDT", "1m")
        assert result.ok, format_result(result)
        assert len(result.cuts) > 10 and result.warmup_ends
