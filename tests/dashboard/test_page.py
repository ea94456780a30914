"""The Operations page and the controls over a real SQLite store (``deployment`` fixture), and the
defects the dashboard had: a dead-looking replay, "stopped or stuck" while backing off, a broken
config hiding everything, a deleted store still shown."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from daybreak.core.domain import BotState
from storage.records import StatusRecord
from storage.sqlite import SQLiteStore
from tests.dashboard.helpers import (
    ROOT,
    SAMPLE,
    dashboard_app,
    frame_with,
    metric,
    open_page,
    texts,
    write_config,
)


def test_status_shows_state_errors_feed_and_limit_distances(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    assert metric(at, "Equity (USDT)") == "10,000.12"
    shown = texts(at)
    assert "RequestTimeout" in shown  # last error
    assert "market data failing for ETH/USDT" in shown and "exchange unreachable" in shown
    assert "no heartbeat for" not in shown  # fresh heartbeat
    limits = frame_with(at, "limit", "left").set_index("limit")
    assert limits.loc["Daily loss"].tolist()[:3] == ["12.50", "150.00", "137.50"]  # money: 2 decimals
    assert limits.loc["Entries today", "left"] == "6" and limits.loc["Loss streak", "left"] == "2"
    assert limits.loc["Daily loss", "left_ratio"] == "91.67 %"  # 137.5 of 150 left
    assert "trading day 2021-05-12" in shown
    feed = frame_with(at, "symbol", "error").set_index("symbol")
    assert feed.loc["ETH/USDT", "error"] == "NetworkError: exchange unreachable"


def test_old_heartbeat_and_risk_pause_are_flagged(deployment, monkeypatch):
    deployment.store.put_status(
        StatusRecord(
            timestamp=deployment.now_ms - 35_000,
            mode="paper",
            state=BotState.PAUSED_RISK_LIMIT.value,
            reason="daily loss limit reached",
            detail={
                "limits": {
                    "daily_loss_used": 151.0,
                    "daily_loss_limit": 150.0,
                    "paused_until": deployment.now_ms + 3_600_000,
                }
            },
        )
    )
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    shown = texts(at)
    assert re.search(r"no heartbeat for 3\d s", shown) and "stopped or stuck" in shown
    assert "entries paused until" in shown
    assert frame_with(at, "limit", "left").set_index("limit").loc["Daily loss", "left"] == "-1.00"
    assert ":red[✘] **No risk limit hit**: Daily loss" in shown


def test_failing_storage_is_said_with_what_waits_and_that_entries_are_paused(deployment, monkeypatch):
    deployment.store.put_status(
        StatusRecord(
            timestamp=deployment.now_ms,
            mode="paper",
            state=BotState.ERROR.value,
            reason="storage failing; new entries paused until 12 write(s) are stored",
            last_error="12 storage write(s) waiting",
            last_error_at=deployment.now_ms,
            detail={
                "storage": {
                    "unsaved": 12,
                    "error": "sqlite data/daybreak.db: database or disk is full",
                    "since": deployment.now_ms - 90_000,
                }
            },
        )
    )
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    errors = " ".join(e.value for e in at.error)
    assert "Storage failing for " in errors and "since " in errors
    assert "12 write(s) kept in memory" in errors and "new entries are paused" in errors
    assert "database or disk is full" in errors


def test_a_paused_bot_says_so_with_its_reason(deployment, monkeypatch):
    deployment.store.put_status(
        StatusRecord(
            deployment.now_ms,
            "paper",
            BotState.PAUSED_MANUAL.value,
            "paused by dashboard",
            detail={"wall_ms": deployment.now_ms},
        )
    )
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert any(
        "PAUSED_MANUAL" in w.value and "entries paused by hand: paused by dashboard" in w.value for w in at.warning
    )


def test_open_positions_show_unrealized_pnl_and_time_in_trade(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    pos = frame_with(at, "unrealized_pnl", "time_in_trade")
    (p,) = deployment.store.list_positions()
    last = deployment.store.list_prices("BTC/USDT", limit=1)[0].price
    upnl = p.amount * (last - p.entry_price) - p.entry_fee  # entry fee charged, exit fee not yet
    assert pos["unrealized_pnl"].iloc[0] == pytest.approx(upnl)
    assert pos["unrealized_ratio"].iloc[0] == pytest.approx(upnl / (p.amount * p.entry_price) * 100)
    assert pos["last_price"].iloc[0] == f"{last:,.2f}" and pos["amount"].iloc[0] == "0.00100"
    assert pos["time_in_trade"].iloc[0].endswith(" h")  # days and hours: held since the sample's time


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
    shown = frame_with(at, "action", "status", "control_id")
    assert shown["action"].tolist() == ["flatten", "pause"]  # newest first, straight after the write

    deployment.store.ack_control(controls[1].control_id, "done", "closed 1 position", deployment.now_ms)
    at.run()
    at.button(key="control_resume").click().run()
    shown = frame_with(at, "action", "status", "control_id").set_index("action")
    assert shown.loc["flatten", "status"] == "done" and shown.loc["resume", "status"] == "pending"


def test_controls_are_on_every_page(deployment, monkeypatch):
    at = open_page(deployment.config_path, monkeypatch, "chart")
    at.button(key="control_pause").click().run()
    assert [c.action for c in deployment.store.list_controls()] == ["pause"]


def test_flatten_cancel_writes_nothing(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    at.button(key="control_flatten").click().run()
    at.button(key="control_flatten_cancel").click().run()
    assert deployment.store.list_controls() == []
    assert not [b for b in at.button if b.key == "control_flatten_confirm"]


def test_a_broken_config_still_shows_status_and_keeps_the_controls(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    data = json.loads(deployment.config_path.read_text())
    data["poll_seconds"] = -1
    deployment.config_path.write_text(json.dumps(data))
    at.run()  # the same dashboard process: the last good config is still known
    assert not at.exception
    assert any("poll_seconds = -1" in e.value and "last good config" in e.value for e in at.error)
    assert metric(at, "Equity (USDT)") == "10,000.12"
    at.button(key="control_pause").click().run()
    assert [c.action for c in deployment.store.list_controls()] == ["pause"]


def test_a_broken_config_in_a_fresh_dashboard_is_salvaged(deployment, monkeypatch):
    data = json.loads(deployment.config_path.read_text())
    data["risk"] = {"stop_loss_ratio": 7}
    deployment.config_path.write_text(json.dumps(data))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert any("risk.stop_loss_ratio = 7" in e.value and "salvaged" in e.value for e in at.error)
    assert metric(at, "Equity (USDT)") == "10,000.12"  # the file's own storage section still names the store


def test_malformed_json_says_the_store_is_unknown(deployment, monkeypatch):
    deployment.config_path.write_text("{not json")
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    assert any("malformed JSON" in e.value for e in at.error)
    assert at.button(key="control_pause").disabled
    assert "store it names is unknown" in texts(at)


def test_a_missing_store_is_not_created_and_an_empty_one_says_no_heartbeat(tmp_path, monkeypatch):
    db = tmp_path / "empty.db"
    at = dashboard_app(write_config(tmp_path, db), monkeypatch).run()
    assert not at.exception and not db.exists()
    assert "No store at" in texts(at) and at.button(key="control_pause").disabled
    SQLiteStore(db).close()
    at.run()
    assert "no heartbeat yet" in texts(at)


def test_a_deleted_store_stops_showing_its_data(deployment, monkeypatch):
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert metric(at, "Equity (USDT)") == "10,000.12"
    deployment.store.close()
    for suffix in ("", "-wal", "-shm"):
        deployment.db_path.with_name(deployment.db_path.name + suffix).unlink(missing_ok=True)
    at.run()
    assert "No store at" in texts(at)
    with pytest.raises(AssertionError):
        metric(at, "Equity (USDT)")
    fresh = SQLiteStore(deployment.db_path)  # a new store at the same path: its data, not the old
    fresh.put_status(StatusRecord(int(time.time() * 1000), "paper", "RUNNING", detail={"equity": 500.0, "cash": 500.0}))
    at.run()
    assert metric(at, "Equity (USDT)") == "500.00"
    fresh.close()


def test_a_stopped_bot_is_shown_as_stopped_not_stuck(deployment, monkeypatch):
    deployment.store.put_status(
        StatusRecord(
            timestamp=deployment.now_ms - 3_600_000, mode="paper", state=BotState.SHUTDOWN.value, reason="stopped"
        )
    )
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert any("SHUTDOWN" in i.value and "the bot stopped 60 min ago" in i.value for i in at.info)
    assert "no heartbeat for" not in texts(at)


def test_backing_off_is_running_with_the_next_retry_not_stuck(deployment, monkeypatch):
    now = int(time.time() * 1000)
    deployment.store.put_status(
        StatusRecord(
            timestamp=now - 100_000,
            mode="paper",
            state=BotState.RUNNING.value,
            last_error="binanceus unreachable",
            last_error_at=now - 100_000,
            detail={
                "wall_ms": now - 100_000,
                "retry_at": now + 60_000,
                "run": "live",
                "feed": {"BTC/USDT": {"last_candle": now - 200_000, "error": "ExchangeNotAvailable: refused"}},
            },
        )
    )
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    banner = " ".join(w.value for w in at.warning)
    assert "RUNNING" in banner and "exchange unreachable (BTC/USDT): next retry in" in banner
    assert "stopped or stuck" not in texts(at)


def test_a_paced_replay_is_alive_and_labelled(tmp_path, monkeypatch):
    db = tmp_path / "paced.db"
    config = write_config(tmp_path, db, params={"MA_Crossover": {"short_period": 10, "long_period": 30}})
    bot = subprocess.Popen(
        [
            sys.executable,
            "bot.py",
            "run",
            "--config",
            str(config),
            "--pace",
            "0.02",
            "--replay",
            str(SAMPLE / "BTC-USDT_1m.csv.gz"),
            str(SAMPLE / "ETH-USDT_1m.csv.gz"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = SQLiteStore(db).get_status() if db.exists() else None
            if status is not None and status.state == "RUNNING":
                break
            time.sleep(0.2)
        else:
            pytest.fail("the paced replay wrote no RUNNING heartbeat")
        at = dashboard_app(config, monkeypatch).run()
        banner = " ".join(s.value for s in at.success)
        assert "REPLAY · RUNNING" in banner and "trading a replay" in banner
        assert "replay at market time 2021-05-1" in texts(at)  # the sample's days, not the wall clock
        assert "no heartbeat for" not in texts(at)
    finally:
        bot.terminate()
        bot.wait(timeout=30)


def test_live_account_shows_not_managed_coins_reconciliation_and_orders(deployment, monkeypatch):
    from daybreak.core.domain import Action, Order
    from daybreak.core.order_record import OrderRecord, OrderStatus

    status = deployment.store.get_status()
    detail = dict(
        status.detail,
        account={
            "quote": "USDT",
            "free": 9_000.0,
            "locked": 50.0,
            "synced_at": deployment.now_ms,
            "unmanaged": {"BTC": 0.5},
            "dust": {"BTC/USDT": 0.000009},
            "day_start_equity": 10_000.0,
            "reconciled": "the exchange holds less BTC than the bot: closed 0.00099 of MA_Crossover's BTC/USDT position",
        },
    )
    deployment.store.put_status(StatusRecord(status.timestamp, "live", status.state, status.reason, "", None, detail))
    rec = OrderRecord.intent(
        Order("db-x1", "MA_Crossover", "BTC/USDT", Action.BUY, 0.001, deployment.now_ms), deployment.now_ms
    )
    deployment.store.put_order(
        rec.next(
            deployment.now_ms,
            status=OrderStatus.EXPIRED,
            error="buy 0.001 BTC/USDT expired on the exchange with nothing filled",
        )
    )
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
