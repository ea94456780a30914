"""Durability on a real DynamoDB-compatible server (dynalite): SIGKILL, restart, server down mid-stream."""

from __future__ import annotations

import signal
import threading
import time

from daybreak.core.domain import Action, Event, Trade
from storage.base import StorageError
from storage.dynamo_client import make_client
from storage.dynamodb import DynamoStore
from storage.init_db import init_db
from storage.records import PriceRecord
from tests.fixtures_dynamo import dynamo_settings

T0 = 1_617_321_600_000


def trade(i: int) -> Trade:
    return Trade(
        f"db-{i:032x}",
        T0 + i * 60_000,
        ("BTC/USDT", "ETH/USDT")[i % 2],
        (Action.BUY, Action.SELL)[i % 2],
        0.001 + i * 1e-8,
        58_720.45 + i,
        0.0587,
        "MA_Crossover",
        pnl=None if i % 2 == 0 else -0.1 * i,
    )


def fast_store(server, prefix: str) -> DynamoStore:
    """A store that gives up on a dead server quickly (short timeouts, half a second of retries)."""
    client = make_client("us-east-1", server.endpoint_url, connect_timeout=0.5, read_timeout=3)
    return DynamoStore(client, prefix, retry_seconds=0.5, max_backoff=0.3, read_wait_seconds=60, flush_timeout=60)


def test_acknowledged_writes_survive_sigkill_of_the_server(dynalite_server):
    settings = dynamo_settings(dynalite_server.endpoint_url)
    init_db(settings)
    store = DynamoStore.from_settings(settings)
    trades = [trade(i) for i in range(150)]
    assert all(store.put_trade(t) for t in trades)  # durable when True
    store.put_prices([PriceRecord("BTC/USDT", T0 + i * 60_000, 50_000.5 + i, expiry=2_000_000_000) for i in range(300)])
    store.flush()  # queued writes are durable once flushed
    dynalite_server.kill(signal.SIGKILL)
    dynalite_server.start()
    again = DynamoStore.from_settings(settings)
    assert again.list_trades() == trades
    assert len(again.list_prices("BTC/USDT")) == 300
    assert all(again.put_trade(t) is False for t in trades[:5])  # still known after the restart
    again.close()
    store.close()


def test_server_down_mid_stream_loses_and_duplicates_nothing(dynalite_server):
    """A bot-like producer writes trades (synchronous), prices and events (queued) while the server
    is SIGKILLed and restarted. It retries a trade whose put raised StorageError, as the bot must."""
    settings = dynamo_settings(dynalite_server.endpoint_url)
    init_db(settings)
    store = fast_store(dynalite_server, settings.table_prefix)
    n, stored, outcomes, errors = 240, threading.Event(), [], []

    def producer():
        for i in range(n):
            while True:
                try:
                    outcomes.append(store.put_trade(trade(i)))
                    break
                except StorageError as err:  # the server is down: keep the trade, retry it
                    errors.append(str(err))
                    time.sleep(0.05)
            store.put_prices([PriceRecord("BTC/USDT", T0 + i * 60_000, 50_000.0 + i, expiry=2_000_000_000)])
            store.put_event(Event(f"ev-{i}", T0 + i, "rejection", f"event {i}"))
            if i == n // 3:
                stored.set()

    worker = threading.Thread(target=producer)
    worker.start()
    assert stored.wait(120)
    dynalite_server.kill(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not errors and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)  # let the producer run into the dead server
    dynalite_server.start()
    worker.join(180)
    assert not worker.is_alive()
    assert errors, "the producer never saw the server down"
    assert outcomes == [True] * n  # every trade counted once: no False for our own retried put
    store.flush()
    assert store.list_trades() == [trade(i) for i in range(n)]
    assert len(store.list_prices("BTC/USDT")) == n
    assert len(store.list_events(limit=1000)) == n
    store.close()
