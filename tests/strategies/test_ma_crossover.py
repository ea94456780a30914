"""MA_Crossover (strategies/ma_crossover.py): scenario, TA-Lib agreement, real episode."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from pydantic import ValidationError

import strategies  # noqa: F401
from strategies import registry
from tests.strategies.candles import load_episode, make_candles, rows_where, utc_ms

MA = registry.get("MA_Crossover")


def test_ma_crossover_buys_the_golden_cross_and_sells_the_death_cross():
    # SMA(2) vs SMA(3): falling, then rising from row 5, then falling again from row 9
    closes = [10, 9, 8, 7, 6, 7, 8, 9, 10, 8, 6, 5]
    out = MA({"short_period": 2, "long_period": 3}).populate(make_candles(closes))
    assert rows_where(out, "enter_long") == [6]
    assert rows_where(out, "exit_long") == [10]


def test_ma_crossover_rejects_short_not_shorter_than_long():
    with pytest.raises(ValidationError, match=r"short_period \(200\) must be less than long_period \(50\)"):
        MA({"short_period": 200, "long_period": 50})


def test_ma_crossover_smas_agree_with_talib():
    frame = load_episode("BTC-USDT_1m_2021-05-18_19.csv.gz")
    out = MA().populate(frame)
    for col, period in (("sma_short", 50), ("sma_long", 200)):
        theirs = talib.SMA(frame["close"].to_numpy(np.float64), timeperiod=period)
        np.testing.assert_allclose(out[col].to_numpy()[period:], theirs[period:], rtol=1e-9)


def test_ma_crossover_buys_the_doge_spike():
    frame = load_episode("DOGE-USDT_1m_2021-05-19_20.csv.gz")
    out = MA().signals(frame)
    window = out[(out["timestamp"] >= utc_ms("2021-05-20 10:40")) & (out["timestamp"] <= utc_ms("2021-05-20 10:45"))]
    assert window["enter_long"].any()
