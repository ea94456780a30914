"""A live bot killed with SIGKILL while it holds a position leaves its exchange stop behind: the
stop fills on the exchange as the price falls, and the restarted bot books exactly that exit
(the exchange's price and fee, reason ``stop_loss``) and sends nothing more. The bot is a child
``bot.py run`` process in live mode, real ccxt against the fake Binance, on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from storage import open_store
from storage.records import SignalRecord
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import ROOT, write_config
from tests.live_helpers import assert_reconciled

WRITES = (
    ("POST", "/api/v3/order"),
    ("POST", "/api/v3/order/cancelReplace"),
    ("DELETE", "/api/v3/order"),
    ("POST", "/api/v3/order/oco"),
    ("DELETE", "/api/v3/orderList"),
)


def _wait(condition, child, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if child.poll() is not None:
            raise AssertionError(
                f"the bot exited ({child.returncode}) waiting for {what}:\n{child.stdout.read()[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_killed_bots_exchange_stop_fills_and_the_restarted_bot_books_only_that(tmp_path, fake_binance, monkeypatch):
    frame = sample_candles()
    shift = int(time.time() * 1000) // 60_000 * 60_000 - int(frame["timestamp"].iat[1000])
    fake_binance.add_candles("BTC/USDT", "1m", frame.assign(timestamp=frame["timestamp"] + shift))
    fake_binance.follow_wall_clock()
    fake_binance.set_price("BTC/USDT", "50000.00")
    cfg = write_config(
        tmp_path,
        mode="live",
        symbols=["BTC/USDT"],
        algos={"MA_Crossover": False},
        params={},
        order_size={"BTC/USDT": {"amount": 0.001}},
        external_signals=True,
        poll_seconds=0.5,
        account_sync_seconds=5,
        risk={"stop_loss_ratio": 0.01},
        execution={"exchange_stop": "stop_loss_limit", "exchange_stop_limit_offset_bps": 50},
    )
    env = dict(
        os.environ,
        DAYBREAK_LIVE_CONFIRM="yes",
        DAYBREAK_API_KEY=fake_binance.api_key,
        DAYBREAK_API_SECRET=fake_binance.secret,
        DAYBREAK_EXCHANGE_URL=fake_binance.url,
        PYTHONUNBUFFERED="1",
    )
    for key in ("DAYBREAK_LIVE_CONFIRM", "DAYBREAK_API_KEY", "DAYBREAK_API_SECRET"):
        monkeypatch.setenv(key, env[key])
    store = open_store(load_config(cfg).storage)

    def stop_resting():
        return [o for o in fake_binance.orders.values() if o["type"] == "STOP_LOSS_LIMIT" and o["status"] == "NEW"]

    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "run", "--config", str(cfg)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait(lambda: (s := store.get_status()) is not None and s.state == "RUNNING", child, "the bot to run")
        store.put_signal(SignalRecord("crash-stop-buy", fake_binance.now(), "BTC/USDT", "buy", "test"))
        _wait(lambda: bool(stop_resting()), child, "the exchange stop")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    (stop,) = stop_resting()
    assert stop["stopPrice"] == "49500.00000000" and stop["price"] == "49252.50000000"

    fake_binance.set_price("BTC/USDT", "49300.00")  # through the stop, above its limit: it fills
    (fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert fill.client_order_id == stop["clientOrderId"]
    before = sum(len(fake_binance.requests_to(path, method)) for method, path in WRITES)

    fake_binance.set_clock(fake_binance.now() + 20_000)
    code = run_live(
        cfg,
        load_config(cfg),
        lambda: False,
        exchange=exchange_for(fake_binance),
        clock=fake_binance.now,
        sleep=lambda s: fake_binance.set_clock(fake_binance.now() + 5_000),
        max_cycles=4,
    )
    assert code == 0
    assert sum(len(fake_binance.requests_to(path, method)) for method, path in WRITES) == before, "nothing sent"
    (sell,) = [t for t in store.list_trades() if t.action == "sell"]
    assert (sell.order_id, sell.exit_reason, sell.price, sell.amount) == (
        stop["clientOrderId"],
        "stop_loss",
        float(fill.price),
        float(fill.amount),
    )
    assert sell.fee == float(fill.fee) and sell.mode == "live"
    assert store.list_positions() == [] and store.list_orders(open_only=True) == []
    assert_reconciled(store, fake_binance)
    store.close()
