"""Hand-written candles, expected signals: Volume_Breakout, Bollinger_Squeeze, Donchian_Breakout,
RSI_Divergence (5m context, 1m confirmation) and Confluence."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

import strategies  # noqa: F401
from strategies import registry
from tests.strategies.candles import make_candles, rows_where


def populate(name: str, params: dict, closes, **candle_kw):
    return registry.get(name)(params).populate(make_candles(closes, **candle_kw))


def signals(name: str, params: dict, closes, **candle_kw) -> tuple[list[int], list[int]]:
    out = populate(name, params, closes, **candle_kw)
    return rows_where(out, "enter_long"), rows_where(out, "exit_long")


BREAKOUT = {"breakout_window": 3, "volume_window": 3, "volume_mult": 3, "exit_window": 2}
BREAKOUT_CLOSES = [10, 10.2, 10.1, 10.3, 10.2, 10.6, 10.7, 10.4, 10.1, 9.9]


@pytest.mark.parametrize("volume,enter", [(4, [5]), (2.9, []), (0, [])])
def test_volume_breakout_needs_a_new_high_on_three_times_the_volume(volume, enter):
    # row 5 closes 10.6 above the highest high of rows 2-4 (10.3); row 6 makes a new high on
    # normal volume; row 8 closes below the lowest low of rows 6-7 (10.4), row 9 below 10.1
    volumes = [1, 1, 1, 1, 1, volume, 1, 1, 1, 1]
    assert signals("Volume_Breakout", BREAKOUT, BREAKOUT_CLOSES, volumes=volumes) == (enter, [8, 9])


def test_volume_breakout_after_zero_volume_candles_gives_no_signal():
    volumes = [0, 0, 0, 0, 0, 4, 1, 1, 1, 1]  # baseline mean 0: the ratio is undefined, not infinite
    assert signals("Volume_Breakout", BREAKOUT, BREAKOUT_CLOSES, volumes=volumes)[0] == []


SQUEEZE = {
    "bb_window": 4,
    "bb_std": 1.0,
    "squeeze_lookback": 10,
    "squeeze_quantile": 0.2,
    "squeeze_memory": 5,
    "volume_window": 3,
    "volume_mult": 2,
}
WIDENING = [10, 10.2, 9.8, 10.3, 9.7, 10.4, 9.6, 10.5, 9.5, 10.6, 9.4, 10.7]


def test_bollinger_squeeze_buys_the_breakout_after_the_bands_narrowed():
    closes = WIDENING + [10.05, 10.0, 10.05, 10.0, 10.05] + [11, 10.9, 10.3]
    volumes = [1] * 17 + [5, 1, 1]
    out = populate("Bollinger_Squeeze", SQUEEZE, closes, volumes=volumes)
    assert rows_where(out, "squeeze") == [14, 15, 16]  # the tight closes
    assert rows_where(out, "enter_long") == [17]  # close 11 above the upper band, volume 5
    assert 19 in rows_where(out, "exit_long")  # 10.3 below the middle band
    volumes[17] = 1.5
    assert rows_where(populate("Bollinger_Squeeze", SQUEEZE, closes, volumes=volumes), "enter_long") == []


def test_bollinger_squeeze_ignores_a_breakout_from_wide_bands():
    closes = WIDENING + [9.3, 10.8, 9.2, 10.9, 9.1] + [12.5, 10.9, 10.3]
    out = populate("Bollinger_Squeeze", SQUEEZE, closes, volumes=[1] * 17 + [5, 1, 1])
    assert out["close"].iat[17] > out["bb_upper"].iat[17] and rows_where(out, "squeeze") == []
    assert rows_where(out, "enter_long") == []


def test_donchian_breakout_enters_once_per_leg_and_rearms_at_the_mid_channel():
    # channel of the 3 previous candles; row 5 breaks out, row 6 is still above the band (same
    # leg); row 9 closes at 10.9 <= mid 11.6 (re-armed); row 10 breaks out again; row 13 makes a
    # new high after a dip (12.3) that stayed above the mid-channel: no second entry
    closes = [10, 11, 10, 11, 10, 11.5, 12, 11.8, 11.2, 10.9, 12.5, 12.6, 12.3, 12.7, 11.0]
    got = signals("Donchian_Breakout", {"window": 3, "shift": 1, "exit_window": 2}, closes)
    assert got == ([5, 10], [8, 9, 14])


def test_donchian_breakout_shift_zero_is_rejected_because_a_close_cannot_exceed_its_own_high():
    with pytest.raises(ValidationError, match="shift"):
        registry.get("Donchian_Breakout")({"shift": 0})


def _five_minute_path(closes5: list[float]) -> list[float]:
    """1m closes walking in five equal steps from each 5m close to the next."""
    out, prev = [], closes5[0]
    for close in closes5:
        out += list(np.linspace(prev, close, 6)[1:])
        prev = close
    return out


DIVERGENCE = {
    "rsi_period": 2,
    "swing_strength": 1,
    "max_swing_gap": 10,
    "signal_valid": 3,
    "ema_period": 3,
    "volume_window": 2,
    "volume_mult": 1.0,
}
# 5m closes: a sharp dip to 96 (5m candle 3, RSI(2) 0), a bounce, a slower dip to a lower 95.5
# (candle 8, RSI 9): lower low, higher RSI. Candle 9 (closes on 1m row 49) confirms the swing.
DIVERGENCE_5M = [100, 99, 98, 96, 98, 99, 98.5, 97, 95.5, 97, 99, 100, 100.5]


def test_rsi_divergence_uses_the_5m_divergence_only_after_its_confirming_candle_closed():
    closes = _five_minute_path(DIVERGENCE_5M)
    volumes = [1.0] * len(closes)
    volumes[50] = 3.0  # above-average 1m volume one minute after the confirmation
    out = populate("RSI_Divergence", DIVERGENCE, closes, volumes=volumes)
    bull = rows_where(out, "bull_div_5m")
    assert bull[0] == 49 and bull == list(range(49, 64))  # valid for 3 closed 5m candles
    assert rows_where(out, "enter_long") == [50]
    assert rows_where(out, "exit_long") == []
    volumes[50] = 1.0  # no above-average volume: no confirmation
    assert rows_where(populate("RSI_Divergence", DIVERGENCE, closes, volumes=volumes), "enter_long") == []


def test_rsi_divergence_sells_on_a_bearish_divergence():
    mirrored = [200 - c for c in DIVERGENCE_5M]  # higher high with lower RSI
    out = populate("RSI_Divergence", DIVERGENCE, _five_minute_path(mirrored))
    assert rows_where(out, "exit_long")[:5] == [49, 50, 51, 52, 53]  # while candle 9 is the newest


def test_rsi_divergence_refuses_5m_candles():
    with pytest.raises(ValidationError, match="RSI_Divergence reads 5m context from 1m candles"):
        registry.get("RSI_Divergence")({"timeframe": "5m"})


CONFLUENCE = {
    "conditions": ["volume_surge", "momentum", "price_breakout"],
    "min_count": 2,
    "volume_window": 3,
    "volume_mult": 2,
    "breakout_window": 3,
    "ema_fast": 2,
    "ema_slow": 3,
}
# row 6: volume surge only; row 7: breakout only (101 > 100); row 8: breakout and +3.5 % in 5 min
CONFLUENCE_CLOSES = [100] * 6 + [100, 101, 103.5, 101, 99]
CONFLUENCE_VOLUMES = [1] * 6 + [5, 1, 1, 1, 1]


def test_confluence_buys_when_enough_conditions_hold_on_one_candle():
    out = populate("Confluence", CONFLUENCE, CONFLUENCE_CLOSES, volumes=CONFLUENCE_VOLUMES)
    assert out["cond_count"].tolist()[6:9] == [1, 1, 2]
    assert rows_where(out, "enter_long") == [8]
    assert rows_where(out, "exit_long") == [10]  # EMA(2) crosses below EMA(3)
    strict = populate("Confluence", {**CONFLUENCE, "min_count": 3}, CONFLUENCE_CLOSES, volumes=CONFLUENCE_VOLUMES)
    assert rows_where(strict, "enter_long") == []


@pytest.mark.parametrize(
    "params,message",
    [
        ({"conditions": ["squeeze", "squeeze"]}, "names a condition twice"),
        ({"conditions": ["squeeze"], "min_count": 2}, r"min_count \(2\) exceeds the number of conditions \(1\)"),
        ({"conditions": ["moon_phase"]}, "moon_phase"),
        ({"conditions": []}, "at least 1 item"),
    ],
)
def test_confluence_validates_its_conditions(params, message):
    with pytest.raises(ValidationError, match=message):
        registry.get("Confluence")(params)
