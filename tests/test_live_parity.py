"""The live loop in paper mode against the fake exchange equals ``run --replay`` of the same candles.

The fake serves the shipped real candles with a fast clock (one minute per cycle); the live bot
polls them like Binance.US. Documented fill convention (README "How it trades"): a paper order
decided at a candle's close fills at the next candle's open, the open of the candle forming at
the poll that saw the close, as replay fills at the next open. The replay starts acting where
the live bot started (its cursor), so both decide on the same candles from the same state.
"""

from __future__ import annotations

import math

import pytest
from ta.volatility import AverageTrueRange

from daybreak.drivers.live import run_live
from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from storage.sqlite import SQLiteStore
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import write_config
from tests.test_parity import assert_same

MINUTE = 60_000
SYMBOLS = ("BTC/USDT", "ETH/USDT")
FIRST = int(sample_candles()["timestamp"].iat[0])


def _live(cfg_path, fake, start_minute: int, cycles: int) -> int:
    """Run the live paper bot for ``cycles`` minutes from ``start_minute`` into the sample;
    returns the close time (ms) of the last candle it saw."""
    fake.set_clock(FIRST + start_minute * MINUTE + 1_000)

    def sleep(_seconds):
        fake.set_clock(fake.now() + MINUTE)

    assert (
        run_live(
            cfg_path,
            load_config(cfg_path),
            lambda: False,
            exchange=exchange_for(fake),
            clock=fake.now,
            sleep=sleep,
            max_cycles=cycles,
        )
        == 0
    )
    return FIRST + (start_minute + cycles - 1) * MINUTE


def _replay(tmp_path, overrides: dict, start_close: int, end_close: int):
    """``run --replay`` of the candles closing up to ``end_close``, acting after ``start_close``."""
    folder = tmp_path / "replay"
    folder.mkdir()
    files = []
    for symbol in SYMBOLS:
        frame = sample_candles(symbol)
        frame = frame[frame["timestamp"] + MINUTE <= end_close]
        path = folder / f"{symbol.replace('/', '-')}_1m.csv.gz"
        frame.to_csv(path, index=False, compression="gzip")
        files.append(path)
    cfg_path = write_config(folder, **overrides)
    config = load_config(cfg_path)
    store = SQLiteStore(config.storage.path)
    for symbol in SYMBOLS:  # where the live bot started acting (a fresh store: its first close)
        store.set_state(f"cursor:{symbol}", str(start_close))
    store.close()
    ctx = build_context(cfg_path, config)
    try:
        run_replay(ctx, load_files(files, config))
        return ctx.store.list_trades()
    finally:
        ctx.shutdown()


@pytest.mark.parametrize(
    "algos",
    [
        {"MA_Crossover": True, "RSI_Reversion": True, "MACD_Crossover": True, "EMA_Crossover_Volume": True},
        {"Bollinger_Squeeze": True, "Donchian_Breakout": True, "Volume_Breakout": True, "Momentum_Chase": True},
    ],
    ids=["crossovers", "breakouts"],
)
def test_live_paper_run_equals_the_replay_of_the_same_candles(tmp_path, fake_binance, algos):
    overrides = dict(
        algos=algos, params={"MA_Crossover": {"short_period": 5, "long_period": 20}}, risk={}, external_signals=False
    )
    live_cfg = write_config(tmp_path, **overrides)
    start_minute, cycles = 400, 240
    end_close = _live(live_cfg, fake_binance, start_minute, cycles)
    live_store = SQLiteStore(tmp_path / "daybreak.db")
    live = live_store.list_trades()
    start_close = FIRST + start_minute * MINUTE
    assert live, "the strategies trade in those four hours"
    assert min(t.timestamp for t in live) > start_close, "no warm-up candle was acted on"
    replayed = _replay(tmp_path, overrides, start_close, end_close)
    assert_same(live, replayed)
    assert len(live) == len(replayed)
    candles = {s: sample_candles(s).set_index("timestamp") for s in SYMBOLS}
    for t in live:  # and each fill is the next candle's open (+/- 5 bps), at that open
        open_ = candles[t.symbol]["open"][t.timestamp]
        assert t.price == pytest.approx(open_ * (1.0005 if t.action == "buy" else 0.9995), rel=1e-12)
    live_store.close()


def test_a_restarted_live_bot_goes_on_as_if_it_had_not_stopped(tmp_path, fake_binance):
    """Stopped and started again (positions, pending orders and each symbol's cursor restored
    from the store, the candle history fetched again), the live bot makes the trades of one
    uninterrupted run: none twice, none missed."""
    overrides = dict(
        algos={"MA_Crossover": True, "RSI_Reversion": True},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk={},
        external_signals=False,
    )
    cfg = write_config(tmp_path, **overrides)
    _live(cfg, fake_binance, 400, 90)
    store = SQLiteStore(tmp_path / "daybreak.db")
    assert store.list_positions() or store.get_state("pending_orders") != "[]", "something is open at the stop"
    end_close = _live(cfg, fake_binance, 489, 90)
    live = store.list_trades()
    store.close()
    replayed = _replay(tmp_path, overrides, FIRST + 400 * MINUTE, end_close)
    assert_same(live, replayed)


def test_the_live_loop_stops_on_an_atr_stop_and_sizes_entries_by_atr(tmp_path, fake_binance):
    """ATR(14) as replay computes it (whole history; the live buffer is long enough for Wilder's
    ATR to settle): each risk-sized entry's amount is what ``ta``'s ATR over the whole recorded
    history gives, and the ATR stop fires at the polled price once it is at or below the stop."""
    risk = {"stop_loss_atr_mult": 1.0, "sizing": "risk", "risk_per_trade_ratio": 0.002, "max_trade_equity_ratio": 0.5}
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        algos={"MA_Crossover": True},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk=risk,
        external_signals=False,
    )
    _live(cfg, fake_binance, 400, 300)
    store = SQLiteStore(tmp_path / "daybreak.db")
    trades = store.list_trades()
    store.close()
    frame = sample_candles("BTC/USDT")
    atr = AverageTrueRange(frame["high"], frame["low"], frame["close"], 14).average_true_range()
    atr.index = frame["timestamp"] + MINUTE  # by close time
    close = frame.set_index("timestamp")["close"]
    cash, entry_atr, stops = 10_000.0, {}, 0
    for t in trades:
        if t.action == "buy":  # decided at the close before the fill's candle
            decided = t.timestamp
            a, price = float(atr[decided]), float(close[decided - MINUTE])
            expected = min(0.002 * cash / a, 0.5 * cash / price)
            assert t.amount == pytest.approx(math.floor(expected / 1e-5 + 1e-9) * 1e-5, abs=1e-12)
            entry_atr[t.algo] = (t.price, a)
        else:
            cash += t.pnl
            if t.exit_reason == "stop_loss":
                stops += 1
                polled = float(close[t.timestamp - t.timestamp % MINUTE - MINUTE])
                assert t.price == pytest.approx(polled * 0.9995, rel=1e-12), "filled at the polled price"
                entry, a = entry_atr[t.algo]
                assert polled <= entry - a + 1e-6, "the stop was reached: entry - 1 x ATR"
    assert stops, "an ATR stop fired"


def test_candles_that_closed_while_no_bot_ran_are_history_not_decisions(tmp_path, fake_binance):
    overrides = dict(
        algos={"MA_Crossover": True, "RSI_Reversion": True},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk={},
        external_signals=False,
    )
    cfg = write_config(tmp_path, **overrides)
    _live(cfg, fake_binance, 400, 60)
    stopped = FIRST + 460 * MINUTE
    _live(cfg, fake_binance, 520, 120)  # an hour later
    store = SQLiteStore(tmp_path / "daybreak.db")
    decided_in_gap = [t for t in store.list_trades() if stopped < t.timestamp < FIRST + 520 * MINUTE]
    assert decided_in_gap == []
    assert [t for t in store.list_trades() if t.timestamp > FIRST + 520 * MINUTE], "it trades again after the restart"
    assert int(store.get_state("cursor:BTC/USDT")) == FIRST + 639 * MINUTE
    store.close()
