"""``python bot.py init-db``: create the storage schema. Safe to run any number of times.

SQLite: opening the store creates the file and its tables. DynamoDB: every table of
:func:`storage.dynamo_schema.table_definitions` that is missing is created (on-demand billing,
server-side encryption, GSIs) and waited for until ACTIVE; TTL is enabled on
``HistoricalPrices.expiry``. Existing tables are left as they are, except that a missing GSI is
added and TTL is enabled; differences that need a person (key schema, billing mode, encryption)
are reported. Servers without UpdateTimeToLive (dynalite) are detected and reported, not fatal.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from daybreak.core.config import StorageSettings
from storage.base import StorageError
from storage.dynamo_client import error_code, make_client
from storage.dynamo_schema import create_table_args, table_definitions
from storage.sqlite import SQLiteStore

log = logging.getLogger(__name__)


def init_db(settings: StorageSettings, client: Any = None, wait_timeout: float = 600.0) -> list[str]:
    """Create what is missing for ``settings.backend``; return one line per action or finding.

    ``client`` overrides the boto3 client built from the settings (tests). Raises StorageError
    when the server refuses (credentials, permissions, a table with another key schema).
    """
    if settings.backend == "sqlite":
        SQLiteStore(settings.path).close()
        return [f"sqlite schema ready in {settings.path}"]
    client = client or make_client(settings.region, settings.endpoint_url, max_attempts=5)
    try:
        return _init_dynamo(client, settings.table_prefix, wait_timeout)
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"dynamodb init-db: {error_code(err)}: {err}") from err


def missing_tables(settings: StorageSettings, client: Any = None) -> list[str]:
    """Names of the tables ``settings`` needs that do not exist (or are not ACTIVE) yet; SQLite
    creates its tables when opened, so ``[]``. Raises StorageError when the server refuses."""
    if settings.backend == "sqlite":
        return []
    client = client or make_client(settings.region, settings.endpoint_url, max_attempts=3)
    missing = []
    try:
        for definition in table_definitions(settings.table_prefix):
            table = _describe(client, definition["TableName"])
            if table is None or table.get("TableStatus") != "ACTIVE":
                missing.append(definition["TableName"])
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"dynamodb: {error_code(err)}: {err}") from err
    return missing


def _init_dynamo(client, prefix: str, wait_timeout: float) -> list[str]:
    done = []
    for definition in table_definitions(prefix):
        table = _describe(client, definition["TableName"])
        if table is not None:
            done += _check_existing(client, definition, table)
        else:
            client.create_table(**create_table_args(definition))
            done.append(f"created {definition['TableName']}")
    for definition in table_definitions(prefix):
        _wait_active(client, definition["TableName"], wait_timeout)
        ttl = definition.get("TimeToLiveSpecification")
        if ttl:
            done.append(_enable_ttl(client, definition["TableName"], ttl))
    return done


def _describe(client, name: str) -> dict | None:
    """DescribeTable, or None if the table does not exist. (Per table rather than ListTables, which
    IAM can only grant on every table of the account.)"""
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as err:
        if error_code(err) == "ResourceNotFoundException":
            return None
        raise


def _check_existing(client, definition: dict, table: dict) -> list[str]:
    name = definition["TableName"]
    if table["KeySchema"] != definition["KeySchema"]:
        raise StorageError(
            f"dynamodb init-db: table {name} has key schema {table['KeySchema']}, "
            f"expected {definition['KeySchema']}; rename storage.table_prefix or migrate"
        )
    notes = [f"{name} exists"]
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        notes.append(
            f"{name}: billing mode is {billing}, not PAY_PER_REQUEST (on-demand); change it "
            f"in the console or the CloudFormation stack"
        )
    have = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])}
    attrs = {a["AttributeName"]: a for a in definition["AttributeDefinitions"]}
    for gsi in definition.get("GlobalSecondaryIndexes", []):
        if gsi["IndexName"] in have:
            continue
        _wait_active(client, name, 600.0)  # one index change at a time
        client.update_table(
            TableName=name,
            GlobalSecondaryIndexUpdates=[{"Create": gsi}],
            AttributeDefinitions=[attrs[k["AttributeName"]] for k in gsi["KeySchema"]],
        )
        notes.append(f"{name}: added index {gsi['IndexName']}")
    return notes


def _wait_active(client, name: str, timeout: float) -> None:
    """Poll DescribeTable until the table and its GSIs are ACTIVE (StorageError after timeout s)."""
    deadline, delay = time.monotonic() + timeout, 0.05
    while True:
        table = client.describe_table(TableName=name)["Table"]
        statuses = [table["TableStatus"]] + [
            g.get("IndexStatus", "ACTIVE") for g in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(s == "ACTIVE" for s in statuses):
            return
        if time.monotonic() > deadline:
            raise StorageError(f"dynamodb init-db: {name} still {statuses} after {timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _enable_ttl(client, name: str, ttl: dict) -> str:
    status = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if (
        status.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        and status.get("AttributeName") == ttl["AttributeName"]
    ):
        return f"{name}: TTL on {ttl['AttributeName']} already enabled"
    try:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    except ClientError as err:
        if error_code(err) != "UnknownOperationException":
            raise
        msg = f"{name}: TTL not enabled: this server has no UpdateTimeToLive (dynalite); old rows will not expire here"
        log.warning(msg)
        return msg
    return f"{name}: TTL enabled on {ttl['AttributeName']}"
