"""Real spike episodes (tests/data/episodes, see its README): each strategy, with the playbook
defaults, fires inside the episode window. Times are UTC candle opens, windows inclusive."""

from __future__ import annotations

import pytest

import strategies  # noqa: F401
from strategies import registry
from tests.strategies.candles import load_episode, utc_ms

DOGE_0520 = "DOGE-USDT_1m_2021-05-19_20.csv.gz"  # +15.7 % in 3 min at 2021-05-20 10:40, volume x43
BTC_0519 = "BTC-USDT_1m_2021-05-18_19.csv.gz"  # -9.7 % crash at 2021-05-19 13:04, then the rebound
BTC_2026 = "BTC-USDT_1m_2026-03-22_23.csv.gz"  # +3.85 % at 2026-03-23 11:04, volume x90

EPISODES = [
    # strategy, file, window start, window end, column
    ("Volume_Breakout", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("Bollinger_Squeeze", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("EMA_Crossover_Volume", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("Donchian_Breakout", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("ATR_Expansion", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("Momentum_Chase", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("MACD_Crossover", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("Confluence", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:43", "enter_long"),
    ("RSI_Reversion", DOGE_0520, "2021-05-20 10:40", "2021-05-20 10:46", "exit_long"),  # overbought
    # the +36 % rebound of 2021-05-19 12:54 after the crash: RSI leaves oversold, momentum
    ("RSI_Reversion", DOGE_0520, "2021-05-19 12:54", "2021-05-19 12:57", "enter_long"),
    ("Momentum_Chase", DOGE_0520, "2021-05-19 12:54", "2021-05-19 12:57", "enter_long"),
    # BTC crash bottom: a 5m bullish divergence confirmed on 1m within the hour after the low
    ("RSI_Divergence", BTC_0519, "2021-05-19 13:10", "2021-05-19 14:00", "enter_long"),
    ("ATR_Expansion", BTC_0519, "2021-05-19 12:45", "2021-05-19 13:09", "exit_long"),
    ("Momentum_Chase", BTC_2026, "2026-03-23 11:04", "2026-03-23 11:09", "enter_long"),
    ("Volume_Breakout", BTC_2026, "2026-03-23 11:04", "2026-03-23 11:09", "enter_long"),
]


@pytest.mark.parametrize(
    "name,episode,start,end,column", EPISODES, ids=[f"{e[0]}-{e[1][:4]}-{e[2]}-{e[4]}" for e in EPISODES]
)
def test_strategy_fires_inside_the_real_episode(name, episode, start, end, column):
    candles = load_episode(episode)
    strategy = registry.get(name)()
    first = int((candles["timestamp"] >= utc_ms(start)).to_numpy().argmax())
    assert first >= strategy.warmup, "the slice must hold the warm-up before the episode"
    out = strategy.signals(candles)
    window = out[(out["timestamp"] >= utc_ms(start)) & (out["timestamp"] <= utc_ms(end))]
    assert window[column].any(), f"{name} did not set {column} between {start} and {end}"


def test_live_style_last_signal_on_the_spike_candle():
    """Feeding candles up to the spike candle only (as live does) gives the BUY at its close."""
    candles = load_episode(DOGE_0520)
    spike = int((candles["timestamp"] == utc_ms("2021-05-20 10:41")).to_numpy().argmax())
    signal = registry.get("Volume_Breakout")().last_signal(candles.iloc[: spike + 1], "DOGE/USDT")
    assert signal is not None and signal.action.value == "buy"
    assert signal.timestamp == utc_ms("2021-05-20 10:42")  # close time of the 10:41 candle
