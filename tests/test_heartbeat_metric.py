"""The heartbeat job turns the stored bot status into the CloudWatch metric the stack alarms on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from daybreak.ops.heartbeat_metric import HEARTBEAT_METRIC, main
from storage.records import StatusRecord
from storage.sqlite import SQLiteStore

NS = "Daybreak/test-stack"
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def cloudwatch(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"storage": {"backend": "sqlite", "path": str(tmp_path / "db.sqlite")}}))
    return path


def _published(cw) -> list[float]:
    start = datetime.fromtimestamp(NOW / 1000, UTC)
    stats = cw.get_metric_statistics(
        Namespace=NS,
        MetricName=HEARTBEAT_METRIC,
        StartTime=start - timedelta(days=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=60,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in stats["Datapoints"]]


def test_publishes_the_age_of_the_stored_heartbeat(cloudwatch, config_path, tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite")
    store.put_status(StatusRecord(NOW - 90_000, "paper", "RUNNING"))
    store.close()
    assert main(["--config", str(config_path), "--namespace", NS], cloudwatch=cloudwatch, now_ms=NOW) == 0
    assert _published(cloudwatch) == [90.0]
    (metric,) = cloudwatch.list_metrics(Namespace=NS)["Metrics"]
    assert metric["MetricName"] == HEARTBEAT_METRIC and metric["Dimensions"] == []  # the alarm uses none


def test_no_heartbeat_yet_publishes_nothing_so_the_alarm_sees_missing_data(cloudwatch, config_path):
    assert main(["--config", str(config_path), "--namespace", NS], cloudwatch=cloudwatch, now_ms=NOW) == 0
    assert cloudwatch.list_metrics(Namespace=NS)["Metrics"] == []


def test_namespace_comes_from_the_stack_env(cloudwatch, config_path, tmp_path, monkeypatch):
    store = SQLiteStore(tmp_path / "db.sqlite")
    store.put_status(StatusRecord(NOW - 1000, "paper", "RUNNING"))
    store.close()
    monkeypatch.setenv("DAYBREAK_METRIC_NAMESPACE", NS)
    assert main(["--config", str(config_path)], cloudwatch=cloudwatch, now_ms=NOW) == 0
    assert _published(cloudwatch) == [1.0]


def test_missing_namespace_or_bad_config_exit_2_with_the_reason(config_path, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAYBREAK_METRIC_NAMESPACE", raising=False)
    assert main(["--config", str(config_path)]) == 2
    assert "DAYBREAK_METRIC_NAMESPACE" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"poll_seconds": -1}')
    assert main(["--config", str(bad), "--namespace", NS]) == 2
    assert "poll_seconds" in capsys.readouterr().err
