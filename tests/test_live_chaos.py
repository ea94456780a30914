"""A fault-injection run of the live bot on the fake Binance.US, on SQLite and on dynalite: two
symbols, a strategy, external signals and flattens, with 429 / 418 storms, 5xx answers, resets,
timeouts, replies lost after execution, expired and partial market fills, and a minute-long
outage, seeded so a failure repeats. Afterwards the store is reconciled with the exchange's own
ledger: no order sent twice, no exchange order unknown to the store, no stored trade the
exchange never executed, and balances that agree. (Kills at every step of an order:
tests/test_live_crash.py; random kills over hours: benchmarks/live_chaos.py.)"""

from __future__ import annotations

import random
import time

import pytest

from daybreak.core.domain import new_control
from tests.fixtures_dynamo import dynamo_settings, open_dynamo
from tests.fixtures_exchange import sample_candles
from tests.live_helpers import LiveBot, assert_reconciled

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def _faults(fake, rng: random.Random, n: int) -> None:
    roll = rng.random()
    if roll < 0.05:
        fake.rate_limit(count=rng.randint(1, 8), retry_after=1)
    elif roll < 0.08:
        fake.go_down("418", count=rng.randint(1, 4))
    elif roll < 0.14:
        fake.go_down("503", after=rng.randint(0, 3), count=rng.randint(1, 6))
    elif roll < 0.18:
        fake.go_down("reset", after=rng.randint(0, 3), count=rng.randint(1, 3))
    elif roll < 0.24:
        fake.lose_next_reply()
    elif roll < 0.28:
        fake.timeout_next_order(0.6)
    elif roll < 0.32:
        fake.expire_next_market_order()
    elif roll < 0.35:
        fake.partial_fill_next("0.5")
    elif roll < 0.37:
        fake.drop_next_order()


def _chaos(bot: LiveBot, fake, seed: int, cycles: int = 150) -> None:
    rng = random.Random(seed)
    outage = {"until": None}

    def on_cycle(n):
        if outage["until"] is not None and n >= outage["until"]:
            fake.accept_connections()
            outage["until"] = None
        if n == cycles // 2:  # a minute without the exchange (three 20 s cycles)
            fake.refuse_connections()
            outage["until"] = n + 3
            return
        if outage["until"] is not None:
            return
        _faults(fake, rng, n)
        if rng.random() < 0.15:
            bot.signal(rng.choice(["buy", "sell"]), rng.choice(SYMBOLS))
        if rng.random() < 0.03:
            bot.store.put_control(new_control("flatten", "chaos", int(time.time() * 1000)))
        if rng.random() < 0.03:
            bot.store.put_control(new_control("resume", "chaos", int(time.time() * 1000)))

    bot.run(cycles, on_cycle, timeout_ms=400)
    fake.come_back()
    if outage["until"] is not None:
        fake.accept_connections()
    bot.store.put_control(new_control("flatten", "end", int(time.time() * 1000)))
    bot.run(
        30, until=lambda: not bot.store.list_orders(open_only=True) and not bot.store.list_positions(), timeout_ms=400
    )
    assert not bot.store.list_orders(open_only=True), "every order settled"
    for symbol in SYMBOLS:
        assert_reconciled(bot.store, fake, symbol.partition("/")[0], symbol)
    assert len(fake.ledger()) >= 3, "the run traded"  # how much depends on the faults' timing
    assert not bot.store.list_positions()


def _bot(tmp_path, fake, monkeypatch, storage: dict | None = None) -> LiveBot:
    fake.add_candles("ETH/USDT", "1m", sample_candles("ETH/USDT"))
    settings = dict(
        symbols=SYMBOLS,
        order_size={"BTC/USDT": {"amount": 0.001}, "ETH/USDT": {"amount": 0.03}},
        algos={"MA_Crossover": True},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk={"time_stop_seconds": 240, "stop_loss_ratio": 0.004},
        account_sync_seconds=60,
    )
    if storage:
        settings["storage"] = storage
    return LiveBot(tmp_path, fake, monkeypatch, **settings)


@pytest.mark.parametrize("seed", [7])
def test_a_fault_storm_on_sqlite_leaves_the_books_equal_to_the_exchange(tmp_path, fake_binance, monkeypatch, seed):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    _chaos(bot, fake_binance, seed)
    bot.close()


def test_a_fault_storm_on_dynalite_leaves_the_books_equal_to_the_exchange(
    tmp_path, fake_binance, dynalite_server, monkeypatch
):
    settings = dynamo_settings(dynalite_server.endpoint_url)
    open_dynamo(settings).close()
    bot = _bot(
        tmp_path,
        fake_binance,
        monkeypatch,
        {
            "backend": "dynamodb",
            "endpoint_url": settings.endpoint_url,
            "table_prefix": settings.table_prefix,
            "region": "us-east-1",
        },
    )
    _chaos(bot, fake_binance, 11)
    bot.close()
