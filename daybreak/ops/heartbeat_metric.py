"""Publish the age of the bot's stored heartbeat to CloudWatch, so a stopped bot raises an alarm.

Run every 5 minutes by ``deploy/systemd/daybreak-heartbeat.timer`` (a process separate from the
bot, so a hung or crashed bot cannot hide itself)::

    python -m daybreak.ops.heartbeat_metric --config /var/lib/daybreak/config.json

It reads the status row (:meth:`storage.base.Store.get_status`, ``timestamp`` in UTC epoch ms)
and puts one datapoint ``HeartbeatAgeSeconds`` (seconds since that heartbeat) in the namespace
``DAYBREAK_METRIC_NAMESPACE`` (the stack sets it; the instance role may write nowhere else). The
stack's alarm fires above ``HeartbeatMaxAgeSeconds`` and also when no datapoint arrives at all
(instance down, or no heartbeat stored yet, in which case nothing is published). Exit codes: 0
published or nothing to publish, 1 store or CloudWatch error, 2 bad config.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from daybreak.core.config import ConfigError
from daybreak.ops.config_file import load_config
from storage import open_store

HEARTBEAT_METRIC = "HeartbeatAgeSeconds"
ENV_NAMESPACE = "DAYBREAK_METRIC_NAMESPACE"


def heartbeat_age_seconds(store: Any, now_ms: int) -> float | None:
    """Seconds from the stored heartbeat to ``now_ms`` (never negative), None before the first."""
    status = store.get_status()
    if status is None:
        return None
    return max(0.0, (now_ms - int(status.timestamp)) / 1000.0)


def publish_age(cloudwatch: Any, namespace: str, age_seconds: float) -> None:
    """One ``PutMetricData`` call: ``HeartbeatAgeSeconds`` = ``age_seconds`` (unit Seconds)."""
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": HEARTBEAT_METRIC, "Value": float(age_seconds), "Unit": "Seconds"}],
    )


def main(argv: list[str] | None = None, cloudwatch: Any | None = None, now_ms: int | None = None) -> int:
    parser = argparse.ArgumentParser(description="Publish the bot heartbeat age to CloudWatch")
    parser.add_argument("--config", default="config.json", help="config.json naming the store")
    parser.add_argument(
        "--namespace", default=os.environ.get(ENV_NAMESPACE), help=f"CloudWatch namespace (default: ${ENV_NAMESPACE})"
    )
    args = parser.parse_args(argv)
    if not args.namespace:
        print(f"heartbeat: no namespace; set {ENV_NAMESPACE} or --namespace", file=sys.stderr)
        return 2

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"heartbeat: {err}", file=sys.stderr)
        return 2
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        store = open_store(config.storage)
        try:
            age = heartbeat_age_seconds(store, now_ms)
        finally:
            store.close()
    except Exception as err:  # any store failure means "unknown": publish nothing, the alarm sees missing data
        print(
            f"heartbeat: cannot read the bot status from {config.storage.backend}: {type(err).__name__}: {err}",
            file=sys.stderr,
        )
        return 1
    if age is None:
        print("heartbeat: no heartbeat stored yet; nothing published")
        return 0
    try:
        if cloudwatch is None:
            import boto3  # lazy: only the metric push needs boto3; the --dry-run path never loads it

            cloudwatch = boto3.client("cloudwatch")
        publish_age(cloudwatch, args.namespace, age)
    except Exception as err:  # boto3/botocore errors: report, exit non-zero so systemd shows the failure
        print(f"heartbeat: PutMetricData to {args.namespace!r} failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(f"heartbeat: {HEARTBEAT_METRIC}={age:.0f} s published to {args.namespace}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
