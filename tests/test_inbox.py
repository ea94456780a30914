"""The Signals inbox contract, driven through the real bot services on SQLite: every row reaches a
final, visible state (executed only after the fill, failed when the fill is refused, rejected
naming the field and value, expired), a signal_id runs once whatever its timestamp, and no row
can stop the bot. Rows are inserted with plain SQL, as another system would."""

from __future__ import annotations

import math
import sqlite3

import pytest

from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from storage.records import SignalRecord
from storage.sqlite import SQLiteStore
from tests.helpers import write_config

NOW = 1_783_684_800_000
PRICES = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0}


@pytest.fixture
def bot(tmp_path):
    """A bot context on a fresh SQLite store (external signals on, no strategy) and a raw inserter."""
    cfg = write_config(tmp_path, algos={"MA_Crossover": False})
    contexts = []

    def start():
        ctx = build_context(cfg, load_config(cfg))
        contexts.append(ctx)
        return ctx

    def insert(**row):
        with sqlite3.connect(tmp_path / "daybreak.db") as db:
            db.execute(
                f"INSERT INTO signals ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
            )

    start.insert, start.path = insert, tmp_path / "daybreak.db"
    yield start
    for ctx in contexts:
        try:
            ctx.shutdown()
        except Exception:
            pass


def rows(path) -> dict:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return {(r["signal_id"], r["timestamp"]): dict(r) for r in db.execute("SELECT * FROM signals")}


def row(path, signal_id, timestamp=NOW) -> dict:
    return rows(path)[(signal_id, timestamp)]


def cycle(ctx, now=NOW, prices=PRICES):
    """One bot cycle as live runs it: inbox, then fills at the price."""
    ctx.process_external(now, prices)
    for symbol, price in prices.items():
        ctx.engine.fill_pending(symbol, price, now)


def required(signal_id="s-1", timestamp=NOW, **kw) -> dict:
    return {
        "signal_id": signal_id,
        "timestamp": timestamp,
        "symbol": "BTC/USDT",
        "action": "buy",
        "source": "screener",
        **kw,
    }


def test_executed_only_after_the_fill_with_the_trade_id(bot):
    ctx = bot()
    bot.insert(**required(amount=0.01))
    ctx.process_external(NOW, PRICES)
    queued = row(bot.path, "s-1")
    assert queued["status"] == "accepted" and queued["outcome"].startswith("db-")
    assert ctx.store.list_trades() == []
    ctx.engine.fill_pending("BTC/USDT", 60_100.0, NOW + 1000)
    ctx.process_external(NOW + 2000, PRICES)
    (trade,) = ctx.store.list_trades()
    done = row(bot.path, "s-1")
    assert (done["status"], done["outcome"]) == ("executed", trade.trade_id)
    assert trade.algo == "External" and trade.amount == 0.01
    assert done["reason"] == f"buy 0.01 BTC/USDT @ {trade.price:.8g}"


def test_a_refused_fill_makes_the_row_failed_with_the_reason(bot):
    ctx = bot()
    bot.insert(**required(amount=100.0))  # 6 M USDT against a 10,000 USDT paper account
    cycle(ctx)
    ctx.process_external(NOW + 1000, PRICES)
    failed = row(bot.path, "s-1")
    assert failed["status"] == "failed" and failed["outcome"] == "insufficient_balance"
    assert failed["reason"].startswith("insufficient_balance: needs ")
    assert ctx.store.list_trades() == []


@pytest.mark.parametrize("status", ["NEW", "New", "", "new", " new "])
def test_new_in_any_case_or_empty_is_taken_up(bot, status):
    ctx = bot()
    bot.insert(**required(status=status, amount=0.01))
    cycle(ctx)
    ctx.process_external(NOW + 1000, PRICES)
    assert row(bot.path, "s-1")["status"] == "executed"


@pytest.mark.parametrize("status", ["pending", "Accepted", "done"])
def test_a_status_the_bot_does_not_know_is_rejected_naming_it(bot, status):
    ctx = bot()
    bot.insert(**required(status=status))
    cycle(ctx)
    r = row(bot.path, "s-1")
    assert (r["status"], r["reason"]) == (
        "rejected",
        f"status = {status!r}: not one the bot reads; leave it out or write 'new'",
    )


@pytest.mark.parametrize(
    "bad, field, reason",
    [
        (
            {"timestamp": NOW + 0.5},
            "timestamp",
            f"timestamp = {NOW + 0.5!r}: must be a whole number of UTC epoch milliseconds",
        ),
        ({"timestamp": "soon"}, "timestamp", "timestamp = 'soon': must be a number of UTC epoch milliseconds"),
        (
            {"timestamp": NOW // 1000},
            "timestamp",
            f"timestamp = {NOW // 1000}: looks like epoch seconds; give UTC epoch milliseconds",
        ),
        (
            {"timestamp": NOW * 1000},
            "timestamp",
            f"timestamp = {NOW * 1000}: looks like epoch microseconds; give UTC epoch milliseconds",
        ),
        ({"symbol": "btcusdt"}, "symbol", "symbol = 'btcusdt': not in ccxt form BASE/QUOTE"),
        ({"symbol": "X" * 300_000}, "symbol", "symbol = '" + "X" * 56 + "...: not in ccxt form"),
        ({"action": "hold"}, "action", "action = 'hold': is not 'buy' or 'sell'"),
        ({"amount": 0}, "amount", "amount = 0.0: must be a positive number"),
        ({"amount": "lots"}, "amount", "amount = 'lots': is not a number"),
        ({"source": "two\nlines"}, "source", "source = 'two\\nlines': contains control characters"),
    ],
)
def test_a_bad_row_is_rejected_naming_the_field_and_the_value_and_the_rest_still_runs(bot, bad, field, reason):
    ctx = bot()
    bot.insert(**required("bad", **bad))
    bot.insert(**required("good", timestamp=NOW - 1000, amount=0.01))
    cycle(ctx)
    ctx.process_external(NOW + 1000, PRICES)
    states = {k[0]: v for k, v in rows(bot.path).items()}
    assert states["bad"]["status"] == "rejected" and states["bad"]["outcome"] == field
    assert states["bad"]["reason"].startswith(reason), states["bad"]["reason"]
    assert len(states["bad"]["reason"]) < 300
    assert states["good"]["status"] == "executed", "one bad row never stops the others"


def test_stale_rows_expire_and_far_future_rows_are_refused_in_live(bot):
    ctx = bot()
    bot.insert(**required("old", timestamp=NOW - 301_000))
    bot.insert(**required("ahead", timestamp=NOW + 120_000))
    bot.insert(**required("soon", timestamp=NOW + 30_000, amount=0.01))
    cycle(ctx)
    states = {k[0]: v for k, v in rows(bot.path).items()}
    assert states["old"]["status"] == "expired" and "stale, 301 s old, limit 300 s" in states["old"]["reason"]
    assert states["ahead"]["status"] == "rejected" and "120 s in the future" in states["ahead"]["reason"]
    assert states["soon"]["status"] == "new", "within the clock tolerance: waits for its time"
    cycle(ctx, NOW + 30_000)
    assert row(bot.path, "soon", NOW + 30_000)["status"] == "accepted"


def test_a_reused_signal_id_runs_once_whatever_its_timestamp(bot):
    ctx = bot()
    bot.insert(**required(amount=0.01))
    cycle(ctx)
    ctx.process_external(NOW + 1000, PRICES)
    bot.insert(**required(timestamp=NOW + 60_000, action="sell"))  # would close the position if it ran
    cycle(ctx, NOW + 61_000)
    again = row(bot.path, "s-1", NOW + 60_000)
    assert again["status"] == "rejected"
    assert again["reason"] == f"signal_id = 's-1': already used by the row with timestamp {NOW}; a signal_id runs once"
    assert len(ctx.store.list_trades()) == 1


def test_an_order_queued_before_a_restart_settles_after_it(bot):
    ctx = bot()
    bot.insert(**required(amount=0.01))
    ctx.process_external(NOW, PRICES)
    ctx.save_pending()
    ctx.shutdown()
    again = bot()  # a new process: the pending order and the accepted row come back from storage
    assert row(bot.path, "s-1")["status"] == "accepted"
    cycle(again, NOW + 1000)
    again.process_external(NOW + 2000, PRICES)
    assert row(bot.path, "s-1")["status"] == "executed"
    assert len(again.store.list_trades()) == 1


def test_an_accepted_row_whose_order_was_lost_fails_visibly(bot):
    ctx = bot()
    bot.insert(**required(amount=0.01))
    ctx.process_external(NOW, PRICES)
    ctx.engine.pending.clear()  # the bot died before it stored its pending order
    ctx.shutdown()
    again = bot()
    again.process_external(NOW + 1000, PRICES)
    r = row(bot.path, "s-1")
    assert r["status"] == "failed" and r["outcome"] == "not_filled"


def test_sqlite_refuses_a_nan_amount_rather_than_storing_null(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    with pytest.raises(ValueError, match="amount=nan cannot be stored"):
        store.put_signal(SignalRecord("x", NOW, "BTC/USDT", "buy", amount=math.nan))
    assert store.list_signals() == []
    store.close()
