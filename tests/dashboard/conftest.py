"""Fixtures: a temp store filled with real-looking records and a config pointing at it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.sqlite import SQLiteStore
from tests.dashboard.helpers import fill_store, write_config


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
