"""The boto3 DynamoDB client the store uses: retries, timeouts, error translation, fast reads.

Credentials come from the standard boto3 chain (environment, profile, EC2/ECS role), never from
``config.json``. Throttling (``ProvisionedThroughputExceededException``, ``ThrottlingException``),
5xx answers and connection errors are retried by :func:`call_with_retries` (tenacity: exponential
back-off with full jitter, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015) for a
time budget rather than a number of attempts, so a server that is back within the budget costs
the caller nothing but the wait. The store's client has botocore's own retries off
(``max_attempts=1``): botocore's retry quota is shared by every thread of a client and runs dry
during an outage, and one retry policy is easier to reason about than two.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from storage.base import StorageError

THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        "TransactionConflictException",
    }
)
"""Error codes that mean "try again later" (throttling and transient server errors)."""


def make_client(
    region: str,
    endpoint_url: str | None = None,
    max_attempts: int = 1,
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
) -> Any:  # a boto3 DynamoDB client (boto3 has no type hints)
    """A DynamoDB client for ``region`` (``endpoint_url``: a local DynamoDB-compatible server).

    ``max_attempts`` (botocore standard retry mode) counts the first call: 1 for the store, which
    retries with :func:`call_with_retries`; connection and read timeouts are in seconds.
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


def _status(err: ClientError) -> int:
    return err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


_NEVER_RETRIED = (NoCredentialsError, PartialCredentialsError, ParamValidationError)
"""Client-side errors that fail the same way every time (no credentials, a malformed request)."""


def is_retryable(err: BaseException) -> bool:
    """True for throttling, transient server errors (5xx) and connection problems."""
    if isinstance(err, ClientError):
        return error_code(err) in THROTTLE_CODES or _status(err) >= 500
    return isinstance(err, BotoCoreError) and not isinstance(err, _NEVER_RETRIED)


def maybe_applied(err: BaseException) -> bool:
    """True if the failed request may still have been applied: it was sent but the answer was
    lost (read timeout, connection closed) or the server failed mid-way (5xx)."""
    if isinstance(err, ClientError):
        return _status(err) >= 500
    return isinstance(err, (ReadTimeoutError, ConnectionClosedError))


def call_with_retries(fn: Callable[..., dict], retry_seconds: float, **kwargs: Any) -> dict:
    """``fn(**kwargs)``, retrying :func:`is_retryable` errors with exponential back-off and full
    jitter (50 ms doubling, at most 2 s apart) for up to ``retry_seconds``; then the last error is
    raised. An error raised after an attempt that :func:`maybe_applied` gets ``err.maybe_applied
    = True``: a conditional write failing then may have failed on its own earlier success."""
    unknown = False
    retrying = Retrying(
        stop=stop_after_delay(retry_seconds),
        wait=wait_random_exponential(multiplier=0.05, max=2),
        retry=retry_if_exception(is_retryable),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            try:
                return fn(**kwargs)
            except Exception as err:
                err.maybe_applied = unknown  # type: ignore[attr-defined]  # read by storage_error
                unknown = unknown or maybe_applied(err)
                raise
    raise AssertionError("unreachable: tenacity re-raises the last error")


def storage_error(err: BaseException, operation: str, table: str) -> StorageError:
    """``err`` as a StorageError naming the operation, the table and the DynamoDB error (its
    code in ``.code``)."""
    if isinstance(err, ClientError):
        msg = err.response.get("Error", {}).get("Message", "")
        hint = " (run `python bot.py init-db`)" if error_code(err) == "ResourceNotFoundException" else ""
        out = StorageError(f"dynamodb {operation} on {table}: {error_code(err)}: {msg}{hint}")
    else:
        out = StorageError(f"dynamodb {operation} on {table}: {type(err).__name__}: {err}")
    out.code = error_code(err)
    return out
