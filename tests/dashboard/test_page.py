"""The dashboard page (Streamlit AppTest) over a real SQLite store: what a trader reads there
must equal what storage and daybreak.reporting.stats say."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from daybreak.core.domain import BotState
from daybreak.reporting.stats import TOTAL, summarize
from storage.records import StatusRecord
from tests.dashboard.helpers import dashboard_app, frame_with, metric


def test_trades_table_and_pnl_equal_summarize(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    stored = deployment.store.list_trades(newest_first=True)
    summary = summarize(stored)

    table = frame_with(at, "trade_id", "pnl")
    assert table["trade_id"].tolist() == [t.trade_id for t in stored]  # all of them, newest first
    assert table["pnl"].tolist() == pytest.approx([float("nan") if t.pnl is None else t.pnl for t in stored], nan_ok=True)

    per_strategy = frame_with(at, "strategy", "win_rate").set_index("strategy")
    assert set(per_strategy.index) == {"MA_Crossover", "External", TOTAL}
    for algo, row in summary.items():
        for stat, value in row.items():
            assert per_strategy.loc[algo, stat] == pytest.approx(value), (algo, stat)

    total = summary[TOTAL]
    assert metric(at, "Total P&L (USDT)") == f"{total['pnl']:,.2f}"
    assert metric(at, "Wins / losses") == f"{int(total['wins'])} / {int(total['losses'])}"
    assert metric(at, "Closed trades") == str(int(total["closed_trades"]))
    assert metric(at, "Win rate") == f"{total['win_rate']:.1%}"
    assert total["wins"] > 0 and total["losses"] > 0  # the fixture really has both


def test_filters_show_one_strategy_and_symbol(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    at.selectbox(key="trades_algo").select("External").run()
    at.selectbox(key="trades_symbol").select("ETH/USDT").run()
    expected = deployment.store.list_trades(symbol="ETH/USDT", algo="External", newest_first=True)
    table = frame_with(at, "trade_id", "pnl")
    assert table["trade_id"].tolist() == [t.trade_id for t in expected]
    assert set(table["strategy"]) == {"External"} and set(table["symbol"]) == {"ETH/USDT"}
    assert metric(at, "Total P&L") == f"{summarize(expected)[TOTAL]['pnl']:,.2f}"


def test_status_shows_heartbeat_errors_feed_and_limit_distances(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert metric(at, "State") == "RUNNING"
    assert metric(at, "Mode") == "paper"
    assert metric(at, "Equity (USDT)") == "10,000.12" and metric(at, "Cash (USDT)") == "9,850.25"
    assert any("day: 2021-05-12" in c.value for c in at.caption)
    errors = " ".join(e.value for e in at.error)
    assert "RequestTimeout" in errors  # last error
    assert "ETH/USDT" in errors and "exchange unreachable" in errors  # feed error
    assert not any("No heartbeat for" in w.value for w in at.warning)  # fresh heartbeat
    limits = frame_with(at, "limit", "left").set_index("limit")
    assert limits.loc["Daily loss", "left"] == pytest.approx(137.5)
    assert limits.loc["Trades today", "left"] == 6
    assert limits.loc["Loss streak", "left"] == 2


def test_old_heartbeat_and_risk_pause_are_flagged(deployment, monkeypatch):
    poll = 5
    deployment.store.put_status(StatusRecord(
        timestamp=deployment.now_ms - (3 * poll + 20) * 1000, mode="paper",
        state=BotState.PAUSED_RISK_LIMIT.value, reason="daily loss limit reached",
        detail={"limits": {"daily_loss_used": 151.0, "daily_loss_limit": 150.0,
                           "paused_until": deployment.now_ms + 3_600_000}}))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    warnings = " ".join(w.value for w in at.warning)
    assert "No heartbeat for" in warnings
    assert "PAUSED_RISK_LIMIT: daily loss limit reached" in warnings
    assert "New entries paused until" in warnings
    assert frame_with(at, "limit", "left").set_index("limit").loc["Daily loss", "left"] == pytest.approx(-1.0)


def test_failing_storage_is_said_with_what_waits_and_that_entries_are_paused(deployment, monkeypatch):
    deployment.store.put_status(StatusRecord(
        timestamp=deployment.now_ms, mode="paper", state=BotState.ERROR.value,
        reason="storage failing; new entries paused until 12 write(s) are stored",
        last_error="12 storage write(s) waiting", last_error_at=deployment.now_ms,
        detail={"storage": {"unsaved": 12, "error": "sqlite data/daybreak.db: database or disk is full",
                            "since": deployment.now_ms - 90_000}}))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    errors = " ".join(e.value for e in at.error)
    assert "Storage failing for " in errors and "since " in errors
    assert "12 write(s) kept in memory" in errors and "new entries are paused" in errors
    assert "database or disk is full" in errors


def test_chart_marks_every_buy_and_sell_of_the_symbol(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    at.selectbox(key="chart_symbol").select("ETH/USDT").run()
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    data = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets}
    line, points = (data[layer["data"]["name"]] for layer in spec["layer"])
    stored = deployment.store.list_prices("ETH/USDT")
    assert line["price"].iloc[-1] == stored[-1].price  # the newest stored price is drawn
    assert line["price"].min() >= min(p.price for p in stored)
    trades = deployment.store.list_trades(symbol="ETH/USDT")
    assert sorted(points["price"]) == sorted(t.price for t in trades)
    assert (points["action"] == "buy").sum() == sum(t.action == "buy" for t in trades)
    assert (points["action"] == "sell").sum() == sum(t.action == "sell" for t in trades)


def test_events_filter_by_rule(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert len(frame_with(at, "rule", "message")) == 4
    at.selectbox(key="events_rule").select("symbol_cooldown").run()
    shown = frame_with(at, "rule", "message")
    assert shown["rule"].tolist() == ["symbol_cooldown", "symbol_cooldown"]


def test_open_positions_are_listed_with_last_price(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    positions = frame_with(at, "entry_price", "last_price")
    assert positions["symbol"].tolist() == ["BTC/USDT"]
    assert positions["last_price"].iloc[0] == deployment.store.list_prices("BTC/USDT", limit=1)[0].price


def test_pause_and_flatten_buttons_write_pending_controls(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    at.button(key="control_pause").click().run()
    (pause,) = deployment.store.list_controls()
    assert (pause.action, pause.source, pause.status) == ("pause", "dashboard:local", "pending")  # no login: loopback

    at.button(key="control_flatten").click().run()
    assert len(deployment.store.list_controls()) == 1  # asks first, writes nothing yet
    at.button(key="control_flatten_confirm").click().run()
    controls = deployment.store.list_controls()
    assert [c.action for c in controls] == ["pause", "flatten"]
    assert len({c.control_id for c in controls}) == 2
    shown = frame_with(at, "action", "status", "control_id")
    assert shown["action"].tolist() == ["flatten", "pause"]  # newest first, straight after the write

    deployment.store.ack_control(controls[1].control_id, "done", "closed 1 position", deployment.now_ms)
    at.run()
    at.button(key="control_resume").click().run()  # a write also refreshes the list
    shown = frame_with(at, "action", "status", "control_id").set_index("action")
    assert shown.loc["flatten", "status"] == "done" and shown.loc["resume", "status"] == "pending"


def test_flatten_cancel_writes_nothing(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    at.button(key="control_flatten").click().run()
    at.button(key="control_flatten_cancel").click().run()
    assert deployment.store.list_controls() == []
    assert not [b for b in at.button if b.key == "control_flatten_confirm"]


def test_bad_config_file_is_reported_not_crashed(deployment, monkeypatch):
    data = json.loads(deployment.config_path.read_text())
    data["poll_seconds"] = -1
    deployment.config_path.write_text(json.dumps(data))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    assert any("poll_seconds = -1" in e.value for e in at.error)


def test_empty_store_says_so(tmp_path, monkeypatch):
    from tests.dashboard.helpers import write_config

    at = dashboard_app(write_config(tmp_path, tmp_path / "empty.db"), monkeypatch).run()
    assert not at.exception
    assert any("No heartbeat yet" in i.value for i in at.info)
    assert metric(at, "Total P&L") == "0.00"
    assert isinstance(frame_with(at, "strategy", "win_rate"), pd.DataFrame)


def test_a_stopped_bot_is_shown_as_stopped_not_stuck(deployment, monkeypatch):
    deployment.store.put_status(StatusRecord(timestamp=deployment.now_ms - 3_600_000, mode="paper",
                                             state=BotState.SHUTDOWN.value, reason="stopped"))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert metric(at, "State") == "SHUTDOWN"
    assert any("The bot stopped at" in i.value for i in at.info)
    assert not any("No heartbeat for" in w.value for w in at.warning)
