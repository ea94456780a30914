"""The boto3 DynamoDB client the store uses: retries, timeouts, error translation, fast reads.

Credentials come from the standard boto3 chain (environment, profile, EC2/ECS role), never from
``config.json``. Throttling (``ProvisionedThroughputExceededException``, ``ThrottlingException``),
5xx answers and connection errors are retried by botocore's *standard* retry mode: exponential
back-off with full jitter, capped at 20 s (botocore ``retries`` config, documented at
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html). What still fails
after ``max_attempts`` becomes :class:`storage.base.StorageError`.
"""
from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.base import StorageError

THROTTLE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "LimitExceededException", "TransactionConflictException",
})
"""Error codes that mean "try again later" (throttling and transient server errors)."""


def make_client(region: str, endpoint_url: str | None = None, max_attempts: int = 6,
                connect_timeout: float = 3.0, read_timeout: float = 10.0):
    """A DynamoDB client for ``region`` (``endpoint_url``: a local DynamoDB-compatible server).

    ``max_attempts`` counts the first call; connection and read timeouts are in seconds.
    """
    config = Config(
        region_name=region,
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=16,
    )
    client = boto3.session.Session().client("dynamodb", endpoint_url=endpoint_url, config=config)
    client.meta.events.register("before-parse.dynamodb.Query", _keep_raw_items)
    return client


def _keep_raw_items(response_dict: dict, customized_response_dict: dict, **_: Any) -> None:
    """Hand Query's ``Items`` over in wire form without botocore's per-attribute shape walk.

    A DynamoDB item's wire JSON (``{"price": {"N": "58720.45"}}``) *is* its parsed form for the
    types we store (S, N, BOOL, M, L, SS, NS), so parsing it shape by shape only costs time: about
    80 % of reading 100k trades. botocore's documented ``before-parse`` hook lets us pass the items
    through ``customized_response_dict`` and leave the rest of the body to the normal parser.
    """
    if response_dict.get("status_code", 500) >= 300:
        return
    body = json.loads(response_dict["body"] or b"{}")
    if "Items" in body:
        customized_response_dict["Items"] = body.pop("Items")
        response_dict["body"] = json.dumps(body).encode()


def error_code(err: BaseException) -> str:
    """The DynamoDB error code of ``err`` (``ClientError``), or its class name."""
    if isinstance(err, ClientError):
        return err.response.get("Error", {}).get("Code", "") or type(err).__name__
    return type(err).__name__


def is_retryable(err: BaseException) -> bool:
    """True for throttling, transient server errors, a missing table that ``init-db`` may still
    create, and connection problems (``BotoCoreError``): the write queue keeps such writes."""
    if isinstance(err, ClientError):
        code = error_code(err)
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in THROTTLE_CODES or code == "ResourceNotFoundException" or status >= 500
    return isinstance(err, BotoCoreError)


def storage_error(err: BaseException, operation: str, table: str) -> StorageError:
    """``err`` as a StorageError naming the operation, the table and the DynamoDB error."""
    if isinstance(err, ClientError):
        msg = err.response.get("Error", {}).get("Message", "")
        hint = " (run `python bot.py init-db`)" if error_code(err) == "ResourceNotFoundException" else ""
        return StorageError(f"dynamodb {operation} on {table}: {error_code(err)}: {msg}{hint}")
    return StorageError(f"dynamodb {operation} on {table}: {type(err).__name__}: {err}")
