"""Bad configs stop bot.py with exit 2 and one message naming the field; live edits apply or are refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.helpers import ROOT, SAMPLE, bot, write_config


@pytest.mark.parametrize(
    "change, field",
    [
        ({"algos": {"Moonshot": True}}, "algos"),
        (
            {"params": {"MA_Crossover": {"short_period": 200, "long_period": 50}}},
            "short_period (200) must be less than long_period (50)",
        ),
        ({"order_size": {"default": {"stake": -10}}}, "order_size.default.stake = -10"),
        ({"leverage": 10}, "leverage = 10"),
        ({"risk": {"stop_loss_ratio": 1.5}}, "risk.stop_loss_ratio = 1.5"),
    ],
)
def test_bad_config_exits_2_naming_the_field(tmp_path, change, field):
    cfg = write_config(tmp_path, **change)
    proc = bot("run", "--replay", str(SAMPLE[0]), "--config", str(cfg))
    assert proc.returncode == 2
    assert field in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "daybreak.db").exists(), "nothing is stored on a bad config"


def test_malformed_json_exits_2(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"symbols": ["BTC/USDT"], }')
    proc = bot("stats", "--config", str(cfg))
    assert proc.returncode == 2
    assert "malformed JSON at line 1" in proc.stderr


def test_live_edit_applied_and_bad_edit_refused_while_running(tmp_path):
    data = tmp_path / "BTC-USDT_1m.csv.gz"
    pd.read_csv(SAMPLE[0]).iloc[:1500].to_csv(data, index=False, compression="gzip")
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
    )
    proc = subprocess.Popen(
        [sys.executable, "bot.py", "run", "--replay", str(data), "--config", str(cfg), "--pace", "0.01"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = tmp_path / "daybreak.log"
        _wait_for(log, "TRADE MA_Crossover", 60)
        good = json.loads(cfg.read_text())
        good["algos"] = {"MA_Crossover": False}
        cfg.write_text(json.dumps(good))
        _wait_for(log, "config applied", 30)
        bad = dict(good, poll_seconds=-3)
        time.sleep(0.05)
        cfg.write_text(json.dumps(bad))
        _wait_for(log, "config change refused", 30)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "replayed 1500 candles" in out
    text = log.read_text()
    assert "poll_seconds = -3" in text
    after = text.split("config applied", 1)[1]
    assert "BUY" not in after, "a disabled strategy opens nothing after the edit"


def _wait_for(path, needle: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if path.exists() and needle in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not in {path} after {seconds} s")


def test_a_second_bot_on_the_same_store_is_refused(tmp_path):
    data = tmp_path / "BTC-USDT_1m.csv.gz"
    pd.read_csv(SAMPLE[0]).iloc[:400].to_csv(data, index=False, compression="gzip")
    cfg = write_config(tmp_path, symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})
    first = subprocess.Popen(
        [sys.executable, "bot.py", "run", "--replay", str(data), "--config", str(cfg), "--pace", "0.05"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(tmp_path / "daybreak.log", "replay of BTC/USDT", 60)
        second = bot("run", "--replay", str(data), "--config", str(cfg))
        assert second.returncode == 2
        assert "another bot process" in second.stderr and f"pid {first.pid}" in second.stderr
    finally:
        first.kill()
        first.wait()
    assert bot("run", "--replay", str(data), "--config", str(cfg)).returncode == 0, "the lock dies with its process"
