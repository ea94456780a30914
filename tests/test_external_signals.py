"""External signals: valid rows execute once (also after a restart) tagged External; bad rows are
rejected with their reason; replay takes rows up when the simulated clock reaches them."""

from __future__ import annotations

import pandas as pd

from storage.records import SignalRecord
from storage.sqlite import SQLiteStore
from tests.helpers import SAMPLE, bot, trades_json, write_config

MINUTE = 60_000


def _setup(tmp_path):
    cfg = write_config(tmp_path, algos={"MA_Crossover": False})
    frame = pd.read_csv(SAMPLE[0])
    t0 = int(frame["timestamp"].iat[0])
    store = SQLiteStore(tmp_path / "daybreak.db")
    rows = [
        SignalRecord("ok-buy", t0 + 100 * MINUTE, "BTC/USDT", "buy", "screener", 0.002),
        SignalRecord("ok-sell", t0 + 300 * MINUTE, "BTC/USDT", "sell", "screener"),
        SignalRecord("bad-symbol", t0 + 150 * MINUTE, "DOGE/USDT", "buy", "screener"),
        SignalRecord("bad-action", t0 + 160 * MINUTE, "BTC/USDT", "hold", "screener"),
        SignalRecord("bad-amount", t0 + 170 * MINUTE, "ETH/USDT", "buy", "screener", -1.0),
        SignalRecord("stale", t0 - 60 * MINUTE, "ETH/USDT", "buy", "screener"),
        SignalRecord("sell-flat", t0 + 400 * MINUTE, "ETH/USDT", "sell", "screener"),
    ]
    for r in rows:
        assert store.put_signal(r)
    store.close()
    return cfg, frame, t0


def test_replayed_external_signals_execute_once_and_bad_ones_are_rejected(tmp_path):
    cfg, frame, t0 = _setup(tmp_path)
    bot("run", "--replay", *map(str, SAMPLE), "--config", str(cfg), check=True)
    trades = trades_json(cfg)
    assert [(t["action"], t["algo"], t["symbol"]) for t in trades] == [
        ("buy", "External", "BTC/USDT"),
        ("sell", "External", "BTC/USDT"),
    ]
    buy, sell = trades
    assert buy["amount"] == 0.002 and sell["amount"] == 0.002
    # taken up when the clock reached it (the candle closing at the signal time), filled at the next open
    opens = frame.set_index("timestamp")["open"]
    assert buy["timestamp"] == t0 + 100 * MINUTE
    assert buy["price"] == opens[t0 + 100 * MINUTE] * 1.0005
    assert sell["exit_reason"] == "external"

    store = SQLiteStore(tmp_path / "daybreak.db")
    status = {s.signal_id: s for s in store.list_signals()}
    assert status["ok-buy"].status == "executed" and status["ok-sell"].status == "executed"
    assert status["ok-buy"].outcome == buy["order_id"]
    assert status["ok-buy"].reason.startswith("buy 0.002 BTC/USDT @ ")
    expected = {
        "bad-symbol": ("rejected", "symbol = 'DOGE/USDT': is not traded (config symbols: BTC/USDT, ETH/USDT)"),
        "bad-action": ("rejected", "action = 'hold': is not 'buy' or 'sell'"),
        "bad-amount": ("rejected", "amount = -1.0: must be a positive number of base currency"),
        "stale": ("expired", "stale, 3660 s old, limit 300 s"),
        "sell-flat": ("rejected", "no open External position on ETH/USDT to sell"),
    }
    for sid, (state, reason) in expected.items():
        assert status[sid].status == state, sid
        assert reason in status[sid].reason, (sid, status[sid].reason)
    store.close()

    # restart over the same data: nothing runs twice
    bot("run", "--replay", *map(str, SAMPLE), "--config", str(cfg), check=True)
    assert trades_json(cfg) == trades


def test_signal_command_inserts_a_row_the_bot_executes(tmp_path):
    cfg = write_config(tmp_path, algos={"MA_Crossover": False})
    out = bot(
        "signal", "ETH/USDT", "buy", "--amount", "0.05", "--source", "alerts", "--config", str(cfg), check=True
    ).stdout
    assert "inserted signal" in out
    store = SQLiteStore(tmp_path / "daybreak.db")
    (row,) = store.list_signals()
    assert (row.symbol, row.action, row.amount, row.source, row.status) == ("ETH/USDT", "buy", 0.05, "alerts", "new")
    store.close()
