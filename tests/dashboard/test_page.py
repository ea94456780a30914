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
    assert (pause.action, pause.source, pause.status) == ("pause", "dashboard", "pending")

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


def test_live_account_shows_not_managed_coins_reconciliation_and_orders(deployment, monkeypatch):
    from daybreak.core.domain import Action, Order
    from daybreak.core.order_record import OrderRecord, OrderStatus

    status = deployment.store.get_status()
    detail = dict(status.detail, account={
        "quote": "USDT", "free": 9_000.0, "locked": 50.0, "synced_at": deployment.now_ms, "unmanaged": {"BTC": 0.5},
        "dust": {"BTC/USDT": 0.000009}, "day_start_equity": 10_000.0,
        "reconciled": "the exchange holds less BTC than the bot: closed 0.00099 of MA_Crossover's BTC/USDT position"})
    deployment.store.put_status(StatusRecord(status.timestamp, "live", status.state, status.reason, "", None, detail))
    rec = OrderRecord.intent(Order("db-x1", "MA_Crossover", "BTC/USDT", Action.BUY, 0.001, deployment.now_ms),
                             deployment.now_ms)
    deployment.store.put_order(rec.next(deployment.now_ms, status=OrderStatus.EXPIRED,
                                        error="buy 0.001 BTC/USDT expired on the exchange with nothing filled"))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    assert any("Reconciled with the exchange: the exchange holds less BTC" in w.value for w in at.warning)
    assert any("Not managed" in i.value for i in at.info)
    unmanaged = frame_with(at, "asset", "amount")
    assert unmanaged.to_dict("records") == [{"asset": "BTC", "amount": 0.5}]
    orders = frame_with(at, "client_order_id", "filled")
    assert orders["status"].tolist() == ["expired"] and "nothing filled" in orders["error"].iloc[0]


def test_a_control_sent_while_no_bot_runs_says_so(deployment, monkeypatch):
    status = deployment.store.get_status()
    deployment.store.put_status(StatusRecord(status.timestamp, "paper", BotState.SHUTDOWN.value, "stopped"))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    at.button(key="control_pause").click().run()
    notice = " ".join(s.value for s in at.success)
    assert "no bot is running on this store" in notice and "expires after 300 s" in notice
    assert "within one poll" not in notice
