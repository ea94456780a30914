"""Manual controls: pause, resume and flatten round trips through storage, acknowledged and
audit-logged; a flatten while the exchange is unreachable is retried until done."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from daybreak.core.domain import new_control
from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from storage.sqlite import SQLiteStore
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import SAMPLE, bot, trades_json, write_config

MINUTE = 60_000


def _btc_config(tmp_path, **kw):
    return write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        **kw,
    )


def test_pause_blocks_entries_and_resume_lifts_it(tmp_path):
    cfg = _btc_config(tmp_path)
    out = bot("control", "pause", "--config", str(cfg), check=True).stdout
    assert "pause requested" in out
    data = tmp_path / "first" / "BTC-USDT_1m.csv.gz"
    data.parent.mkdir()
    frame = pd.read_csv(SAMPLE[0])
    frame.iloc[:600].to_csv(data, index=False, compression="gzip")
    bot("run", "--replay", str(data), "--config", str(cfg), check=True)
    store = SQLiteStore(tmp_path / "daybreak.db")
    assert trades_json(cfg) == [], "a paused bot opens nothing"
    (ctl,) = store.list_controls()
    assert (ctl.action, ctl.status, ctl.source) == ("pause", "done", "cli") and ctl.acked_at
    assert {e.rule for e in store.list_events(kind="rejection")} == {"paused_manual"}
    assert store.get_status().detail["limits"]["manual_pause"] == "cli"
    assert "CONTROL pause from cli: done" in (tmp_path / "daybreak.log").read_text()

    bot("control", "resume", "--config", str(cfg), check=True)
    bot("run", "--replay", str(SAMPLE[0]), "--config", str(cfg), check=True)
    trades = trades_json(cfg)
    assert trades and trades[0]["timestamp"] > int(frame["timestamp"].iat[599]), "entries resumed after resume"
    assert [c.status for c in store.list_controls()] == ["done", "done"]
    store.close()


def test_flatten_closes_every_position_once(tmp_path):
    cfg = _btc_config(tmp_path, algos={"MA_Crossover": True, "RSI_Reversion": True})
    frame = pd.read_csv(SAMPLE[0])
    store = SQLiteStore(tmp_path / "daybreak.db")
    # run until a position is open
    for cut in range(300, len(frame), 100):
        part = tmp_path / f"p{cut}" / "BTC-USDT_1m.csv.gz"
        part.parent.mkdir()
        frame.iloc[:cut].to_csv(part, index=False, compression="gzip")
        bot("run", "--replay", str(part), "--config", str(cfg), check=True)
        if store.list_positions():
            break
    held = store.list_positions()
    assert held
    ctl = new_control("flatten", "test", int(time.time() * 1000))
    assert store.put_control(ctl) and not store.put_control(ctl), "the same control record is stored once"
    bot("run", "--replay", str(SAMPLE[0]), "--config", str(cfg), check=True)
    flat = [t for t in trades_json(cfg) if t["exit_reason"] == "flatten"]
    assert sorted((t["algo"], t["symbol"]) for t in flat) == sorted((p.algo, p.symbol) for p in held)
    (acked,) = [c for c in store.list_controls() if c.control_id == ctl.control_id]
    assert acked.status == "done" and f"closed {len(held)} position(s)" in acked.result
    store.close()


def test_live_flatten_while_exchange_unreachable_is_retried_until_done(tmp_path, fake_binance, monkeypatch):
    monkeypatch.setenv("DAYBREAK_LIVE_CONFIRM", "yes")
    monkeypatch.setenv("DAYBREAK_API_KEY", fake_binance.api_key)
    monkeypatch.setenv("DAYBREAK_API_SECRET", fake_binance.secret)
    cfg = _btc_config(tmp_path, mode="live")
    fake_binance.set_clock(int(sample_candles()["timestamp"].iat[0]) + 100 * MINUTE + 1000)
    store = SQLiteStore(tmp_path / "daybreak.db")
    state = {"phase": "wait", "ctl": None, "down_checks": []}

    def sleep(_seconds):
        if state["phase"] == "wait" and store.list_positions():
            state["ctl"] = new_control("flatten", "dashboard", int(time.time() * 1000))
            store.put_control(state["ctl"])
            fake_binance.refuse_connections()
            state["phase"], state["down"] = "down", 0
        elif state["phase"] == "down":
            state["down"] += 1
            state["down_checks"].append(store.list_controls(status="pending"))
            if state["down"] == 3:
                fake_binance.accept_connections()
                state["phase"] = "up"
        fake_binance.set_clock(fake_binance.now() + MINUTE)

    config = load_config(cfg)
    assert (
        run_live(
            cfg,
            config,
            lambda: state["phase"] == "up" and not store.list_positions(),
            exchange=exchange_for(fake_binance),
            clock=fake_binance.now,
            sleep=sleep,
            max_cycles=200,
        )
        == 0
    )
    assert state["ctl"] is not None, "a position was opened with a real (fake) order"
    assert all(pending for pending in state["down_checks"]), "the flatten waits while the exchange is down"
    (ctl,) = [c for c in store.list_controls() if c.control_id == state["ctl"].control_id]
    assert ctl.status == "done"
    sells = [t for t in store.list_trades() if t.exit_reason == "flatten"]
    assert len(sells) == 1 and sells[0].mode == "live"
    orders = [r for r in fake_binance.requests_to("/api/v3/order", "POST")]
    assert sum("SELL" in str(r) for r in orders) == 1, "the flatten order reached the exchange once"
    store.close()


@pytest.mark.parametrize("legacy", [False, True], ids=["order-record", "legacy-state"])
def test_live_restart_looks_up_an_order_that_was_sent_before_the_crash(tmp_path, fake_binance, monkeypatch, legacy):
    """A pending order restored from storage is looked up by its client id, not sent again."""
    from daybreak.core.domain import Action, Order, client_order_id
    from daybreak.core.order_record import OrderRecord

    monkeypatch.setenv("DAYBREAK_LIVE_CONFIRM", "yes")
    monkeypatch.setenv("DAYBREAK_API_KEY", fake_binance.api_key)
    monkeypatch.setenv("DAYBREAK_API_SECRET", fake_binance.secret)
    cfg = _btc_config(tmp_path, mode="live", algos={"MA_Crossover": False})
    fake_binance.set_clock(int(sample_candles()["timestamp"].iat[0]) + 100 * MINUTE + 1000)
    oid = client_order_id("MA_Crossover", "BTC/USDT", Action.BUY, fake_binance.now() - 1000)
    # the crashed process stored the order, sent it, and died before recording the fill
    exchange = exchange_for(fake_binance)
    exchange.load_markets()
    exchange.create_market_order("BTC/USDT", "buy", 0.001, oid)
    store = SQLiteStore(tmp_path / "daybreak.db")
    order = Order(oid, "MA_Crossover", "BTC/USDT", Action.BUY, 0.001, fake_binance.now() - 1000)
    if legacy:  # a bot of the previous version kept its pending orders as plain state
        store.set_state(
            "pending_orders",
            json.dumps(
                [
                    {
                        "client_order_id": oid,
                        "algo": "MA_Crossover",
                        "symbol": "BTC/USDT",
                        "action": "buy",
                        "amount": 0.001,
                        "decided_at": order.decided_at,
                        "reason": None,
                    }
                ]
            ),
        )
    else:
        store.put_order(OrderRecord.intent(order, order.decided_at))
    run_live(
        cfg,
        load_config(cfg),
        lambda: False,
        exchange=exchange_for(fake_binance),
        clock=fake_binance.now,
        sleep=lambda _s: fake_binance.set_clock(fake_binance.now() + MINUTE),
        max_cycles=2,
    )
    posts = [r for r in fake_binance.requests_to("/api/v3/order", "POST")]
    assert len(posts) == 1, "the order was not sent a second time"
    (trade,) = store.list_trades()
    assert trade.order_id == oid and trade.action == "buy" and trade.mode == "live"
    assert store.list_positions()[0].amount == pytest.approx(0.001 - trade_fee_base(fake_binance, oid))
    (rec,) = store.list_orders()
    assert (rec.client_order_id, rec.status, rec.filled, rec.done) == (oid, "filled", 0.001, True)
    store.close()


def trade_fee_base(fake, oid) -> float:
    """The base-currency fee the fake charged on order ``oid`` (Binance takes a buy's fee in base)."""
    fill = fake.orders[oid]["_fill"]
    return float(fill["commission"]) if fill["commissionAsset"] == "BTC" else 0.0


def _live_with_time_stop(tmp_path, fake, monkeypatch):
    """Live mode on the fake with its keys, MA 5/20 on BTC/USDT, every position closed by a
    60 s time stop; the clock 100 minutes into the sample. Returns (config path, store)."""
    monkeypatch.setenv("DAYBREAK_LIVE_CONFIRM", "yes")
    monkeypatch.setenv("DAYBREAK_API_KEY", fake.api_key)
    monkeypatch.setenv("DAYBREAK_API_SECRET", fake.secret)
    cfg = _btc_config(tmp_path, mode="live", risk={"time_stop_seconds": 60})
    fake.set_clock(int(sample_candles()["timestamp"].iat[0]) + 100 * MINUTE + 1000)
    return cfg, SQLiteStore(tmp_path / "daybreak.db")


def test_live_exit_rule_sell_whose_outcome_is_unknown_is_looked_up_not_sent_again(tmp_path, fake_binance, monkeypatch):
    """A time-stop sell reaches the exchange, but its reply and the look-ups that follow fail. The
    exit stays pending under its own client id (stored before it was sent), so the next poll looks
    it up and books it, rather than deciding the exit again and selling a second time (stop-loss,
    take-profit and trailing exits take the same path)."""
    cfg, store = _live_with_time_stop(tmp_path, fake_binance, monkeypatch)
    state = {"phase": "wait", "stored_exit": None}

    def sleep(_seconds):
        if state["phase"] == "wait" and store.list_positions():
            fake_binance.timeout_next_order(1.0)  # the sell executes, its reply is late
            fake_binance.go_down("503", after=1, path="/api/v3/order")  # and the look-ups fail
            state["phase"] = "armed"
        elif state["phase"] == "armed" and fake_binance.requests_to("/api/v3/order", "GET"):
            state["stored_exit"] = store.list_orders(open_only=True)
            fake_binance.come_back()
            state["phase"] = "back"
        fake_binance.set_clock(fake_binance.now() + MINUTE)

    run_live(
        cfg,
        load_config(cfg),
        lambda: state["phase"] == "back" and not store.list_positions(),
        exchange=exchange_for(fake_binance, timeout_ms=300),
        clock=fake_binance.now,
        sleep=sleep,
        max_cycles=120,
    )
    assert state["phase"] == "back", "a position was opened and its time-stop sell was sent"
    sells = [r for r in fake_binance.requests_to("/api/v3/order", "POST") if r.params.get("side") == "SELL"]
    assert len(sells) == 1, "the exit reached the exchange once"
    (pending,) = state["stored_exit"]
    assert (pending.side, pending.reason) == ("sell", "time_stop"), "the exit was stored before sending"
    closing = [t for t in store.list_trades() if t.action == "sell"]
    assert len(closing) == 1 and closing[0].exit_reason == "time_stop" and closing[0].mode == "live"
    assert closing[0].order_id == sells[0].params["newClientOrderId"] == pending.client_order_id
    assert not store.list_positions()
    store.close()


def test_live_exit_is_sent_while_storage_refuses_to_store_it_first(tmp_path, fake_binance, monkeypatch):
    """An exit does not wait for the database: when its client id cannot be stored, it is sent
    anyway (once), and the trade is recorded when storage takes writes again."""
    from storage.base import StorageError

    cfg, store = _live_with_time_stop(tmp_path, fake_binance, monkeypatch)
    state = {"down": False, "refused": 0}
    put_order = SQLiteStore.put_order

    def refusing_put_order(self, order):
        if state["down"] and order.side == "sell":
            state["refused"] += 1
            raise StorageError("database is locked")
        return put_order(self, order)

    monkeypatch.setattr(SQLiteStore, "put_order", refusing_put_order)

    def sleep(_seconds):
        state["down"] = bool(store.list_positions())  # storage refuses while a position is open
        fake_binance.set_clock(fake_binance.now() + MINUTE)

    run_live(
        cfg,
        load_config(cfg),
        lambda: state["refused"] > 0 and not store.list_positions(),
        exchange=exchange_for(fake_binance),
        clock=fake_binance.now,
        sleep=sleep,
        max_cycles=120,
    )
    assert state["refused"] > 0, "storing the exit's id was refused"
    sells = [r for r in fake_binance.requests_to("/api/v3/order", "POST") if r.params.get("side") == "SELL"]
    assert len(sells) == 1, "the exit was sent anyway, once"
    closing = [t for t in store.list_trades() if t.action == "sell"]
    assert len(closing) == 1 and closing[0].exit_reason == "time_stop"
    assert closing[0].order_id == sells[0].params["newClientOrderId"]
    (rec,) = [r for r in store.list_orders() if r.side == "sell"]
    assert rec.done and rec.client_order_id == closing[0].order_id, (
        "the order record was stored once storage took writes"
    )
    store.close()


def test_a_control_for_a_store_no_bot_runs_on_says_so(tmp_path):
    cfg = _btc_config(tmp_path)
    out = bot("control", "flatten", "--config", str(cfg), check=True).stdout
    assert "no bot is running on this store" in out and "expires after control_max_age_seconds (300 s)" in out
