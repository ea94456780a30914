"""Table definitions: the documented keys, on-demand, encrypted, TTL; CloudFormation from the same source."""

from __future__ import annotations

from storage.dynamo_schema import (
    cloudformation_resources,
    create_table_args,
    table_definitions,
)


def by_name(prefix="Daybreak"):
    return {d["TableName"].removeprefix(prefix): d for d in table_definitions(prefix)}


def keys(schema):
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def test_documented_tables_keep_their_key_names():
    tables = by_name()
    assert keys(tables["Trades"]["KeySchema"]) == [("trade_id", "HASH"), ("timestamp", "RANGE")]
    assert keys(tables["Stats"]["KeySchema"]) == [("stat_type", "HASH"), ("algo", "RANGE")]
    assert keys(tables["HistoricalPrices"]["KeySchema"]) == [("symbol", "HASH"), ("timestamp", "RANGE")]
    assert keys(tables["Signals"]["KeySchema"]) == [("signal_id", "HASH"), ("timestamp", "RANGE")]
    assert {"Positions", "Events", "Controls", "Status", "State"} <= set(tables)


def test_trades_and_signals_have_the_indexes_the_readers_query():
    tables = by_name()
    trade_gsis = {g["IndexName"]: keys(g["KeySchema"]) for g in tables["Trades"]["GlobalSecondaryIndexes"]}
    assert trade_gsis["by_symbol"] == [("symbol", "HASH"), ("timestamp", "RANGE")]
    assert trade_gsis["by_algo"] == [("algo", "HASH"), ("timestamp", "RANGE")]
    assert trade_gsis["by_time"] == [("bucket", "HASH"), ("timestamp", "RANGE")]
    signal_gsis = {g["IndexName"]: keys(g["KeySchema"]) for g in tables["Signals"]["GlobalSecondaryIndexes"]}
    assert signal_gsis == {"by_status": [("status", "HASH"), ("timestamp", "RANGE")]}


def test_every_table_is_on_demand_encrypted_and_defines_exactly_its_key_attributes():
    for d in table_definitions("P"):
        assert d["BillingMode"] == "PAY_PER_REQUEST" and d["SSESpecification"]["Enabled"] is True
        used = {k["AttributeName"] for k in d["KeySchema"]}
        used |= {k["AttributeName"] for g in d.get("GlobalSecondaryIndexes", []) for k in g["KeySchema"]}
        assert {a["AttributeName"] for a in d["AttributeDefinitions"]} == used  # CreateTable demands it


def test_only_prices_and_signals_expire_and_ttl_is_not_a_create_table_argument():
    ttl = {name: d.get("TimeToLiveSpecification") for name, d in by_name().items()}
    assert ttl.pop("HistoricalPrices") == {"AttributeName": "expiry", "Enabled": True}
    assert ttl.pop("Signals") == {
        "AttributeName": "expiry",
        "Enabled": True,
    }  # finished rows (the inbox Scan stays small)
    assert set(ttl.values()) == {None}
    assert "TimeToLiveSpecification" not in create_table_args(by_name()["HistoricalPrices"])


def test_cloudformation_renders_the_same_tables():
    resources = cloudformation_resources("Prefix")
    assert len(resources) == len(table_definitions(""))
    for d in table_definitions(""):
        res = resources[f"{d['TableName']}Table"]
        props = res["Properties"]
        assert res["Type"] == "AWS::DynamoDB::Table" and res["DeletionPolicy"] == "Retain"
        assert props["TableName"] == {"Fn::Sub": "${Prefix}" + d["TableName"]}
        assert props["KeySchema"] == d["KeySchema"] and props["AttributeDefinitions"] == d["AttributeDefinitions"]
        assert props.get("GlobalSecondaryIndexes") == d.get("GlobalSecondaryIndexes")
        assert props.get("TimeToLiveSpecification") == d.get("TimeToLiveSpecification")
        assert props["BillingMode"] == "PAY_PER_REQUEST" and props["SSESpecification"]["SSEEnabled"] is True
