"""``init-db``: creates what is missing, on-demand, encrypted, TTL on prices; safe to run twice."""

from __future__ import annotations

import boto3
import pytest

from daybreak.core.config import StorageSettings
from storage.base import StorageError
from storage.dynamo_schema import table_definitions
from storage.init_db import init_db
from tests.fixtures_dynamo import dynamo_settings


@pytest.fixture(params=["moto", "dynalite"])
def dynamo(request, aws_env):
    """(settings, boto3 client) on moto or on the shared dynalite server."""
    if request.param == "moto":
        from moto import mock_aws

        with mock_aws():
            settings = dynamo_settings(None)
            yield request.param, settings, boto3.client("dynamodb", region_name="us-east-1")
    else:
        server = request.getfixturevalue("dynalite_shared")
        settings = dynamo_settings(server.endpoint_url)
        yield (
            request.param,
            settings,
            boto3.client("dynamodb", region_name="us-east-1", endpoint_url=server.endpoint_url),
        )


def test_init_db_creates_every_table_active_and_is_safe_to_run_twice(dynamo):
    _, settings, client = dynamo
    first = init_db(settings)
    names = [d["TableName"] for d in table_definitions(settings.table_prefix)]
    assert [f"created {n}" for n in names] == [line for line in first if line.startswith("created")]
    for d in table_definitions(settings.table_prefix):
        table = client.describe_table(TableName=d["TableName"])["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == d["KeySchema"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert sorted(g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])) == sorted(
            g["IndexName"] for g in d.get("GlobalSecondaryIndexes", [])
        )
    second = init_db(settings)
    assert not [line for line in second if line.startswith("created")]
    assert [f"{n} exists" for n in names] == [line for line in second if line.endswith(" exists")]


def test_historical_prices_expire_by_ttl(dynamo):
    backend, settings, client = dynamo
    lines = init_db(settings)
    prices = settings.table_prefix + "HistoricalPrices"
    if backend == "dynalite":
        assert any("no UpdateTimeToLive" in line for line in lines)  # detected and reported, not fatal
        pytest.skip("dynalite has no UpdateTimeToLive (init-db detects and skips it); TTL is checked on moto")
    ttl = client.describe_time_to_live(TableName=prices)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiry"}
    assert any("TTL on expiry already enabled" in line for line in init_db(settings))


def test_server_side_encryption_is_requested(dynamo):
    backend, settings, client = dynamo
    init_db(settings)
    if backend == "dynalite":
        pytest.skip("dynalite accepts SSESpecification but does not report encryption; checked on moto")
    table = client.describe_table(TableName=settings.table_prefix + "Trades")["Table"]
    assert table["SSEDescription"]["Status"] == "ENABLED" and table["SSEDescription"]["SSEType"] == "KMS"


def test_a_missing_index_is_added_to_an_existing_table(dynamo):
    backend, settings, client = dynamo
    if backend == "dynalite":
        pytest.skip(
            "dynalite demands ProvisionedThroughput in a GSI Create even on an on-demand table "
            "(AWS rejects it there); adding an index is checked on moto"
        )
    (signals,) = [d for d in table_definitions(settings.table_prefix) if d["TableName"].endswith("Signals")]
    client.create_table(
        TableName=signals["TableName"],
        KeySchema=signals["KeySchema"],
        AttributeDefinitions=[a for a in signals["AttributeDefinitions"] if a["AttributeName"] != "status"],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=signals["TableName"], WaiterConfig={"Delay": 1})
    lines = init_db(settings)
    assert f"{signals['TableName']}: added index by_status" in lines
    table = client.describe_table(TableName=signals["TableName"])["Table"]
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["by_status"]


def test_a_table_with_another_key_schema_is_refused(dynamo):
    _, settings, client = dynamo
    name = settings.table_prefix + "Trades"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    with pytest.raises(StorageError, match=f"table {name} has key schema"):
        init_db(settings)


def test_sqlite_init_db_creates_the_file(tmp_path):
    path = tmp_path / "sub" / "daybreak.db"
    assert init_db(StorageSettings(path=str(path))) == [f"sqlite schema ready in {path}"]
    assert path.exists()
