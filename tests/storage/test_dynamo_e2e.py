"""End to end: ``bot.py run --replay`` on DynamoDB (a dynalite server) gives the same trades and stats
as on SQLite, also when the server is SIGKILLed and restarted in the middle of the replay."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pandas as pd

from tests.helpers import ROOT, SAMPLE, bot, trades_json, write_config


def configs(tmp_path: Path, endpoint_url: str) -> tuple[Path, Path]:
    """(sqlite config, dynamodb config) identical but for the storage section."""
    (tmp_path / "sqlite").mkdir()
    (tmp_path / "dynamo").mkdir()
    sqlite = write_config(tmp_path / "sqlite")
    dynamo = write_config(
        tmp_path / "dynamo",
        storage={"backend": "dynamodb", "region": "us-east-1", "table_prefix": "E2E", "endpoint_url": endpoint_url},
    )
    bot("init-db", "--config", str(dynamo), check=True)
    return sqlite, dynamo


def outcome(config: Path) -> tuple[list[dict], str]:
    return trades_json(config), bot("stats", "--config", str(config), check=True).stdout


def test_replay_on_dynamodb_gives_the_same_trades_and_stats_as_sqlite(tmp_path, dynalite_server):
    sqlite, dynamo = configs(tmp_path, dynalite_server.endpoint_url)
    files = [str(p) for p in SAMPLE]
    bot("run", "--replay", *files, "--config", str(sqlite), check=True)
    out = bot("run", "--replay", *files, "--config", str(dynamo), check=True).stdout
    assert "replayed 8640 candles" in out
    trades, stats = outcome(dynamo)
    assert len(trades) >= 20
    assert (trades, stats) == outcome(sqlite)
    # a second run over the same files adds nothing on DynamoDB either
    bot("run", "--replay", *files, "--config", str(dynamo), check=True)
    assert trades_json(dynamo) == trades


def test_server_killed_mid_replay_loses_and_duplicates_no_trade(tmp_path, dynalite_server):
    days = []
    for path in SAMPLE:  # the first 36 hours of each sample file keep the test short
        frame = pd.read_csv(path)
        short = tmp_path / "candles" / path.name
        short.parent.mkdir(exist_ok=True)
        frame[frame["timestamp"] < frame["timestamp"].iloc[0] + 36 * 3_600_000].to_csv(
            short, index=False, compression="gzip"
        )
        days.append(str(short))
    sqlite, dynamo = configs(tmp_path, dynalite_server.endpoint_url)
    bot("run", "--replay", *days, "--config", str(sqlite), check=True)
    expected = trades_json(sqlite)
    assert len(expected) >= 6

    log = Path(json.loads(dynamo.read_text())["log"]["path"])
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "run", "--replay", *days, "--config", str(dynamo)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_text().count(" TRADE ") >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the replay ended before the server could be stopped"
    dynalite_server.kill(signal.SIGKILL)
    time.sleep(1.0)  # the bot keeps running against a dead server
    assert proc.poll() is None
    dynalite_server.start()
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout + stderr
    assert trades_json(dynamo) == expected


def test_a_signal_put_by_another_system_runs_once_tagged_external(tmp_path, dynalite_server):
    frame = pd.read_csv(SAMPLE[0])  # BTC/USDT
    t0 = int(frame["timestamp"].iat[0])
    short = tmp_path / "candles" / SAMPLE[0].name
    short.parent.mkdir()
    frame[frame["timestamp"] < t0 + 8 * 3_600_000].to_csv(short, index=False, compression="gzip")
    cfg = write_config(
        tmp_path,
        algos={"MA_Crossover": False},
        storage={
            "backend": "dynamodb",
            "region": "us-east-1",
            "table_prefix": "Ext",
            "endpoint_url": dynalite_server.endpoint_url,
        },
    )
    bot("init-db", "--config", str(cfg), check=True)
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=dynalite_server.endpoint_url)
    for sid, minute, action, amount in (("scr-1", 100, "buy", "0.002"), ("scr-2", 300, "sell", None)):
        item = {
            "signal_id": {"S": sid},
            "timestamp": {"N": str(t0 + minute * 60_000)},
            "symbol": {"S": "BTC/USDT"},
            "action": {"S": action},
            "source": {"S": "screener"},
            "status": {"S": "new"},
        }
        if amount:
            item["amount"] = {"N": amount}
        client.put_item(TableName="ExtSignals", Item=item, ConditionExpression="attribute_not_exists(signal_id)")
    bot("run", "--replay", str(short), "--config", str(cfg), check=True)
    trades = trades_json(cfg)
    assert [(t["action"], t["algo"], t["amount"]) for t in trades] == [
        ("buy", "External", 0.002),
        ("sell", "External", 0.002),
    ]
    marked = client.get_item(
        TableName="ExtSignals", Key={"signal_id": {"S": "scr-1"}, "timestamp": {"N": str(t0 + 100 * 60_000)}}
    )
    assert marked["Item"]["status"] == {"S": "executed"} and marked["Item"]["outcome"] == {"S": trades[0]["order_id"]}
    bot("run", "--replay", str(short), "--config", str(cfg), check=True)
    assert trades_json(cfg) == trades
