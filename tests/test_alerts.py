"""Operator alerts from a running bot, delivered to a local receiver (apprise json://): a replay
with --notify and a live paper run against the fake exchange. Each expected message is derived
from the stored trades by independent arithmetic, never from the alert code's own state."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from daybreak.core.domain import new_control
from daybreak.drivers.alerts import Alerts
from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from daybreak.ops.notify import Notifier
from storage.sqlite import SQLiteStore
from tests.fakes.alert_receiver import Receiver
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import ROOT, SAMPLE, write_config

MINUTE = 60_000
FAST = {"retries": 2, "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "poll_seconds": 0.02}


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


def _bot(*args, env_extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **env_extra)
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _money(x: float) -> str:
    return f"{x:+,.2f} USDT"


def _check_fill_messages(bodies: list[dict], trades) -> None:
    """One message per stored trade: entries as BUY, stop-loss exits as stop_loss hits, others as SELL."""
    buys = [b for b in bodies if b["title"].startswith("Daybreak: BUY ")]
    stops = [b for b in bodies if " hit on " in b["title"]]
    sells = [b for b in bodies if b["title"].startswith("Daybreak: SELL ")]
    assert len(buys) == sum(t.action == "buy" for t in trades)
    assert len(stops) == sum(t.exit_reason == "stop_loss" for t in trades)
    assert len(sells) == sum(t.action == "sell" and t.exit_reason != "stop_loss" for t in trades)
    exits = [t for t in trades if t.action == "sell"]
    assert sorted(f"PnL: {_money(t.pnl)}" for t in exits) == sorted(
        line for b in stops + sells for line in b["message"].splitlines() if line.startswith("PnL:")
    )


def test_replay_with_notify_sends_fills_stops_limit_trips_and_daily_summaries_once(tmp_path, receiver):
    ratio = 0.002
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.05}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk={"stop_loss_ratio": 0.002, "daily_max_loss_ratio": ratio},
        notify={"rate_limit_per_kind": 1000},
    )
    env = {"DAYBREAK_NOTIFY_URLS": receiver.url()}
    proc = _bot("run", "--replay", str(SAMPLE[0]), "--config", str(cfg), "--notify", env_extra=env)
    assert proc.returncode == 0, proc.stderr
    bodies = receiver.delivered()
    store = SQLiteStore(tmp_path / "daybreak.db")
    trades = store.list_trades()
    assert trades and any(t.exit_reason == "stop_loss" for t in trades)

    assert all("Market time: 2021-05-" in b["message"] for b in bodies), "replay alerts carry the market time"
    assert len({(b["title"], b["message"]) for b in bodies}) == len(bodies), "no message twice"
    _check_fill_messages(bodies, trades)

    # the daily loss limit, computed here from the trades: trips on every day whose loss reaches
    # ratio x (starting balance + P&L realized before that day)
    pnl_by_day: dict[str, float] = defaultdict(float)
    closed_by_day: Counter = Counter()
    for t in trades:
        if t.action == "sell":
            pnl_by_day[_day(t.timestamp)] += t.pnl
            closed_by_day[_day(t.timestamp)] += 1
    days = sorted({_day(int(ts)) for ts in sample_candles()["timestamp"]})
    before, trip_days = 0.0, []
    for day in days:
        running = 0.0
        for t in (t for t in trades if t.action == "sell" and _day(t.timestamp) == day):
            running += t.pnl
            if -running >= ratio * (10_000 + before):
                trip_days.append(day)
                break
        before += pnl_by_day[day]
    tripped = [b for b in bodies if b["title"] == "Daybreak: risk limit daily_max_loss tripped"]
    lifted = [b for b in bodies if b["title"] == "Daybreak: risk limit daily_max_loss lifted"]
    assert trip_days and [b["message"].split("(day ")[1][:10] for b in tripped] == trip_days
    assert len(lifted) == len(trip_days), "each trip is lifted at the next trading day"

    summaries = {b["title"].rsplit(" ", 1)[1]: b["message"] for b in bodies if "daily summary" in b["title"]}
    assert sorted(summaries) == days, "one summary per trading day (the last one when its day ends)"
    for day, text in summaries.items():
        assert f"PnL: {_money(pnl_by_day[day])}" in text and f"Trades: {closed_by_day[day]} " in text

    # replaying the same span again on the same store announces nothing new
    n = len(bodies)
    assert _bot("run", "--replay", str(SAMPLE[0]), "--config", str(cfg), "--notify", env_extra=env).returncode == 0
    assert len(receiver.delivered()) == n
    store.close()


def test_replay_without_notify_sends_nothing(tmp_path, receiver):
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
    )
    proc = _bot(
        "run", "--replay", str(SAMPLE[0]), "--config", str(cfg), env_extra={"DAYBREAK_NOTIFY_URLS": receiver.url()}
    )
    assert proc.returncode == 0, proc.stderr
    assert receiver.requests == []


def test_bad_notification_url_is_bad_input(tmp_path):
    cfg = write_config(tmp_path, symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})
    proc = _bot(
        "run",
        "--replay",
        str(SAMPLE[0]),
        "--config",
        str(cfg),
        "--notify",
        env_extra={"DAYBREAK_NOTIFY_URLS": "nosuchscheme://TOKEN123@host"},
    )
    assert proc.returncode == 2
    assert "DAYBREAK_NOTIFY_URLS" in proc.stderr and "nosuchscheme://" in proc.stderr
    assert "TOKEN123" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_notify_test_says_which_target_worked(tmp_path, receiver):
    cfg = write_config(tmp_path)
    dead = "json://127.0.0.1:9/dead"
    proc = _bot("notify-test", "--config", str(cfg), env_extra={"DAYBREAK_NOTIFY_URLS": f"{receiver.url()}, {dead}"})
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == f"OK   {receiver.url()}" and lines[1].startswith("FAIL json://127.0.0.1:9/dead: ")
    assert lines[2] == "1 of 2 notification target(s) worked"
    (body,) = receiver.delivered()
    assert body["title"] == "Daybreak: test"
    assert _bot("notify-test", "--config", str(cfg), env_extra={"DAYBREAK_NOTIFY_URLS": ""}).returncode == 2


def test_live_paper_run_alerts_fills_stops_outage_controls_and_summary(tmp_path, fake_binance, receiver):
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.05}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk={"stop_loss_ratio": 0.002},
        notify={"rate_limit_per_kind": 1000, "alert_exchange_down_seconds": 150},
    )
    first = int(sample_candles()["timestamp"].iat[0])
    fake_binance.set_clock(first + (1440 - 100) * MINUTE + 1_000)  # 100 minutes before midnight
    store = SQLiteStore(tmp_path / "daybreak.db")
    cycle = {"n": 0}

    def sleep(_seconds):
        cycle["n"] += 1
        n = cycle["n"]
        if n == 40:
            fake_binance.refuse_connections()
        if n == 46:
            fake_binance.accept_connections()
        if n == 60:
            store.put_control(new_control("pause", "dashboard:trader", int(time.time() * 1000)))
        if n == 62:
            store.put_control(new_control("resume", "cli", int(time.time() * 1000)))
        fake_binance.set_clock(fake_binance.now() + MINUTE)

    config = load_config(cfg)
    notifier = Notifier([receiver.url()], config.notify, **FAST)
    alerts = Alerts(notifier, wall_clock=lambda: fake_binance.now() / 1000)  # the outage's length in exchange time
    assert (
        run_live(
            cfg,
            config,
            lambda: False,
            exchange=exchange_for(fake_binance),
            clock=fake_binance.now,
            sleep=sleep,
            max_cycles=180,
            alerts=alerts,
        )
        == 0
    )
    bodies = receiver.delivered()
    trades = store.list_trades()
    assert trades and any(t.exit_reason == "stop_loss" for t in trades)
    assert len({(b["title"], b["message"]) for b in bodies}) == len(bodies), "no message twice"
    assert not any("Market time" in b["message"] for b in bodies), "live alerts are in real time"
    _check_fill_messages(bodies, trades)

    titles = [b["title"] for b in bodies]
    assert titles.count("Daybreak: exchange unreachable") == 1
    assert titles.count("Daybreak: exchange unreachable over") == 1
    assert titles.index("Daybreak: exchange unreachable") < titles.index("Daybreak: exchange unreachable over")
    assert "Daybreak: pause (all strategies) by dashboard:trader" in titles
    assert "Daybreak: resume (all strategies) by cli" in titles
    (summary,) = [b for b in bodies if "daily summary" in b["title"]]
    day_one = _day(first)
    assert summary["title"].endswith(day_one)
    day_pnl = sum(t.pnl for t in trades if t.action == "sell" and _day(t.timestamp) == day_one)
    assert f"PnL: {_money(day_pnl)}" in summary["message"]
    status = store.get_status().detail["notify"]
    assert status["sent"] == len(bodies) and status["failed"] == 0 and status["targets"] == 1
    store.close()
