"""daybreak.core.timeframes: 5m candles from closed 1m candles, aligned back with no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daybreak.core.timeframes import context_frame, resample, timeframe_ms
from tests.strategies.candles import load_episode, make_candles, utc_ms


def test_timeframe_ms_and_bad_timeframe_message():
    assert timeframe_ms("1m") == 60_000
    assert timeframe_ms("5m") == 300_000
    with pytest.raises(ValueError, match="timeframe '5x'"):
        timeframe_ms("5x")
    with pytest.raises(ValueError, match="'0m'"):
        timeframe_ms("0m")


def test_resample_aggregates_ohlcv_and_drops_the_forming_bucket():
    # 10:00-10:04 complete bucket, then 10:05-10:07 still forming
    frame = make_candles(
        [10, 12, 9, 11, 10.5, 10.6, 10.7, 10.8],
        volumes=[1, 2, 3, 4, 5, 6, 7, 8],
        highs=[10, 13, 11, 12, 11, 11, 11, 11],
        lows=[9, 10, 8.5, 9, 10, 10, 10, 10],
    )
    out = resample(frame, "5m")
    assert out.to_dict("records") == [
        {"timestamp": utc_ms("2021-05-20 10:00"), "open": 10.0, "high": 13.0, "low": 8.5, "close": 10.5, "volume": 15.0}
    ]


def test_resample_emits_a_bucket_whose_end_fell_into_a_gap_once_time_moved_on():
    # 10:00-10:02 present, 10:03-10:09 missing (maintenance), 10:10 present
    frame = make_candles([10, 11, 12, 13], minutes=[0, 1, 2, 10])
    assert resample(frame.iloc[:3], "5m").empty  # at 10:02 the bucket may still be forming
    out = resample(frame, "5m")
    assert out["timestamp"].tolist() == [utc_ms("2021-05-20 10:00")]
    assert out["close"].tolist() == [12.0]


def test_resample_rejects_a_timeframe_that_is_not_a_multiple():
    with pytest.raises(ValueError, match="'7m' is not a multiple of base timeframe '5m'"):
        resample(make_candles([1, 2]), "7m", "5m")


def test_resample_of_real_1m_equals_binance_native_5m_across_the_maintenance_gap():
    one = load_episode("DOGE-USDT_1m_2021-04-22_25.csv.gz")
    native = load_episode("DOGE-USDT_5m_2021-04-24_25.csv.gz")
    one = one[one["timestamp"] >= native["timestamp"].iat[0]].reset_index(drop=True)
    built = resample(one, "5m")
    assert len(built) == len(native) == 520
    pd.testing.assert_frame_equal(built, native, check_exact=False, rtol=1e-12)


def test_context_frame_uses_a_5m_candle_only_after_its_fifth_minute_closed():
    frame = make_candles(np.arange(10.0, 20.0))  # 10:00 .. 10:09
    ctx = resample(frame, "5m").assign(flag=[True, False])
    aligned = context_frame(frame, ctx[["timestamp", "close", "flag"]], "5m")
    # row 10:04 closes at 10:05 = when the 10:00 bucket closes; row 10:09 closes the 10:05 bucket
    assert aligned["close"].isna().tolist() == [True] * 4 + [False] * 6
    assert aligned["close"].tolist()[4:] == [14.0] * 5 + [19.0]
    assert aligned["flag"].tolist() == [False] * 4 + [True] * 5 + [False]
    assert aligned["flag"].dtype == bool


def test_context_frame_across_a_gap_and_on_truncated_history_never_looks_ahead():
    frame = load_episode("DOGE-USDT_1m_2021-04-22_25.csv.gz")
    gap = int(np.flatnonzero(np.diff(frame["timestamp"]) > 60_000)[0])  # last row before the gap
    full = context_frame(frame, resample(frame, "5m"), "5m")
    for n in [1, 2, 3, 4, 5, 6, 7, gap - 1, gap, gap + 1, gap + 2, gap + 3, len(frame) - 2]:
        part = frame.iloc[:n]
        got = context_frame(part, resample(part, "5m"), "5m")
        pd.testing.assert_frame_equal(got, full.iloc[:n])
    # every aligned candle had closed by the close of its row
    ctx = resample(frame, "5m")
    opened = context_frame(frame, ctx.assign(opened=ctx["timestamp"].astype(float)), "5m")["opened"]
    assert (opened + 300_000 <= frame["timestamp"] + 60_000).where(opened.notna(), True).all()
