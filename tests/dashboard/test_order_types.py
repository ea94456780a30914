"""The Trades page shows the order type of every fill and of each round trip's entry and exit,
from a store filled by a real replay with limit entries (finished at market on timeout) and maker
exits (stops and time stops still sell at market)."""

from __future__ import annotations

import io
from collections import Counter

import pandas as pd
import pytest

from daybreak.ui.views.trades import fills_csv
from storage.sqlite import SQLiteStore
from tests.dashboard.conftest import REPLAY_RISK
from tests.dashboard.helpers import frame_with, headers, open_page, replay_sample, write_config

EXECUTION = {
    "entry_order": "limit",
    "entry_offset_bps": 5,
    "entry_timeout_seconds": 120,
    "entry_on_timeout": "market",
    "exit_order": "maker",
    "exit_chase_seconds": 60,
}
WORDS = {"market": "market", "limit": "limit", "maker": "maker (post-only)", "stop_limit": "stop-limit"}


@pytest.fixture(scope="module")
def replayed_limits(tmp_path_factory):
    d = tmp_path_factory.mktemp("replayed-limits")
    db = d / "replay.db"
    config = write_config(
        d,
        db,
        params={"MA_Crossover": {"short_period": 10, "long_period": 30}},
        risk=REPLAY_RISK,
        execution=EXECUTION,
    )
    replay_sample(config)
    store = SQLiteStore(db)
    try:
        trades = store.list_trades()
    finally:
        store.close()
    return config, trades


def test_fills_and_round_trips_show_their_order_type(replayed_limits, monkeypatch):
    config, trades = replayed_limits
    kinds = Counter((t.action.value, t.order_type) for t in trades)
    assert kinds[("buy", "limit")] and kinds[("sell", "maker")] and kinds[("sell", "market")], kinds
    at = open_page(config, monkeypatch, "trades")
    assert not at.exception
    fills = frame_with(at, "trade_id", "order_type")
    by_id = {t.trade_id: t for t in trades}
    assert len(fills) == len(trades)
    assert all(WORDS[by_id[i].order_type] == shown for i, shown in zip(fills["trade_id"], fills["order_type"]))
    assert headers(at, "trade_id", "order_type")["order_type"] == "Order type"

    trips = frame_with(at, "exit_order_id", "exit_order_type")
    by_order = {t.order_id: t for t in trades}
    assert len(trips) == sum(t.pnl is not None for t in trades)
    for _, row in trips.iterrows():
        assert row["exit_order_type"] == WORDS[by_order[row["exit_order_id"]].order_type]
        assert row["entry_order_type"] == WORDS[by_order[row["entry_order_id"]].order_type]
    assert {"maker (post-only)", "market"} <= set(trips["exit_order_type"])
    names = headers(at, "exit_order_id", "exit_order_type")
    assert (names["entry_order_type"], names["exit_order_type"]) == ("Entry order type", "Exit order type")

    at.selectbox(key="trades_side").select("sell").run()
    sells = frame_with(at, "trade_id", "order_type")
    assert Counter(sells["order_type"]) == Counter(WORDS[t.order_type] for t in trades if t.action == "sell")


def test_the_fills_csv_keeps_the_stored_order_type(replayed_limits):
    _, trades = replayed_limits
    back = pd.read_csv(io.BytesIO(fills_csv(trades)))
    assert len(back) == len(trades)
    assert Counter(back["order_type"]) == Counter(t.order_type for t in trades)
    assert back["amount"].tolist() == [t.amount for t in trades]  # unrounded
