"""strategies.indicators and strategies.conditions: the shared building blocks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from ta.volatility import AverageTrueRange

from strategies.conditions import change_over, seen_within, shared_field, volume_ratio
from strategies.indicators import average_true_range, ewm_settle
from tests.strategies.candles import load_episode, make_candles


def test_vectorised_atr_equals_ta_average_true_range_on_real_candles():
    frame = load_episode("BTC-USDT_1m_2021-05-18_19.csv.gz").iloc[:600]
    ours = average_true_range(frame["high"], frame["low"], frame["close"], 14)
    theirs = AverageTrueRange(frame["high"], frame["low"], frame["close"], 14).average_true_range()
    assert ours.iloc[:13].isna().all()  # ta writes 0 there; we say "undefined"
    np.testing.assert_allclose(ours.iloc[13:], theirs.iloc[13:], rtol=1e-12)


def test_atr_of_fewer_candles_than_its_window_is_undefined():
    frame = make_candles([10, 11, 12])
    assert average_true_range(frame["high"], frame["low"], frame["close"], 14).isna().all()
    with pytest.raises(ValueError, match="ATR window 0"):
        average_true_range(frame["high"], frame["low"], frame["close"], 0)


@pytest.mark.parametrize("alpha", [1 / 14, 2 / 22, 0.5])
def test_ewm_settle_is_the_first_candle_count_where_the_seed_weighs_under_the_tolerance(alpha):
    k = ewm_settle(alpha, 1e-8)
    assert (1 - alpha) ** k <= 1e-8 < (1 - alpha) ** (k - 1)
    with pytest.raises(ValueError, match="alpha 1.5"):
        ewm_settle(1.5)


def test_change_over_matches_by_timestamp_not_by_row():
    frame = make_candles([100, 101, 102, 110, 120], minutes=[0, 1, 2, 4, 5])
    change = change_over(frame, 2)
    assert math.isnan(change.iat[0]) and math.isnan(change.iat[1])
    assert change.iat[2] == pytest.approx(0.02)  # 10:02 vs 10:00
    assert change.iat[3] == pytest.approx(110 / 102 - 1)  # 10:04 vs 10:02
    assert math.isnan(change.iat[4])  # 10:05 vs 10:03, which is missing (two rows back is 10:02)


def test_volume_ratio_is_undefined_not_infinite_on_a_zero_baseline():
    ratio = volume_ratio(pd.Series([0.0, 0.0, 0.0, 5.0, 4.0]), 3)
    assert ratio.isna().tolist() == [True, True, True, True, False]
    assert ratio.iat[4] == pytest.approx(4 / (5 / 3))


def test_seen_within_looks_at_previous_rows_only():
    mask = pd.Series([False, True, False, False, False, False])
    assert seen_within(mask, 2).tolist() == [False, False, True, True, False, False]


def test_shared_field_keeps_bounds_and_description_with_a_new_default():
    field = shared_field("volume_mult", 3.0)
    assert field.default == 3.0 and field.description
    assert {type(m).__name__ for m in field.metadata} >= {"Gt", "Le"}
