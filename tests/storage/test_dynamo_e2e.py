"""End to end: ``bot.py run --replay`` on DynamoDB (a dynalite server) gives the same trades and stats
as on SQLite, also when the server is SIGKILLed and restarted in the middle of the replay."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tests.helpers import ROOT, SAMPLE, bot, trades_json, write_config


def configs(tmp_path: Path, endpoint_url: str) -> tuple[Path, Path]:
    """(sqlite config, dynamodb config) identical but for the storage section."""
    (tmp_path / "sqlite").mkdir()
    (tmp_path / "dynamo").mkdir()
    sqlite = write_config(tmp_path / "sqlite")
    dynamo = write_config(tmp_path / "dynamo", storage={
        "backend": "dynamodb", "region": "us-east-1", "table_prefix": "E2E", "endpoint_url": endpoint_url})
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
        frame[frame["timestamp"] < frame["timestamp"].iloc[0] + 36 * 3_600_000].to_csv(short, index=False, compression="gzip")
        days.append(str(short))
    sqlite, dynamo = configs(tmp_path, dynalite_server.endpoint_url)
    bot("run", "--replay", *days, "--config", str(sqlite), check=True)
    expected = trades_json(sqlite)
    assert len(expected) >= 6

    log = Path(json.loads(dynamo.read_text())["log"]["path"])
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run", "--replay", *days, "--config", str(dynamo)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
