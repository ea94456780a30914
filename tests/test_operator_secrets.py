"""Notification URLs and the dashboard password hash: environment first, else the Secrets Manager
secret that also holds the exchange keys (moto), never a value in an error."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from daybreak.ops.operator_secrets import OperatorSecretError, dashboard_password_hash, notify_urls

REGION = "us-east-1"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def test_urls_and_hash_from_the_secret(aws):
    aws.create_secret(
        Name="daybreak/keys",
        SecretString=json.dumps(
            {
                "apiKey": "k",
                "secret": "s",
                "notify_urls": [f"tgram://{TOKEN}/42", "json://127.0.0.1:9/x"],
                "dashboard_password_hash": "$argon2id$v=19$m=65536,t=3,p=4$abc$def",
            }
        ),
    )
    env = {"DAYBREAK_SECRET_ID": "daybreak/keys"}
    assert notify_urls(env) == [f"tgram://{TOKEN}/42", "json://127.0.0.1:9/x"]
    assert dashboard_password_hash(env) == "$argon2id$v=19$m=65536,t=3,p=4$abc$def"
    # the environment wins, the same splitting as DAYBREAK_NOTIFY_URLS
    env_first = dict(env, DAYBREAK_NOTIFY_URLS="json://a/1, form://b/2", DAYBREAK_DASHBOARD_PASSWORD_HASH="$h")
    assert notify_urls(env_first) == ["json://a/1", "form://b/2"] and dashboard_password_hash(env_first) == "$h"


def test_a_secret_without_those_keys_and_no_secret_at_all_give_none(aws):
    aws.create_secret(Name="daybreak/keys", SecretString=json.dumps({"apiKey": "k", "secret": "s"}))
    assert notify_urls({"DAYBREAK_SECRET_ID": "daybreak/keys"}) == []
    assert dashboard_password_hash({"DAYBREAK_SECRET_ID": "daybreak/keys"}) is None
    assert notify_urls({}) == [] and dashboard_password_hash({}) is None


def test_unreadable_secret_is_named_without_its_content(aws):
    with pytest.raises(OperatorSecretError, match="'nope' cannot be read .ResourceNotFoundException."):
        notify_urls({"DAYBREAK_SECRET_ID": "nope"})
    aws.create_secret(Name="bad", SecretString=f"tgram://{TOKEN}/42 not json")
    with pytest.raises(OperatorSecretError) as err:
        notify_urls({"DAYBREAK_SECRET_ID": "bad"})
    assert "not valid JSON" in str(err.value) and TOKEN not in str(err.value)
    aws.create_secret(Name="wrongtype", SecretString=json.dumps({"notify_urls": 5}))
    with pytest.raises(OperatorSecretError, match="must be a string or a list of strings"):
        notify_urls({"DAYBREAK_SECRET_ID": "wrongtype"})
