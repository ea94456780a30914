"""Operator settings that carry secrets: notification URLs and the dashboard password hash.

Never in ``config.json``. Each comes from its environment variable first, else from a key of the
AWS Secrets Manager secret named by ``DAYBREAK_SECRET_ID`` (the secret that also holds the
exchange keys; region ``DAYBREAK_SECRET_REGION`` or the boto3 chain):

=============================  ============================  =====================================
setting                        environment variable          secret key
=============================  ============================  =====================================
apprise notification URLs      ``DAYBREAK_NOTIFY_URLS``      ``notify_urls`` (string or list)
dashboard password hash        ``DAYBREAK_DASHBOARD_PASSWORD_HASH``  ``dashboard_password_hash``
=============================  ============================  =====================================

Errors are :class:`OperatorSecretError` naming the secret and the problem, never a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from daybreak.ops.notify import ENV_VAR as ENV_NOTIFY_URLS
from daybreak.ops.notify import urls_from_env

ENV_SECRET_ID = "DAYBREAK_SECRET_ID"
ENV_SECRET_REGION = "DAYBREAK_SECRET_REGION"
ENV_PASSWORD_HASH = "DAYBREAK_DASHBOARD_PASSWORD_HASH"
SECRET_NOTIFY_URLS = "notify_urls"
SECRET_PASSWORD_HASH = "dashboard_password_hash"


class OperatorSecretError(RuntimeError):
    """The secret is configured but cannot be read; the message never holds a secret value."""


def _secret_document(secret_id: str, region: str | None, client: Any | None) -> dict:
    import boto3  # lazy: boto3 is loaded only when a secret is configured
    from botocore.exceptions import BotoCoreError, ClientError  # lazy: with boto3

    try:
        sm = client or boto3.client("secretsmanager", region_name=region)
        text = sm.get_secret_value(SecretId=secret_id).get("SecretString")
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        raise OperatorSecretError(f"secret {secret_id!r} cannot be read ({code})") from None
    except BotoCoreError as err:
        raise OperatorSecretError(f"secret {secret_id!r}: AWS call failed: {type(err).__name__}") from None
    try:
        data = json.loads(text or "")
    except json.JSONDecodeError as err:
        raise OperatorSecretError(
            f"secret {secret_id!r} is not valid JSON (line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(data, dict):
        raise OperatorSecretError(f"secret {secret_id!r} must be a JSON object, not a {type(data).__name__}")
    return data


def secret_value(
    env_name: str, secret_key: str, env: Mapping[str, str] | None = None, client: Any | None = None
) -> Any:
    """``env[env_name]`` when set and not blank, else ``secret_key`` of the ``DAYBREAK_SECRET_ID``
    secret (None when neither is configured). Raises :class:`OperatorSecretError`."""
    env = os.environ if env is None else env
    value = env.get(env_name)
    if value and value.strip():
        return value.strip()
    secret_id = (env.get(ENV_SECRET_ID) or "").strip()
    if not secret_id:
        return None
    return _secret_document(secret_id, (env.get(ENV_SECRET_REGION) or "").strip() or None, client).get(secret_key)


def notify_urls(env: Mapping[str, str] | None = None, client: Any | None = None) -> list[str]:
    """The apprise URLs to alert (``[]`` when none are configured). Raises :class:`OperatorSecretError`."""
    value = secret_value(ENV_NOTIFY_URLS, SECRET_NOTIFY_URLS, env, client)
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = " ".join(value)
    if not isinstance(value, str):
        raise OperatorSecretError(f"secret key {SECRET_NOTIFY_URLS!r} must be a string or a list of strings")
    return urls_from_env({ENV_NOTIFY_URLS: value})


def dashboard_password_hash(env: Mapping[str, str] | None = None, client: Any | None = None) -> str | None:
    """The dashboard's password hash (argon2 PHC string), or None. Raises :class:`OperatorSecretError`."""
    value = secret_value(ENV_PASSWORD_HASH, SECRET_PASSWORD_HASH, env, client)
    if value is not None and not isinstance(value, str):
        raise OperatorSecretError(f"secret key {SECRET_PASSWORD_HASH!r} must be a string")
    return value or None
