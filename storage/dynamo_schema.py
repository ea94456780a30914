"""DynamoDB table design: the single source of truth for ``init-db`` and the CloudFormation template.

Every table is on-demand (PAY_PER_REQUEST) and encrypted with the AWS-managed KMS key. Reads are
Query or GetItem on a key or a global secondary index (GSI), except one filtered Scan of the
small Signals table (its finished rows expire) for rows another system wrote without a status:

================  ===========================  ============================================
table             key (hash, range)            GSIs (hash, range) and purpose
================  ===========================  ============================================
Trades            trade_id S, timestamp N      by_symbol (symbol, timestamp), by_algo (algo,
                                               timestamp), by_time (bucket, timestamp): all
                                               trades in time order
Stats             stat_type S, algo S          by_bucket (bucket, algo): all stats
HistoricalPrices  symbol S, timestamp N        (none); TTL on ``expiry`` (epoch seconds)
Signals           signal_id S, timestamp N     by_status (status, timestamp): ``new`` signals;
                                               TTL on ``expiry`` of finished rows; rows without
                                               a status: one filtered Scan (docs/dynamodb.md)
Positions         book S, position_key S       (none): ``book`` is ``open``, ``position_key``
                                               is ``<algo>|<symbol>``; listed by a consistent
                                               Query on the one partition
Events            event_id S                   by_time (bucket, timestamp), by_kind (kind,
                                               timestamp)
Controls          control_id S                 by_status (status, timestamp), by_time (bucket,
                                               timestamp)
Status            id S (always ``bot``)        (none)
State             key S                        (none); also holds the price-symbol registry,
                                               the set of open order ids and the bot lease
ConfigVersions    book S, version N            (none): ``book`` is ``config``; every accepted
                                               config, listed by a consistent Query
Orders            client_order_id S            by_time (bucket, created_at): recent orders
================  ===========================  ============================================

``bucket`` is the constant ``all``: one GSI partition per table that lists everything in time
order. The bot writes well under one trade, event or control per second, far below the 1,000
writes per second one partition takes. Key names of Trades, Stats, HistoricalPrices and Signals
are the documented ones other systems use (docs/dynamodb.md).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from storage.dynamo_codec import encode_value

BUCKET = "all"
"""Value of the ``bucket`` attribute: the single partition of the ``by_time``/``by_bucket`` GSIs."""

TTL_ATTRIBUTE = "expiry"


@dataclass(frozen=True)
class TableSpec:
    """One table: ``suffix`` appended to the prefix, key attributes, GSIs ``{name: (hash, range)}``
    (range may be None), attribute types, and the TTL attribute if any."""

    suffix: str
    hash_key: str
    range_key: str | None
    types: dict[str, str]
    gsis: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    ttl: str | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key,) + ((self.range_key,) if self.range_key else ())

    @cached_property
    def index_keys(self) -> frozenset[str]:
        """Attributes that are GSI keys (never stored as empty strings)."""
        return frozenset(a for pair in self.gsis.values() for a in pair if a)


TABLES: dict[str, TableSpec] = {
    "trades": TableSpec(
        "Trades",
        "trade_id",
        "timestamp",
        {"trade_id": "S", "timestamp": "N", "symbol": "S", "algo": "S", "bucket": "S"},
        {"by_symbol": ("symbol", "timestamp"), "by_algo": ("algo", "timestamp"), "by_time": ("bucket", "timestamp")},
    ),
    "stats": TableSpec(
        "Stats", "stat_type", "algo", {"stat_type": "S", "algo": "S", "bucket": "S"}, {"by_bucket": ("bucket", "algo")}
    ),
    "prices": TableSpec(
        "HistoricalPrices", "symbol", "timestamp", {"symbol": "S", "timestamp": "N"}, ttl=TTL_ATTRIBUTE
    ),
    "signals": TableSpec(
        "Signals",
        "signal_id",
        "timestamp",
        {"signal_id": "S", "timestamp": "N", "status": "S"},
        {"by_status": ("status", "timestamp")},
        ttl=TTL_ATTRIBUTE,
    ),
    "positions": TableSpec("Positions", "book", "position_key", {"book": "S", "position_key": "S"}),
    "events": TableSpec(
        "Events",
        "event_id",
        None,
        {"event_id": "S", "timestamp": "N", "kind": "S", "bucket": "S"},
        {"by_time": ("bucket", "timestamp"), "by_kind": ("kind", "timestamp")},
    ),
    "controls": TableSpec(
        "Controls",
        "control_id",
        None,
        {"control_id": "S", "timestamp": "N", "status": "S", "bucket": "S"},
        {"by_status": ("status", "timestamp"), "by_time": ("bucket", "timestamp")},
    ),
    "status": TableSpec("Status", "id", None, {"id": "S"}),
    "state": TableSpec("State", "key", None, {"key": "S"}),
    "config_versions": TableSpec("ConfigVersions", "book", "version", {"book": "S", "version": "N"}),
    "orders": TableSpec(
        "Orders",
        "client_order_id",
        None,
        {"client_order_id": "S", "created_at": "N", "bucket": "S"},
        {"by_time": ("bucket", "created_at")},
    ),
}


def query_args(
    spec: TableSpec,
    hash_key: tuple[str, Any],
    index: str | None = None,
    lo: Any = None,
    hi: Any = None,
    forward: bool = True,
    filters: dict | None = None,
) -> dict:
    """Query arguments (without TableName) for the partition ``hash_key`` = (name, value) of the
    table or its GSI ``index``, range key in [lo, hi] (either may be None), and attribute
    equality ``filters``. Every name goes through a placeholder (``timestamp``, ``status`` are
    DynamoDB reserved words)."""
    range_key = spec.gsis[index][1] if index else spec.range_key
    names, values = {"#h": hash_key[0]}, {":h": encode_value(hash_key[1], hash_key[0])}
    cond = "#h = :h"
    if lo is not None or hi is not None:
        assert range_key is not None, f"{spec.suffix}: a range condition needs a range key"
        names["#r"] = range_key
        for token, bound in ((":lo", lo), (":hi", hi)):
            if bound is not None:
                values[token] = encode_value(bound, range_key)
        cond += (
            " AND #r BETWEEN :lo AND :hi"
            if lo is not None and hi is not None
            else " AND #r >= :lo"
            if lo is not None
            else " AND #r <= :hi"
        )
    args: dict[str, Any] = {"KeyConditionExpression": cond, "ScanIndexForward": forward}
    if index:
        args["IndexName"] = index
    if filters:
        parts = []
        for i, (name, value) in enumerate(filters.items()):
            names[f"#f{i}"], values[f":f{i}"] = name, encode_value(value, name)
            parts.append(f"#f{i} = :f{i}")
        args["FilterExpression"] = " AND ".join(parts)
    args.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    return args


def _key_schema(hash_key: str, range_key: str | None) -> list[dict]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def table_definition(spec: TableSpec, prefix: str) -> dict:
    """``spec`` in boto3 CreateTable form, plus ``TimeToLiveSpecification`` when it has a TTL
    (not a CreateTable argument: ``init_db`` applies it with UpdateTimeToLive)."""
    used = set(spec.key_names) | spec.index_keys
    definition = {
        "TableName": prefix + spec.suffix,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in spec.types.items() if a in used],
        "KeySchema": _key_schema(spec.hash_key, spec.range_key),
        "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
    }
    if spec.gsis:
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": name, "KeySchema": _key_schema(*keys), "Projection": {"ProjectionType": "ALL"}}
            for name, keys in spec.gsis.items()
        ]
    if spec.ttl:
        definition["TimeToLiveSpecification"] = {"AttributeName": spec.ttl, "Enabled": True}
    return definition


def table_definitions(prefix: str) -> list[dict]:
    """Every table in boto3 CreateTable form (+ ``TimeToLiveSpecification`` where TTL applies)."""
    return [table_definition(spec, prefix) for spec in TABLES.values()]


def create_table_args(definition: dict) -> dict:
    """The CreateTable arguments of a :func:`table_definitions` entry (TTL removed)."""
    args = copy.deepcopy(definition)
    args.pop("TimeToLiveSpecification", None)
    return args


def cloudformation_resources(prefix_param: str = "TablePrefix") -> dict:
    """``AWS::DynamoDB::Table`` resources (logical ids ``<Suffix>Table``) for a CloudFormation
    template whose parameter ``prefix_param`` holds the table prefix. Same tables as
    :func:`table_definitions`; tables are retained when the stack is deleted or replaced."""
    resources = {}
    for spec in TABLES.values():
        definition = table_definition(spec, "")
        props = {
            "TableName": {"Fn::Sub": f"${{{prefix_param}}}{spec.suffix}"},
            "BillingMode": definition["BillingMode"],
            "AttributeDefinitions": definition["AttributeDefinitions"],
            "KeySchema": definition["KeySchema"],
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
        }
        if "GlobalSecondaryIndexes" in definition:
            props["GlobalSecondaryIndexes"] = definition["GlobalSecondaryIndexes"]
        if "TimeToLiveSpecification" in definition:
            props["TimeToLiveSpecification"] = definition["TimeToLiveSpecification"]
        resources[f"{spec.suffix}Table"] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": copy.deepcopy(props),
        }
    return resources
