"""One bot per store on every backend: the store lease (ops/run_lock.StoreLease)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from daybreak.ops.run_lock import AlreadyRunning, StoreLease
from storage.sqlite import SQLiteStore
from tests.fixtures_dynamo import dynamo_settings, open_dynamo
from tests.fixtures_exchange import sample_candles
from tests.helpers import ROOT, write_config


def test_a_second_lease_on_the_store_is_refused_naming_the_holder(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    first = StoreLease(store).acquire()
    with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()} on .* holds this store's lease"):
        StoreLease(SQLiteStore(tmp_path / "s.db")).acquire()
    first.release()
    StoreLease(store).acquire().release()  # released: free again


def test_an_expired_lease_is_taken_over_and_its_holder_loses_it(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    now = {"ms": 1_000_000}
    old = StoreLease(store, seconds=60, clock=lambda: now["ms"])
    old.acquire()
    old._stop.set()  # it stops renewing (stuck, or its host is gone)
    now["ms"] += 61_000
    new = StoreLease(store, seconds=60, clock=lambda: now["ms"]).acquire()
    assert not old.renew() and "taken by" in old.lost
    assert new.renew()
    new.release()


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(tmp_path):
    """A restart after a crash (SIGKILL) need not wait for the expiry."""
    store = SQLiteStore(tmp_path / "s.db")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    crashed = StoreLease(store)
    crashed.mine = crashed.mine.__class__(
        f"{crashed.mine.host}:x", crashed.mine.host, int(dead.stdout), "/x", 0, int(time.time() * 1000) + 3_600_000
    )
    store.write_lease(crashed.mine, None)
    StoreLease(store).acquire().release()


def test_two_bots_on_one_dynamodb_table_set_from_two_folders(tmp_path, dynalite_server, fake_binance):
    """The second is refused (exit 2) while the first runs: the lease is in the tables."""
    settings = dynamo_settings(dynalite_server.endpoint_url)
    open_dynamo(settings).close()
    storage = {
        "backend": "dynamodb",
        "endpoint_url": settings.endpoint_url,
        "table_prefix": settings.table_prefix,
        "region": "us-east-1",
    }
    frame = sample_candles()
    shift = int(time.time() * 1000) // 60_000 * 60_000 - int(frame["timestamp"].iat[500])
    fake_binance.add_candles("BTC/USDT", "1m", frame.assign(timestamp=frame["timestamp"] + shift))
    fake_binance.follow_wall_clock()
    env = dict(os.environ, DAYBREAK_EXCHANGE_URL=fake_binance.url, PYTHONUNBUFFERED="1")
    cfgs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        cfgs.append(
            write_config(
                folder,
                symbols=["BTC/USDT"],
                order_size={"BTC/USDT": {"amount": 0.001}},
                storage=storage,
                poll_seconds=0.5,
            )
        )
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "run", "--config", str(cfgs[0])],
        cwd=cfgs[0].parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        store = open_dynamo(settings)
        deadline = time.time() + 60
        while time.time() < deadline and (store.get_status() is None or store.get_status().state != "RUNNING"):
            time.sleep(0.2)
        assert store.get_status().state == "RUNNING"
        second = subprocess.run(
            [sys.executable, str(ROOT / "bot.py"), "run", "--config", str(cfgs[1])],
            cwd=cfgs[1].parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2, second.stdout + second.stderr
        assert "holds this store's lease" in second.stdout + second.stderr
        assert json.loads(json.dumps(store.read_lease().folder)) == str(cfgs[0].parent)
        store.close()
    finally:
        first.terminate()
        first.wait(timeout=30)
    assert first.returncode == 0, first.stdout.read()
