"""Exchange API keys for live trading, and the three-part check that allows live orders at all.

Keys never live in ``config.json``. They come from, in this order:

1. the environment: ``DAYBREAK_API_KEY`` and ``DAYBREAK_API_SECRET`` (and ``DAYBREAK_API_PASSWORD``
   for exchanges that need a passphrase), e.g. from the systemd ``EnvironmentFile``;
2. AWS Secrets Manager, when ``DAYBREAK_SECRET_ID`` names a secret (name or ARN; region from
   ``DAYBREAK_SECRET_REGION``, else the standard boto3 chain). The secret string is JSON,
   ``{"apiKey": "...", "secret": "..."}`` (optionally ``"password"``), or the same object keyed by
   ccxt exchange id, ``{"binanceus": {"apiKey": ..., "secret": ...}}``. The CloudFormation stack in
   ``deploy/`` creates it holding empty placeholders; ``deploy/README.md`` shows how to fill it.

Which credentials an exchange needs is ccxt's own ``requiredCredentials`` table. Every error is a
:class:`SecretsError` naming the variable or secret and what is wrong, never a secret value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_KEY = "DAYBREAK_API_KEY"
ENV_SECRET = "DAYBREAK_API_SECRET"
ENV_PASSWORD = "DAYBREAK_API_PASSWORD"
ENV_SECRET_ID = "DAYBREAK_SECRET_ID"
ENV_SECRET_REGION = "DAYBREAK_SECRET_REGION"
ENV_LIVE_CONFIRM = "DAYBREAK_LIVE_CONFIRM"
LIVE_CONFIRM_VALUE = "yes"
SECRET_PLACEHOLDER = {"apiKey": "", "secret": ""}
"""What a new secret holds (deploy's CloudFormation stack creates it so) until the trader fills it."""

_PUT_KEYS_HINT = (
    "put your keys with: aws secretsmanager put-secret-value --secret-id {sid} "
    "--secret-string file://keys.json  (see deploy/README.md)"
)


class SecretsError(RuntimeError):
    """API keys are configured but cannot be used. The message never contains a secret value."""


def _mask(value: str) -> str:
    """``'abcd…wxyz'`` for long values, ``'***'`` otherwise: enough to tell two keys apart."""
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 16 else "***"


@dataclass(frozen=True, slots=True)
class ApiKeys:
    """Credentials for one ccxt exchange. ``repr``/``str`` show a masked key and never the secret.

    ``source`` says where they came from: ``"environment"`` or ``"secretsmanager:<secret id>"``.
    """

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    source: str
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        pw = ", password='***'" if self.password else ""
        return f"ApiKeys(api_key={_mask(self.api_key)!r}, secret='***'{pw}, source={self.source!r})"

    __str__ = __repr__


def _needs_password(exchange_id: str) -> bool:
    """ccxt's ``requiredCredentials['password']`` for ``exchange_id`` (e.g. True for okx, kucoin)."""
    import ccxt  # lazy: ccxt takes a second to load; only live start-up needs this check

    cls = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
    if cls is None:
        raise SecretsError(f"exchange {exchange_id!r} is not a ccxt exchange id; keys cannot be matched to it")
    return bool(cls().requiredCredentials.get("password"))


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _from_env(env: Mapping[str, str], exchange_id: str) -> ApiKeys | None:
    key, secret, password = _env(env, ENV_KEY), _env(env, ENV_SECRET), _env(env, ENV_PASSWORD)
    if key is None and secret is None:
        return None
    if key is None or secret is None:
        have, missing = (ENV_KEY, ENV_SECRET) if key else (ENV_SECRET, ENV_KEY)
        raise SecretsError(
            f"{have} is set but {missing} is empty or unset; set both, or neither to use {ENV_SECRET_ID}"
        )
    if password is None and _needs_password(exchange_id):
        raise SecretsError(f"{ENV_PASSWORD} is empty or unset; exchange {exchange_id!r} needs an API passphrase")
    return ApiKeys(api_key=key, secret=secret, password=password, source="environment")


def _fetch_secret_string(secret_id: str, region: str | None, client: Any | None) -> str:
    import boto3  # lazy: boto3 is needed only when keys come from Secrets Manager
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError  # lazy: with boto3

    try:
        sm = client or boto3.client("secretsmanager", region_name=region)
        resp = sm.get_secret_value(SecretId=secret_id)
    except NoRegionError:
        raise SecretsError(
            f"secret {secret_id!r}: no AWS region; set {ENV_SECRET_REGION} or AWS_DEFAULT_REGION"
        ) from None
    except NoCredentialsError:
        raise SecretsError(
            f"secret {secret_id!r}: no AWS credentials (instance role, AWS_PROFILE or AWS_* variables)"
        ) from None
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        what = {
            "ResourceNotFoundException": "does not exist in this region (check the name/ARN and region)",
            "AccessDeniedException": "access denied: the role needs secretsmanager:GetSecretValue on it",
            "DecryptionFailure": "cannot be decrypted with its KMS key (kms:Decrypt denied?)",
            "InvalidRequestException": "cannot be read now (deleted or pending deletion?)",
        }.get(code, f"cannot be read ({code})")
        raise SecretsError(f"secret {secret_id!r} {what}") from None
    except BotoCoreError as err:
        raise SecretsError(f"secret {secret_id!r}: AWS call failed: {type(err).__name__}") from None
    text = resp.get("SecretString")
    if text is None:
        raise SecretsError(
            f'secret {secret_id!r} holds binary data; it must be a JSON string {{"apiKey": ..., "secret": ...}}'
        )
    return text


def _from_secret(secret_id: str, text: str, exchange_id: str) -> ApiKeys:
    hint = _PUT_KEYS_HINT.format(sid=secret_id)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:  # the message carries a position, never the content
        raise SecretsError(
            f"secret {secret_id!r} is not valid JSON (line {err.lineno} column {err.colno}); {hint}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get(exchange_id), dict):
        data, where = data[exchange_id], f"secret {secret_id!r} entry {exchange_id!r}"
    else:
        where = f"secret {secret_id!r}"
    if not isinstance(data, dict):
        raise SecretsError(f"{where} must be a JSON object with 'apiKey' and 'secret', not a {type(data).__name__}")
    fields_ = {"apiKey": data.get("apiKey"), "secret": data.get("secret"), "password": data.get("password")}
    for name, value in fields_.items():
        if value is not None and not isinstance(value, str):
            raise SecretsError(f"{where} field {name!r} must be a string, not {type(value).__name__}")
    key, secret = (fields_["apiKey"] or "").strip(), (fields_["secret"] or "").strip()
    password = (fields_["password"] or "").strip() or None
    if not key and not secret:
        present = ", ".join(sorted(map(repr, data))) or "none"
        raise SecretsError(
            f"{where} has no keys yet ('apiKey' and 'secret' are empty or missing; fields present: {present}); {hint}"
        )
    for name, value in (("apiKey", key), ("secret", secret)):
        if not value:
            raise SecretsError(f"{where} field {name!r} is empty or missing; {hint}")
    if password is None and _needs_password(exchange_id):
        raise SecretsError(
            f"{where} field 'password' is empty or missing; exchange {exchange_id!r} needs an API passphrase"
        )
    return ApiKeys(api_key=key, secret=secret, password=password, source=f"secretsmanager:{secret_id}")


def load_api_keys(exchange_id: str, env: Mapping[str, str] | None = None, client: Any | None = None) -> ApiKeys | None:
    """The API keys for ccxt exchange ``exchange_id``, or None when none are configured.

    Environment first (``DAYBREAK_API_KEY``/``DAYBREAK_API_SECRET``), else the Secrets Manager
    secret named by ``DAYBREAK_SECRET_ID``. ``env`` defaults to ``os.environ``; ``client`` is an
    optional boto3 Secrets Manager client. Raises :class:`SecretsError` when keys are configured
    but unusable (one half missing, secret missing/denied/placeholder/not JSON, passphrase
    missing where ccxt's ``requiredCredentials`` asks for one, unknown exchange id).
    """
    env = os.environ if env is None else env
    keys = _from_env(env, exchange_id)
    if keys is not None:
        return keys
    secret_id = _env(env, ENV_SECRET_ID)
    if secret_id is None:
        return None
    text = _fetch_secret_string(secret_id, _env(env, ENV_SECRET_REGION), client)
    return _from_secret(secret_id, text, exchange_id)


def live_trading_allowed(
    config: Any, env: Mapping[str, str] | None = None, client: Any | None = None
) -> tuple[bool, str]:
    """Whether real orders may be sent, and why (or why not), as ``(allowed, reason)``.

    Live needs all three: ``config.mode == "live"``, the environment variable
    ``DAYBREAK_LIVE_CONFIRM`` equal to ``"yes"`` (set on the machine, not in the dashboard), and
    usable API keys for ``config.exchange`` (:func:`load_api_keys`). The reason names the first
    missing part; a :class:`SecretsError` becomes the reason instead of propagating.
    """
    env = os.environ if env is None else env
    if config.mode != "live":
        return False, f'config.json mode is {config.mode!r}; live trading needs "mode": "live"'
    confirm = env.get(ENV_LIVE_CONFIRM)
    if confirm != LIVE_CONFIRM_VALUE:
        shown = "unset" if confirm is None else repr(confirm)
        return (
            False,
            f"{ENV_LIVE_CONFIRM} is {shown}; live trading needs {ENV_LIVE_CONFIRM}=yes in the bot's environment",
        )
    try:
        keys = load_api_keys(config.exchange, env=env, client=client)
    except SecretsError as err:
        return False, f"API keys unusable: {err}"
    if keys is None:
        return False, f"no API keys: set {ENV_KEY} and {ENV_SECRET}, or {ENV_SECRET_ID} to a Secrets Manager secret"
    return True, f"live trading on {config.exchange} with keys {_mask(keys.api_key)} from {keys.source}"
