"""The background writer: batches of at most 25, throttling retried, nothing dropped, flush drains."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from daybreak.core.domain import Event
from storage.base import StorageError
from storage.dynamo_client import make_client
from storage.dynamodb import DynamoStore
from storage.init_db import init_db
from storage.records import PriceRecord, StatRecord
from tests.fixtures_dynamo import dynamo_settings

T0 = 1_617_321_600_000


def prices(n, symbol="BTC/USDT", start=0):
    return [
        PriceRecord(symbol, T0 + i * 60_000, 50_000.0 + i * 0.01, expiry=2_000_000_000) for i in range(start, start + n)
    ]


def wait_until(predicate, what: str, timeout: float = 30.0):
    """Poll ``predicate`` (a state change, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


@pytest.fixture
def moto_store(aws_env):
    from moto import mock_aws

    with mock_aws():
        settings = dynamo_settings(None)
        init_db(settings)
        client = make_client("us-east-1")
        yield settings, client
        # stores are closed by the tests


class ThrottlingClient:
    """A real client whose BatchWriteItem is throttled the way DynamoDB throttles: first a
    ProvisionedThroughputExceededException, then two answers that store only half of each
    batch and return the rest as UnprocessedItems. moto and dynalite never throttle."""

    def __init__(self, real):
        self.real, self.calls, self.sizes = real, 0, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def batch_write_item(self, RequestItems):
        self.calls += 1
        self.sizes.append(sum(len(v) for v in RequestItems.values()))
        if self.calls == 1:
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "BatchWriteItem",
            )
        if self.calls <= 3:
            sent = {t: reqs[: len(reqs) // 2] for t, reqs in RequestItems.items()}
            self.real.batch_write_item(RequestItems={t: r for t, r in sent.items() if r})
            return {"UnprocessedItems": {t: reqs[len(reqs) // 2 :] for t, reqs in RequestItems.items()}}
        return self.real.batch_write_item(RequestItems=RequestItems)


def test_batches_carry_at_most_25_items_and_the_newest_write_of_a_key_wins(moto_store):
    settings, client = moto_store
    sizes = []
    client.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem",
        lambda params, **_: sizes.append(sum(len(v) for v in params["RequestItems"].values())),
    )
    store = DynamoStore(client, settings.table_prefix)
    store.put_prices(prices(1000))
    store.put_prices([PriceRecord("BTC/USDT", T0, 1.5, expiry=2_000_000_000)])  # candle 0 re-read
    store.flush()
    assert max(sizes) <= 25 and sum(sizes) <= 1001
    stored = store.list_prices("BTC/USDT")
    assert len(stored) == 1000 and stored[0].price == 1.5
    store.close()


def test_throttled_and_unprocessed_writes_are_retried_until_stored(moto_store):
    settings, client = moto_store
    throttled = ThrottlingClient(client)
    store = DynamoStore(throttled, settings.table_prefix, max_backoff=0.2)
    store.put_prices(prices(60))
    store.put_stats([StatRecord("pnl", "total", -0.5, "2021-04-02")])
    store.flush()
    assert throttled.calls > 3 and max(throttled.sizes) <= 25
    assert [p.timestamp for p in store.list_prices("BTC/USDT")] == [p.timestamp for p in prices(60)]
    assert store.list_stats() == [StatRecord("pnl", "total", -0.5, "2021-04-02")]
    assert (
        "ProvisionedThroughputExceededException" in store.writer.last_error or "unprocessed" in store.writer.last_error
    )
    store.close()


def test_an_invalid_item_is_set_aside_without_blocking_the_others(dynalite_shared, aws_env):
    settings = dynamo_settings(dynalite_shared.endpoint_url)
    init_db(settings)
    store = DynamoStore.from_settings(settings)
    huge = Event("ev-huge", T0, "error", "x" * 500_000)  # over DynamoDB's 400 KB item limit
    fine = [Event(f"ev-{i}", T0 + i, "error", "ok") for i in range(3)]
    for e in [fine[0], huge, *fine[1:]]:
        store.put_event(e)
    store.flush()
    assert store.list_events() == fine[::-1]
    assert [op.key for op, _ in store.writer.rejected] == [("ev-huge",)]
    assert store.health()["rejected"] == 1 and "ValidationException" in store.health()["last_error"]
    store.close()


def test_writes_are_kept_while_the_server_is_down_and_stored_when_it_is_back(dynalite_server):
    settings = dynamo_settings(dynalite_server.endpoint_url)
    init_db(settings)
    store = DynamoStore(
        make_client("us-east-1", dynalite_server.endpoint_url, max_attempts=2, connect_timeout=0.5, read_timeout=2),
        settings.table_prefix,
        max_backoff=0.3,
        read_wait_seconds=60,
    )
    store.put_prices(prices(30))
    store.flush()
    dynalite_server.kill()
    store.put_prices(prices(70, start=30))  # returns although nothing can be written
    store.set_state("cursor:BTC/USDT", "70")
    wait_until(lambda: "EndpointConnectionError" in store.writer.last_error, "a failed write attempt")
    assert store.health()["pending"] >= 70
    with pytest.raises(StorageError, match="not stored after"):
        store.flush(timeout=0.5)  # still down: the writes stay queued
    dynalite_server.start()
    store.flush()
    assert len(store.list_prices("BTC/USDT")) == 100
    assert store.get_state("cursor:BTC/USDT") == "70"
    assert store.health()["pending"] == 0
    store.close()


def test_close_flushes_the_queue(moto_store):
    settings, client = moto_store
    store = DynamoStore(client, settings.table_prefix)
    store.put_prices(prices(80))
    store.put_event(Event("ev-1", T0, "error", "last words"))
    store.close()
    again = DynamoStore(client, settings.table_prefix)
    assert len(again.list_prices("BTC/USDT")) == 80 and again.list_events()[0].message == "last words"
    again.close()
