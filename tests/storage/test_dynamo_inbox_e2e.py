"""End to end on DynamoDB (moto and dynalite): rows another system puts with plain boto3, in the
requirements' schema (no ``status``) and in shapes the bot must refuse, go through ``bot.py run
--replay``: the valid ones execute once, tagged External; every other row ends rejected with the
field and value; a second run changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
import pandas as pd
import pytest

from daybreak import cli
from tests.helpers import SAMPLE, write_config

MIN = 60_000


@pytest.fixture(params=["moto", "dynalite"])
def dynamo(request, aws_env):
    """(endpoint_url or None) of a DynamoDB-compatible server for this test."""
    if request.param == "moto":
        from moto import mock_aws

        with mock_aws():
            yield None
    else:
        yield request.getfixturevalue("dynalite_shared").endpoint_url


def test_plain_boto3_rows_execute_once_tagged_external_and_bad_ones_are_rejected(tmp_path, dynamo, capsys):
    frame = pd.read_csv(SAMPLE[0])  # BTC/USDT
    t0 = int(frame["timestamp"].iat[0])
    short = tmp_path / SAMPLE[0].name
    frame[frame["timestamp"] < t0 + 8 * 3_600_000].to_csv(short, index=False, compression="gzip")
    prefix = f"In{tmp_path.name[-8:].replace('-', '')}"
    cfg = write_config(
        tmp_path,
        algos={"MA_Crossover": False},
        storage={"backend": "dynamodb", "region": "us-east-1", "table_prefix": prefix, "endpoint_url": dynamo},
    )
    assert cli.main(["init-db", "--config", str(cfg)]) == 0
    kw = {"endpoint_url": dynamo} if dynamo else {}
    table = boto3.resource("dynamodb", region_name="us-east-1", **kw).Table(prefix + "Signals")
    base = {"symbol": "BTC/USDT", "source": "screener"}
    rows = {
        ("req-1", 100): {"action": "buy", "amount": Decimal("0.002")},  # the requirements' attributes only
        ("req-2", 300): {"action": "sell", "status": "NEW"},
        ("req-1", 200): {"action": "sell"},  # a reused signal_id
        ("big", 150): {"action": "buy", "symbol": "B" * 300_000},  # a 300 KB symbol
        ("odd", 160): {"action": "buy", "status": "pending"},
    }
    for (sid, minute), extra in rows.items():
        table.put_item(Item={"signal_id": sid, "timestamp": t0 + minute * MIN, **base, **extra})

    assert cli.main(["run", "--replay", str(short), "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert cli.main(["trades", "--format", "json", "--config", str(cfg)]) == 0
    trades = json.loads(capsys.readouterr().out)
    assert [(t["action"], t["algo"], t["amount"]) for t in trades] == [
        ("buy", "External", 0.002),
        ("sell", "External", 0.002),
    ]

    def stored(sid, minute):
        return table.get_item(Key={"signal_id": sid, "timestamp": t0 + minute * MIN}, ConsistentRead=True)["Item"]

    assert (stored("req-1", 100)["status"], stored("req-1", 100)["outcome"]) == ("executed", trades[0]["order_id"])
    assert stored("req-2", 300)["status"] == "executed"
    assert stored("req-1", 200)["status"] == "rejected" and "already used" in stored("req-1", 200)["reason"]
    assert stored("big", 150)["status"] == "rejected" and stored("big", 150)["reason"].startswith("symbol = 'BBBB")
    assert stored("odd", 160)["reason"].startswith("status = 'pending'")
    assert int(stored("req-1", 100)["expiry"]) > 0, "finished rows expire (TTL)"

    assert cli.main(["run", "--replay", str(short), "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert cli.main(["trades", "--format", "json", "--config", str(cfg)]) == 0
    assert json.loads(capsys.readouterr().out) == trades, "a second run executes nothing again"
