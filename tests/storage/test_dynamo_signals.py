"""Another system's write: a Signals item inserted with plain boto3 in the documented format is read
back typed through DynamoStore, marked once across two bot processes, and a bad one is rejected."""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from daybreak.core import external
from storage.dynamodb import DynamoStore
from storage.init_db import init_db
from storage.records import SignalRecord
from tests.fixtures_dynamo import dynamo_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "dynamodb.md"


@pytest.fixture(params=["moto", "dynalite"])
def signals(request, aws_env):
    """(store, boto3 client, Signals table name) on moto or on the shared dynalite."""
    if request.param == "moto":
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
        settings = dynamo_settings(None)
    else:
        mock, settings = None, dynamo_settings(request.getfixturevalue("dynalite_shared").endpoint_url)
    init_db(settings)
    store = DynamoStore.from_settings(settings)
    kw = {"endpoint_url": settings.endpoint_url} if settings.endpoint_url else {}
    request.node.backend = request.param
    yield store, boto3.client("dynamodb", region_name="us-east-1", **kw), settings.table_prefix + "Signals", kw
    store.close()
    if mock:
        mock.stop()


def documented_cli_item() -> dict:
    """The ``--item`` JSON of the AWS CLI example in docs/dynamodb.md (the CLI sends it as is)."""
    (item,) = re.findall(r"put-item .*?--item '(\{.*?\})'", DOC.read_text(), re.S)
    return json.loads(item)


def test_the_documented_cli_item_is_read_as_a_typed_new_signal(signals):
    store, client, table, _ = signals
    item = documented_cli_item()
    client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(signal_id)")
    assert store.list_signals(status="new") == [
        SignalRecord(
            signal_id=item["signal_id"]["S"],
            timestamp=int(item["timestamp"]["N"]),
            symbol="BTC/USDT",
            action="sell",
            source="cli",
            amount=None,
            status="new",
        )
    ]


def test_the_documented_boto3_resource_put_is_read_with_its_exact_amount(signals):
    store, _, table, kw = signals
    doc = DOC.read_text()
    assert 'Decimal("0.001")' in doc and 'ConditionExpression="attribute_not_exists(signal_id)"' in doc
    resource_table = boto3.resource("dynamodb", region_name="us-east-1", **kw).Table(table)
    resource_table.put_item(
        Item={
            "signal_id": "tv-1",
            "timestamp": 1_783_684_800_000,
            "symbol": "BTC/USDT",
            "action": "buy",
            "source": "tradingview",
            "amount": Decimal("0.001"),
            "status": "new",
        },
        ConditionExpression="attribute_not_exists(signal_id)",
    )
    (sig,) = store.list_signals(status="new", until=1_783_684_800_000)
    assert sig.amount == 0.001 and isinstance(sig.amount, float) and sig.timestamp == 1_783_684_800_000
    assert store.mark_signal("tv-1", sig.timestamp, "executed", "db-abc", "bought", 1_783_684_801_000)
    stored = resource_table.get_item(Key={"signal_id": "tv-1", "timestamp": 1_783_684_800_000})["Item"]
    assert (stored["status"], stored["outcome"], stored["reason"]) == ("executed", "db-abc", "bought")
    assert store.list_signals(status="new") == []


def test_two_bot_processes_mark_a_signal_exactly_once(signals, request):
    if request.node.backend == "moto":
        pytest.skip(
            "moto does not serialise concurrent conditional updates (DynamoDB and dynalite do); "
            "the race runs on dynalite"
        )
    store, client, table, _ = signals
    client.put_item(TableName=table, Item=documented_cli_item())
    (sig,) = store.list_signals(status="new")
    other = DynamoStore(client, table.removesuffix("Signals"))
    results = []
    barrier = threading.Barrier(8)

    def take(s, k):
        barrier.wait()
        results.append(s.mark_signal(sig.signal_id, sig.timestamp, "executed", f"order-{k}", "", 1))

    threads = [threading.Thread(target=take, args=((store, other)[k % 2], k)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count(True) == 1
    other.close()


def test_an_unreadable_signal_is_in_the_inbox_as_stored_and_the_validator_names_the_attribute(signals):
    store, client, table, _ = signals
    item = {**documented_cli_item(), "amount": {"S": "lots"}}
    good = {**documented_cli_item(), "signal_id": {"S": "ok-1"}}
    client.put_item(TableName=table, Item=item)
    client.put_item(TableName=table, Item=good)
    assert [s.signal_id for s in store.list_signals(status="new")] == ["ok-1"], "a display read skips it"
    rows = {r.signal_id: r for r in store.inbox()}
    bad = rows[item["signal_id"]["S"]]
    assert bad.attrs["amount"] == "lots"
    assert str(external.parse(bad.attrs, ["BTC/USDT"])) == "amount = 'lots': is not a number"


def test_mark_signal_refuses_an_unknown_status(signals):
    store, *_ = signals
    with pytest.raises(ValueError, match=r"status='done' is not one of"):
        store.mark_signal("x", 1, "done", "", "", 1)
