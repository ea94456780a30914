"""Fixtures: a temp store filled with real-looking records and a config pointing at it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.records import SignalRecord
from storage.sqlite import SQLiteStore
from tests.dashboard.helpers import fill_store, replay_sample, write_config


@dataclass
class Deployment:
    config_path: Path
    db_path: Path
    store: SQLiteStore
    now_ms: int


@pytest.fixture
def deployment(tmp_path) -> Deployment:
    db = tmp_path / "daybreak.db"
    now_ms = int(time.time() * 1000)
    store = fill_store(db, now_ms)
    yield Deployment(write_config(tmp_path, db), db, store, now_ms)
    store.close()


@pytest.fixture(autouse=True)
def loopback_server():
    """Serve 127.0.0.1, as ``make dashboard`` does: without a password hash the page refuses any
    other address (tests/dashboard/test_auth.py sets its own)."""
    from streamlit import config as st_config

    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", before)


@dataclass
class Replayed:
    """A store filled by a real ``bot.py run --replay`` of the shipped candles (read-only for tests)."""

    config_path: Path
    db_path: Path
    log_path: Path


SIGNAL_T0 = 1_620_691_200_000  # 2021-05-11 00:00 UTC, inside the sample
REPLAY_RISK = {
    "stop_loss_ratio": 0.01,
    "time_stop_seconds": 1800,
    "symbol_cooldown_seconds": 60,
    "max_open_positions": 4,
    "max_trades_per_day": 40,
}


@pytest.fixture(scope="session")
def replayed(tmp_path_factory) -> Replayed:
    """MA_Crossover 10/30 with a stop-loss and a time stop (so exits have several reasons) and
    four external signals inserted before the run: a buy and a sell of BTC/USDT that execute, one
    for an untraded symbol and a sell of nothing, which are rejected."""
    d = tmp_path_factory.mktemp("replayed")
    db = d / "replay.db"
    config = write_config(d, db, params={"MA_Crossover": {"short_period": 10, "long_period": 30}}, risk=REPLAY_RISK)
    store = SQLiteStore(db)
    for i, (symbol, action, at) in enumerate(
        [("BTC/USDT", "buy", 0), ("BTC/USDT", "sell", 20), ("SOL/USDT", "buy", 30), ("ETH/USDT", "sell", 40)]
    ):
        store.put_signal(
            SignalRecord(
                f"sig-{i}", SIGNAL_T0 + at * 60_000 + 30_000, symbol, action, "desk-a" if i % 2 else "tv-alerts"
            )
        )
    store.close()
    replay_sample(config)
    return Replayed(config, db, d / "daybreak.log")
