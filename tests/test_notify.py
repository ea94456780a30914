"""daybreak.ops.notify: alerts through apprise to a local HTTP receiver (json:// and form://)."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import parse_qs

import pytest
from pydantic import ValidationError

from daybreak.ops.notify import (
    EventKind,
    Notifier,
    NotifySettings,
    control_message,
    daily_summary_message,
    fill_message,
    ping_message,
    problem_message,
    reconciliation_message,
    redact_url,
    risk_limit_message,
    send_test,
    stop_message,
    urls_from_env,
)
from tests.fakes.alert_receiver import Receiver

FAST = {"retries": 2, "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "poll_seconds": 0.02}


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def dead_url() -> str:
    """A json:// URL whose port refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"json://127.0.0.1:{port}/dead"


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_for(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def settings(**kw) -> NotifySettings:
    return NotifySettings(**{"rate_limit_per_kind": 100, "dedupe_seconds": 0, **kw})


# -- urls --------------------------------------------------------------------------------------------------
def test_urls_from_env_splits_on_spaces_and_commas():
    env = {
        "DAYBREAK_NOTIFY_URLS": " json://h/a, form://h2\n tgram://1:2/3,slack://T/B/C,,  "
        "mailto://u:p@example.com?to=a@x.com,b@y.com"
    }
    assert urls_from_env(env) == [
        "json://h/a",
        "form://h2",
        "tgram://1:2/3",
        "slack://T/B/C",
        "mailto://u:p@example.com?to=a@x.com,b@y.com",
    ]
    assert urls_from_env({}) == [] and urls_from_env({"DAYBREAK_NOTIFY_URLS": " , "}) == []


def test_redact_url_masks_passwords_and_tokens():
    assert "s3cretpw" not in redact_url("json://bob:s3cretpw@127.0.0.1:9/x")
    assert redact_url("json://bob:s3cretpw@127.0.0.1:9/x").startswith("json://bob:")
    assert "ABCDEFGHSECRET" not in redact_url("tgram://123456789:ABCDEFGHSECRET/42")
    assert redact_url("nosuchscheme://token@x") == "nosuchscheme://…"
    assert redact_url("plain words") == "<not a URL>"


def test_invalid_url_is_refused_without_showing_it():
    with pytest.raises(ValueError) as err:
        Notifier(["nosuchscheme://SECRET@host"])
    assert "SECRET" not in str(err.value) and "nosuchscheme://" in str(err.value)


# -- settings ----------------------------------------------------------------------------------------------
def test_settings_defaults_and_strict_types():
    cfg = NotifySettings()
    assert cfg.enabled is True and cfg.events == list(EventKind)
    assert (cfg.rate_limit_per_kind, cfg.rate_window_seconds, cfg.dedupe_seconds) == (5, 60.0, 300.0)
    assert NotifySettings.model_validate({"events": ["fill_exit", "stop_hit"], "rate_window_seconds": 30}).events == [
        EventKind.FILL_EXIT,
        EventKind.STOP_HIT,
    ]
    for bad in (
        {"enabled": "true"},
        {"enabled": 1},
        {"rate_limit_per_kind": True},
        {"rate_limit_per_kind": 2.0},
        {"rate_limit_per_kind": "3"},
        {"rate_window_seconds": "60"},
        {"dedupe_seconds": False},
        {"rate_limit_per_kind": 0},
        {"rate_window_seconds": 0},
        {"dedupe_seconds": -1},
        {"events": ["fill", "stop_hit"]},
        {"events": ["test", "test"]},
        {"urls": ["json://x"]},
    ):
        with pytest.raises(ValidationError):
            NotifySettings.model_validate(bad)


# -- delivery ----------------------------------------------------------------------------------------------
def test_json_body_fields_and_market_time(receiver):
    notifier = Notifier([receiver.url("/alerts")], settings(), **FAST)
    assert notifier.notify(
        *fill_message("MA_Crossover", "BTC/USDT", "buy", 0.0015, 64123.456789), market_time_ms=1_709_294_400_000
    )
    assert notifier.notify(EventKind.EXCHANGE_DOWN, "Daybreak: exchange unreachable", "binanceus: timeout")
    assert notifier.close(5)
    first, second = receiver.delivered()
    assert receiver.requests[0]["path"] == "/alerts"
    assert first["title"] == "Daybreak: BUY 0.0015 BTC/USDT @ 64123.457"
    assert first["message"] == (
        "Strategy: MA_Crossover\nEntry: buy 0.0015 BTC/USDT at 64123.457 USDT "
        "(notional 96.19 USDT)\nMarket time: 2024-03-01T12:00:00Z"
    )
    assert first["type"] == "info" and second["type"] == "failure" and first["version"] == "1.0"
    assert notifier.status().sent == 2 and notifier.status().failed == 0


def test_form_url_is_delivered(receiver):
    notifier = Notifier([receiver.url("/form", scheme="form")], settings(), **FAST)
    notifier.notify(*stop_message("RSI", "ETH/USDT", 0.5, 3000.1, -12.345))
    assert notifier.close(5)
    (req,) = receiver.requests
    fields = {k: v[0] for k, v in parse_qs(req["raw"].decode()).items()}
    assert req["type"].startswith("application/x-www-form-urlencoded")
    assert fields["title"] == "Daybreak: stop_loss hit on ETH/USDT (RSI)" and fields["type"] == "warning"
    assert "PnL: -12.35 USDT" in fields["message"]


def test_identical_events_are_sent_once_within_dedupe(receiver):
    clock = Clock()
    notifier = Notifier([receiver.url()], settings(dedupe_seconds=60), clock, **FAST)
    notifier.notify("state_error", "Daybreak: state error", "state file unreadable")
    notifier.notify("state_error", "Daybreak: state error", "state file unreadable")
    notifier.notify("state_error", "Daybreak: state error", "other text, same key", key="state")
    notifier.notify("state_error", "Daybreak: state error", "same key again", key="state")
    wait_for(lambda: notifier.status().suppressed == 2)
    clock.now += 61
    notifier.notify("state_error", "Daybreak: state error", "state file unreadable")
    assert notifier.close(5)
    assert [b["message"] for b in receiver.delivered()] == [
        "state file unreadable",
        "other text, same key",
        "state file unreadable",
    ]
    assert notifier.status().sent == 3 and notifier.status().suppressed == 2


def test_flapping_kind_sends_one_message_then_a_summary(receiver):
    clock = Clock()
    notifier = Notifier([receiver.url()], settings(rate_limit_per_kind=1, rate_window_seconds=30), clock, **FAST)
    for n in range(10):
        notifier.notify(EventKind.EXCHANGE_DOWN, "Daybreak: exchange unreachable", f"attempt {n}")
    notifier.notify(EventKind.FILL_ENTRY, "fill", "other kinds have their own budget")
    wait_for(lambda: notifier.status().sent == 2 and notifier.status().suppressed == 9)
    time.sleep(0.1)
    assert len(receiver.delivered()) == 2  # the summary waits for the window's end
    clock.now += 30
    wait_for(lambda: len(receiver.delivered()) == 3)
    summary = receiver.delivered()[2]
    assert summary["title"] == "Daybreak: 9 more exchange_down events suppressed"
    assert "9 more exchange_down events suppressed" in summary["message"] and summary["type"] == "failure"
    assert notifier.close(5) and len(receiver.delivered()) == 3
    assert [b["message"] for b in receiver.delivered()[:2]] == ["attempt 0", "other kinds have their own budget"]


def test_close_sends_pending_summary(receiver):
    notifier = Notifier([receiver.url()], settings(rate_limit_per_kind=1, rate_window_seconds=3600), **FAST)
    for _ in range(3):
        notifier.notify("storage_trouble", "t", "b", key=str(time.monotonic_ns()))
    assert notifier.close(5)
    assert [b["title"] for b in receiver.delivered()] == ["t", "Daybreak: 2 more storage_trouble events suppressed"]


def test_server_errors_are_retried_then_delivered_once(receiver):
    receiver.codes = [500, 500]
    notifier = Notifier([receiver.url()], settings(), **FAST)
    notifier.notify(*risk_limit_message("daily_max_loss_ratio", "lost 3.1 % of the day's equity"))
    assert notifier.close(5)
    assert [r["code"] for r in receiver.requests] == [500, 500, 200]
    (body,) = receiver.delivered()
    assert body["title"] == "Daybreak: risk limit daily_max_loss_ratio tripped"
    status = notifier.status()
    assert (status.sent, status.failed, status.retried, status.last_error) == (1, 0, 2, None)


def test_dead_url_never_blocks_and_shows_as_failed(receiver, dead_url):
    clock = Clock()
    notifier = Notifier([dead_url, receiver.url()], settings(), clock, **FAST)
    started = time.monotonic()
    for n in range(20):
        notifier.notify(*control_message("pause", "dashboard", detail=str(n)))
    assert time.monotonic() - started < 0.5
    assert notifier.close(10)
    status = notifier.status()
    assert status.failed == 20 and status.sent == 20 and status.retried == 40
    assert status.last_error.startswith("json://127.0.0.1:") and "Connection error" in status.last_error
    assert status.last_error_at == clock.now
    assert len(receiver.delivered()) == 20  # the good URL is not held back by the dead one


def test_full_queue_drops_instead_of_blocking(receiver):
    receiver.hold = threading.Event()
    notifier = Notifier([receiver.url()], settings(), queue_size=1, **FAST)
    started = time.monotonic()
    results = [notifier.notify("fill_entry", "t", f"b{n}") for n in range(5)]
    assert time.monotonic() - started < 0.5
    assert results[0] and results.count(False) >= 3 and notifier.status().dropped >= 3
    receiver.hold.set()
    assert notifier.close(5)
    assert notifier.status().sent + notifier.status().dropped == 5


def test_close_gives_up_after_its_timeout(receiver):
    receiver.codes = [500] * 50
    notifier = Notifier([receiver.url()], settings(), retries=5, backoff_seconds=1.0, poll_seconds=0.02)
    notifier.notify("fill_entry", "t", "first")
    notifier.notify("fill_entry", "t", "second")
    started = time.monotonic()
    assert notifier.close(0.3) is False
    assert time.monotonic() - started < 2
    status = notifier.status()
    assert status.failed == 1 and status.dropped == 1 and status.sent == 0
    assert notifier.notify("fill_entry", "t", "after close") is False


def test_disabled_unlisted_or_no_urls_send_nothing(receiver):
    off = Notifier([receiver.url()], settings(enabled=False))
    only_fills = Notifier([receiver.url()], settings(events=["fill_exit"]), **FAST)
    nobody = Notifier([], settings())
    assert off.notify("fill_exit", "t", "b") is False and nobody.notify("fill_exit", "t", "b") is False
    assert only_fills.notify("stop_hit", "t", "b") is False and only_fills.notify("bogus", "t", "b") is False
    assert only_fills.notify("fill_exit", "t", "b") is True
    assert off.close(1) and nobody.close(1) and only_fills.close(5)
    assert len(receiver.requests) == 1


# -- send_test ---------------------------------------------------------------------------------------------
def test_send_test_reports_each_url(receiver, dead_url):
    good = f"json://alice:hunter2@127.0.0.1:{receiver.port}/t"
    report = send_test([good, dead_url, "nosuchscheme://tok"])
    assert [ok for _, ok, _ in report] == [True, False, False]
    (shown_good, _, err_good), (shown_dead, _, err_dead), (shown_bad, _, err_bad) = report
    assert "hunter2" not in shown_good and shown_good.startswith("json://alice:")
    assert err_good is None and "Connection error" in err_dead and shown_dead.startswith("json://127.0.0.1:")
    assert (shown_bad, err_bad) == ("nosuchscheme://…", "not a valid apprise URL")
    (body,) = receiver.delivered()
    assert body["type"] == "info" and body["title"] == "Daybreak: test"


# -- messages ----------------------------------------------------------------------------------------------
def test_fill_exit_message_formats_money_and_amounts():
    msg = fill_message("MA_Crossover", "SHIB/USDT", "sell", 12_345_678.9, 0.0000123456789, pnl=1234.5, reason="signal")
    assert msg.kind == EventKind.FILL_EXIT
    assert msg.title == "Daybreak: SELL 12345679 SHIB/USDT @ 0.000012345679"
    assert msg.body == (
        "Strategy: MA_Crossover\nExit: sell 12345679 SHIB/USDT at 0.000012345679 USDT "
        "(notional 152.42 USDT)\nPnL: +1,234.50 USDT\nReason: signal"
    )


def test_daily_summary_message():
    msg = daily_summary_message(
        "2024-03-01", -12.3456, 7, 4 / 7, 2, {"daily_max_loss_ratio": 0.4, "max_trades_per_day": 0.7}
    )
    assert msg.kind == EventKind.DAILY_SUMMARY and msg.title == "Daybreak: daily summary 2024-03-01"
    assert msg.body == (
        "PnL: -12.35 USDT\nTrades: 7 (win rate 57.1 %)\nOpen positions: 2\n"
        "Limits used: daily_max_loss_ratio 40 %, max_trades_per_day 70 %"
    )
    assert "win rate n/a" in daily_summary_message("2024-03-02", 0, 0, None, 0).body


def test_other_messages():
    assert (
        risk_limit_message("max_consecutive_losses", "pause ended", tripped=False, strategy="RSI").title
        == "Daybreak: risk limit max_consecutive_losses lifted (RSI)"
    )
    ctl = control_message("flatten", "alice", scope="BTC/USDT")
    assert (ctl.kind, ctl.title) == (EventKind.CONTROL, "Daybreak: flatten (BTC/USDT) by alice")
    with pytest.raises(ValueError):
        control_message("explode", "alice")
    assert (
        problem_message("storage_trouble", "DynamoDB throttled", "ProvisionedThroughputExceeded").body
        == "DynamoDB throttled\nProvisionedThroughputExceeded"
    )
    with pytest.raises(ValueError):
        problem_message(EventKind.FILL_ENTRY, "no")
    rec = reconciliation_message("BTC/USDT", 0.5, 0.4999)
    assert rec.kind == EventKind.RECONCILIATION_MISMATCH and "difference -0.0001" in rec.body
    assert ping_message().kind == EventKind.TEST
