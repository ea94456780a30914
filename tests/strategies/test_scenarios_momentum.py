"""Hand-written candles, expected signals: RSI_Reversion, MACD_Crossover, EMA_Crossover_Volume,
ATR_Expansion, Momentum_Chase. Short windows keep the scenarios a dozen candles long."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import strategies  # noqa: F401
from strategies import registry
from tests.strategies.candles import make_candles, rows_where


def signals(name: str, params: dict, closes, **candle_kw) -> tuple[list[int], list[int]]:
    out = registry.get(name)(params).populate(make_candles(closes, **candle_kw))
    return rows_where(out, "enter_long"), rows_where(out, "exit_long")


def test_rsi_reversion_buys_the_first_candle_out_of_oversold_and_sells_above_overbought():
    # four falling candles push RSI(2) near 0; the first up candle (row 6) lifts it to ~37 > 30;
    # the next three up candles take it above 70
    closes = [10, 9.9, 9.8, 9, 8, 7, 7.5, 8.5, 9.5, 10.5, 10.4]
    assert signals("RSI_Reversion", {"rsi_period": 2}, closes) == ([6], [7, 8, 9, 10])
    # with oversold at 40 the first up candle (RSI ~37) is not enough: the cross comes a candle later
    enter, _ = signals("RSI_Reversion", {"rsi_period": 2, "rsi_oversold": 40}, closes)
    assert enter == [7]


def test_rsi_reversion_rejects_oversold_above_overbought():
    with pytest.raises(ValidationError, match=r"rsi_oversold \(80.0\) must be below rsi_overbought \(70.0\)"):
        registry.get("RSI_Reversion")({"rsi_oversold": 80})


def test_macd_crossover_buys_the_turn_and_sells_the_roll_over():
    closes = [10, 10, 10, 9, 8, 7, 6, 6.5, 7.5, 8.5, 9.5, 9, 8, 7]
    assert signals("MACD_Crossover", {"fast": 2, "slow": 3, "signal": 2}, closes) == ([7], [11])


def test_macd_crossover_names_both_fields_when_fast_is_not_faster():
    with pytest.raises(ValidationError, match=r"fast \(26\) must be less than slow \(12\)"):
        registry.get("MACD_Crossover")({"fast": 26, "slow": 12})


EMA_PARAMS = {"ema_fast": 2, "ema_slow": 4, "volume_window": 3, "volume_mult": 2}
EMA_CLOSES = [10, 10, 9.5, 9, 8.5, 8, 8.5, 9.5, 10.5, 10, 9, 8]  # golden cross on row 7, death cross on row 10


@pytest.mark.parametrize(
    "volumes,enter",
    [
        ([1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 1, 1], [7]),  # 5 >= 2 x mean(1, 1, 1): surge
        ([1, 1, 1, 1, 1, 1, 1, 1.9, 1, 1, 1, 1], []),  # 1.9 < 2: cross without volume
        ([1, 1, 1, 1, 0, 0, 0, 5, 1, 1, 1, 1], []),  # zero-volume baseline: 5 / 0 is no surge
    ],
)
def test_ema_crossover_volume_needs_the_surge_on_the_cross_candle(volumes, enter):
    assert signals("EMA_Crossover_Volume", EMA_PARAMS, EMA_CLOSES, volumes=volumes) == (enter, [10])


ATR_OPENS = [10, 10.5, 10, 10.5, 10, 10, 12.8, 12.9, 10.4, 10.5]
ATR_HIGHS = [10.5, 10.5, 10.5, 10.5, 10.5, 13, 13.2, 13, 10.9, 11.2]
ATR_LOWS = [10, 10, 10, 10, 10, 10, 12.5, 10.2, 10.1, 10.3]
ATR_CLOSES = [10.5, 10, 10.5, 10, 10.5, 12.8, 12.9, 10.4, 10.5, 11.0]


def test_atr_expansion_buys_a_wide_up_candle_and_sells_a_wide_down_candle():
    # ATR(3) is 0.5 before row 5, whose range 3.0 closes up (6 x ATR); row 7 spans 2.8 closing
    # down (2.5 x the ATR of 1.12); row 6 (range 0.7) is not wide
    got = signals(
        "ATR_Expansion", {"atr_period": 3, "range_mult": 2}, ATR_CLOSES, opens=ATR_OPENS, highs=ATR_HIGHS, lows=ATR_LOWS
    )
    assert got == ([5], [7])
    wider = signals(
        "ATR_Expansion", {"atr_period": 3, "range_mult": 3}, ATR_CLOSES, opens=ATR_OPENS, highs=ATR_HIGHS, lows=ATR_LOWS
    )
    assert wider == ([5], [])


MOMENTUM = {"lookback_minutes": 5, "exit_ema": 3}


def test_momentum_chase_buys_once_when_up_three_percent_in_five_minutes():
    # row 8 closes 3.5 % above row 3 (five minutes earlier); row 9 (+4 %) is the same move
    closes = [100] * 6 + [101, 102, 103.5, 104, 103, 102]
    assert signals("Momentum_Chase", MOMENTUM, closes) == ([8], [10])
    assert signals("Momentum_Chase", {**MOMENTUM, "rise_ratio": 0.05}, closes)[0] == []


def test_momentum_chase_does_not_read_a_gap_as_a_fast_move():
    # the candle five minutes before 10:11 is missing (gap 10:06-10:10): no reference, no signal,
    # although the row five rows back is 3.5 % lower
    closes = [100] * 6 + [103.5, 104]
    assert signals("Momentum_Chase", MOMENTUM, closes, minutes=[0, 1, 2, 3, 4, 5, 11, 12]) == ([], [])


def test_momentum_chase_on_5m_candles_looks_back_one_candle():
    closes = [100, 100, 100, 103.2, 103.3]
    assert signals("Momentum_Chase", {**MOMENTUM, "timeframe": "5m"}, closes, step_minutes=5)[0] == [3]
    with pytest.raises(ValidationError, match=r"lookback_minutes \(7\) is not a whole number of 5m candles"):
        registry.get("Momentum_Chase")({"timeframe": "5m", "lookback_minutes": 7})
