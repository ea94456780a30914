"""Live API keys: environment, AWS Secrets Manager (moto), masking, and the live-trading gate."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from daybreak.exchange.secrets import (
    SECRET_PLACEHOLDER,
    ApiKeys,
    SecretsError,
    live_trading_allowed,
    load_api_keys,
)

REGION = "us-east-1"
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture
def aws(monkeypatch):
    """A moto Secrets Manager with fake credentials, so nothing can reach real AWS."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def _secret(client, name: str, value: str) -> str:
    return client.create_secret(Name=name, SecretString=value)["ARN"]


def _cfg(mode: str = "live", exchange: str = "binanceus"):
    return SimpleNamespace(mode=mode, exchange=exchange)


def _assert_no_secret_in(text: str) -> None:
    assert SECRET not in text and SECRET[:16] not in text
    assert KEY not in text


# -- environment ---------------------------------------------------------------------------------
def test_keys_from_environment():
    keys = load_api_keys("binanceus", env={"DAYBREAK_API_KEY": KEY, "DAYBREAK_API_SECRET": SECRET})
    assert (keys.api_key, keys.secret, keys.source) == (KEY, SECRET, "environment")
    assert keys.password is None  # binanceus needs no passphrase


def test_no_keys_anywhere_is_none_so_paper_mode_needs_nothing():
    assert load_api_keys("binanceus", env={}) is None
    # blank lines in an EnvironmentFile count as unset, not as a key ""
    assert load_api_keys("binanceus", env={"DAYBREAK_API_KEY": " ", "DAYBREAK_API_SECRET": ""}) is None


@pytest.mark.parametrize(
    "present, missing", [("DAYBREAK_API_KEY", "DAYBREAK_API_SECRET"), ("DAYBREAK_API_SECRET", "DAYBREAK_API_KEY")]
)
def test_half_a_key_pair_names_the_missing_variable(present, missing):
    with pytest.raises(SecretsError) as err:
        load_api_keys("binanceus", env={present: SECRET})
    assert missing in str(err.value) and present in str(err.value)
    _assert_no_secret_in(str(err.value))


def test_exchange_needing_a_passphrase_says_so():
    env = {"DAYBREAK_API_KEY": KEY, "DAYBREAK_API_SECRET": SECRET}
    with pytest.raises(SecretsError, match="DAYBREAK_API_PASSWORD.*'okx'"):
        load_api_keys("okx", env=env)
    keys = load_api_keys("okx", env={**env, "DAYBREAK_API_PASSWORD": "pass-phrase-1"})
    assert keys.password == "pass-phrase-1"


def test_unknown_exchange_id_is_named():
    with pytest.raises(SecretsError, match="'binanse'"):
        load_api_keys("binanse", env={"DAYBREAK_API_KEY": KEY, "DAYBREAK_API_SECRET": SECRET})


# -- AWS Secrets Manager -------------------------------------------------------------------------
def test_keys_from_secrets_manager(aws):
    arn = _secret(aws, "daybreak/api-keys", json.dumps({"apiKey": KEY, "secret": SECRET}))
    for secret_id in ("daybreak/api-keys", arn):
        keys = load_api_keys("binanceus", env={"DAYBREAK_SECRET_ID": secret_id})
        assert (keys.api_key, keys.secret) == (KEY, SECRET)
        assert keys.source == f"secretsmanager:{secret_id}"


def test_secret_keyed_by_exchange_id_picks_that_exchange(aws):
    other = {"apiKey": "k" * 20, "secret": "s" * 20}
    _secret(aws, "multi", json.dumps({"kraken": other, "binanceus": {"apiKey": KEY, "secret": SECRET}}))
    assert load_api_keys("binanceus", env={"DAYBREAK_SECRET_ID": "multi"}).secret == SECRET
    assert load_api_keys("kraken", env={"DAYBREAK_SECRET_ID": "multi"}).secret == "s" * 20


def test_environment_wins_over_the_secret(aws):
    _secret(aws, "daybreak/api-keys", json.dumps({"apiKey": "from-secret-key", "secret": "from-secret"}))
    env = {"DAYBREAK_SECRET_ID": "daybreak/api-keys", "DAYBREAK_API_KEY": KEY, "DAYBREAK_API_SECRET": SECRET}
    assert load_api_keys("binanceus", env=env).source == "environment"


def test_placeholder_from_the_stack_tells_the_trader_how_to_fill_it(aws):
    _secret(aws, "stack-api-keys", json.dumps(SECRET_PLACEHOLDER))
    with pytest.raises(SecretsError) as err:
        load_api_keys("binanceus", env={"DAYBREAK_SECRET_ID": "stack-api-keys"})
    msg = str(err.value)
    assert "'stack-api-keys'" in msg and "no keys yet" in msg
    assert "aws secretsmanager put-secret-value --secret-id stack-api-keys" in msg


def test_missing_secret_is_named(aws):
    with pytest.raises(SecretsError, match="'nope/keys' does not exist"):
        load_api_keys("binanceus", env={"DAYBREAK_SECRET_ID": "nope/keys"})


@pytest.mark.parametrize(
    "value, problem",
    [
        ('{"apiKey": "' + KEY + '", "secret": "' + SECRET + '"', "not valid JSON"),  # truncated paste
        (json.dumps({"apiKey": KEY}), "field 'secret' is empty or missing"),
        (json.dumps({"api_key": KEY, "secret_key": SECRET}), "fields present: 'api_key', 'secret_key'"),
        (json.dumps({"apiKey": KEY, "secret": 12345}), "field 'secret' must be a string"),
        (json.dumps([KEY, SECRET]), "must be a JSON object"),
    ],
)
def test_bad_secret_content_is_explained_without_printing_it(aws, value, problem):
    _secret(aws, "bad", value)
    with pytest.raises(SecretsError) as err:
        load_api_keys("binanceus", env={"DAYBREAK_SECRET_ID": "bad"})
    assert problem in str(err.value) and "'bad'" in str(err.value)
    _assert_no_secret_in(str(err.value))


def test_binary_secret_is_refused(aws):
    aws.create_secret(Name="bin", SecretBinary=SECRET.encode())
    with pytest.raises(SecretsError, match="binary"):
        load_api_keys("binanceus", env={"DAYBREAK_SECRET_ID": "bin"})


# -- masking ---------------------------------------------------------------------------------------
def test_repr_and_str_never_show_the_secret():
    keys = ApiKeys(api_key=KEY, secret=SECRET, source="environment", password="my-passphrase")
    for text in (repr(keys), str(keys), f"{keys}", repr([keys]), repr({"k": keys})):
        assert SECRET not in text and KEY not in text and "my-passphrase" not in text
        assert "vmPU…Eh8A" in text  # enough of the key to tell two keys apart


# -- the live gate -----------------------------------------------------------------------------------
FULL_ENV = {"DAYBREAK_LIVE_CONFIRM": "yes", "DAYBREAK_API_KEY": KEY, "DAYBREAK_API_SECRET": SECRET}


@pytest.mark.parametrize(
    "mode, env, reason",
    [
        ("paper", FULL_ENV, "mode is 'paper'"),
        ("live", {**FULL_ENV, "DAYBREAK_LIVE_CONFIRM": "YES"}, "DAYBREAK_LIVE_CONFIRM is 'YES'"),
        ("live", {k: v for k, v in FULL_ENV.items() if k != "DAYBREAK_LIVE_CONFIRM"}, "DAYBREAK_LIVE_CONFIRM is unset"),
        ("live", {"DAYBREAK_LIVE_CONFIRM": "yes"}, "no API keys"),
        ("live", {"DAYBREAK_LIVE_CONFIRM": "yes", "DAYBREAK_API_KEY": KEY}, "DAYBREAK_API_SECRET is empty or unset"),
    ],
)
def test_live_is_refused_with_the_reason(mode, env, reason):
    allowed, why = live_trading_allowed(_cfg(mode), env=env)
    assert allowed is False
    assert reason in why
    _assert_no_secret_in(why)


def test_live_allowed_only_with_all_three():
    allowed, why = live_trading_allowed(_cfg("live"), env=FULL_ENV)
    assert allowed is True
    assert "binanceus" in why and "environment" in why
    _assert_no_secret_in(why)


def test_live_gate_reads_the_secret_and_reports_its_placeholder(aws):
    _secret(aws, "stack-api-keys", json.dumps(SECRET_PLACEHOLDER))
    env = {"DAYBREAK_LIVE_CONFIRM": "yes", "DAYBREAK_SECRET_ID": "stack-api-keys"}
    allowed, why = live_trading_allowed(_cfg("live"), env=env)
    assert not allowed and "no keys yet" in why
    aws.put_secret_value(SecretId="stack-api-keys", SecretString=json.dumps({"apiKey": KEY, "secret": SECRET}))
    assert live_trading_allowed(_cfg("live"), env=env)[0] is True


def test_live_gate_uses_the_real_config_model():
    from daybreak.ops.config_file import parse_config

    cfg = parse_config({"mode": "live", "exchange": "binanceus"})
    assert live_trading_allowed(cfg, env=FULL_ENV)[0] is True
    assert live_trading_allowed(parse_config({}), env=FULL_ENV)[0] is False


def test_the_live_client_is_signed_with_the_passphrase_the_exchange_requires():
    """OKX needs key, secret and passphrase on every signed request; ccxt refuses to sign
    without all three (check_required_credentials is what it runs before each private call)."""
    import ccxt

    from daybreak.core.config import Config
    from daybreak.drivers.live import connect

    config = Config.model_validate({"exchange": "okx"})
    signed = connect(config, ApiKeys(api_key="k", secret="s", source="environment", password="p"))
    assert (signed.client.apiKey, signed.client.secret, signed.client.password) == ("k", "s", "p")
    signed.client.check_required_credentials()
    unsigned = connect(config, ApiKeys(api_key="k", secret="s", source="environment"))
    with pytest.raises(ccxt.AuthenticationError, match="password"):
        unsigned.client.check_required_credentials()
    assert not connect(config, None).client.apiKey  # paper mode: public endpoints only
