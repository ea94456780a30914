"""Live execution on the fake Binance (real ccxt): limit entries timed out to market, maker exits
chased with cancel-replace until they fill, the spread check; every exchange fill reconciled with
the store (one trade per decision, its further orders booked under it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daybreak.core.domain import new_control
from tests.live_helpers import LiveBot, assert_reconciled

SYM, PRICE = "BTC/USDT", Decimal("50000.00")


def _pinned(fake, price=PRICE, spread=None):
    fake.set_price(SYM, str(price))  # the price stays put unless the test moves it
    if spread is not None:
        fake.set_spread(SYM, spread)


def _orders(fake, kind):
    return [o for o in fake.orders.values() if o["type"] == kind]


def test_a_limit_entry_that_times_out_is_bought_at_market(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance)
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        execution={"entry_order": "limit", "entry_offset_bps": 20, "entry_timeout_seconds": 30},
    )
    seen = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 2:
            seen["open"] = [o["price"] for o in fake_binance.orders.values() if o["status"] == "NEW"]

    assert bot.run(7, on_cycle) == 0
    assert seen["open"] == ["49900.00000000"], "the limit rests 20 bps below the bid"
    (limit,) = _orders(fake_binance, "LIMIT")
    (market,) = _orders(fake_binance, "MARKET")
    assert limit["status"] == "CANCELED" and market["status"] == "FILLED"
    (trade,) = bot.store.list_trades()
    (fill,) = fake_binance.ledger()
    assert (trade.order_id, trade.order_type, trade.price) == (limit["clientOrderId"], "market", float(fill.price))
    parts = {r.client_order_id: r for r in bot.store.list_orders()}
    assert parts[market["clientOrderId"]].parent == limit["clientOrderId"]
    assert all(r.done for r in parts.values())
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_partly_filled_limit_entry_buys_only_the_rest_at_market_and_books_one_trade(
    tmp_path, fake_binance, monkeypatch
):
    _pinned(fake_binance)
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        order_size={SYM: {"amount": 0.002}},
        execution={"entry_order": "limit", "entry_offset_bps": 20, "entry_timeout_seconds": 50},
    )

    def on_cycle(n):
        if n == 1:
            fake_binance.partial_fill_next("0.5")
            bot.signal("buy")
        if n == 2:
            fake_binance.set_price(SYM, "49850.00")  # trades through the limit: half fills at 49900, then no move

    assert bot.run(8, on_cycle) == 0
    limit_fill, market_fill = fake_binance.ledger()
    assert (limit_fill.type, limit_fill.amount, limit_fill.price, limit_fill.maker) == (
        "LIMIT",
        Decimal("0.001"),
        Decimal("49900"),
        True,
    )
    assert (market_fill.type, market_fill.amount) == ("MARKET", Decimal("0.001"))
    (trade,) = bot.store.list_trades()
    gross = float(limit_fill.amount + market_fill.amount)
    vwap = float(limit_fill.amount * limit_fill.price + market_fill.amount * market_fill.price) / gross
    assert trade.order_type == "limit+market" and trade.price == pytest.approx(vwap)
    assert trade.amount == pytest.approx(gross - float(limit_fill.fee + market_fill.fee))  # fees in BTC
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def _hold(bot, fake, cycles=3):
    """Buy at market through the bot; return once held."""
    assert bot.run(cycles, lambda n: bot.signal("buy") if n == 1 else None) == 0
    assert bot.store.list_positions(), "bought"
    bot.cycles = 0  # the next run counts its cycles from 1


def test_a_maker_exit_is_chased_with_cancel_replace_and_fills_as_maker(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance, spread="0.0004")  # bid and ask 10 USDT either side of 50,000
    fake_binance.set_fees(maker="0.0002", taker="0.001")
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, execution={"exit_order": "maker", "exit_chase_seconds": 600})
    _hold(bot, fake_binance)
    prices = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("sell")
        if n == 2:
            prices["first"] = [o["price"] for o in _orders(fake_binance, "LIMIT_MAKER")]
            prices["ask0"] = fake_binance.book("BTCUSDT")[1]
            fake_binance.set_price(SYM, "49900.00")  # the book moves down: a lower ask
            prices["ask1"] = fake_binance.book("BTCUSDT")[1]
        if n == 4:
            fake_binance.set_price(SYM, "49930.00")  # trades above the re-priced order

    assert bot.run(7, on_cycle) == 0
    assert [Decimal(p) for p in prices["first"]] == [prices["ask0"]], "post-only at the best ask"
    assert len(fake_binance.requests_to("/api/v3/order/cancelReplace", "POST")) >= 1
    makers = _orders(fake_binance, "LIMIT_MAKER")
    assert sorted(o["status"] for o in makers)[-1] == "FILLED" and {o["status"] for o in makers} <= {
        "CANCELED",
        "FILLED",
    }
    (sell_fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert sell_fill.maker and sell_fill.price == prices["ask1"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert (sell.order_type, sell.exit_reason, sell.price) == ("maker", "external", float(prices["ask1"]))
    assert sell.fee == pytest.approx(float(sell_fill.fee))  # 0.02 % maker fee, in USDT
    assert not bot.store.list_positions()
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_maker_exit_not_filled_in_time_crosses_at_market(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance, spread="0.0004")
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, execution={"exit_order": "maker", "exit_chase_seconds": 30})
    _hold(bot, fake_binance)
    assert bot.run(6, lambda n: bot.signal("sell") if n == 1 else None) == 0
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    (market,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert (market.type, sell.order_type, sell.price) == ("MARKET", "market", float(market.price))
    assert [o["status"] for o in _orders(fake_binance, "LIMIT_MAKER")] == ["CANCELED"]
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_spread_wider_than_max_spread_bps_refuses_the_entry_with_its_numbers(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance, spread="0.004")  # 40 bps
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, execution={"max_spread_bps": 25})
    sid = {}
    assert bot.run(3, lambda n: sid.setdefault("id", bot.signal("buy")) if n == 1 else None) == 0
    assert fake_binance.requests_to("/api/v3/order", "POST") == [] and bot.store.list_trades() == []
    (event,) = bot.store.list_events(rule="max_spread")
    assert event.data["spread_bps"] == pytest.approx(40.0, abs=0.05) and event.data["max_spread_bps"] == 25
    assert event.data["bid"] < event.data["ask"]
    (row,) = [s for s in bot.store.list_signals() if s.signal_id == sid["id"]]
    assert row.status == "rejected" and "max_spread" in row.reason
    bot.close()


def test_a_stop_reached_during_a_maker_chase_cancels_it_and_sells_at_market(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance, spread="0.0004")
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        risk={"stop_loss_ratio": 0.01},
        execution={"exit_order": "maker", "exit_chase_seconds": 600},
    )
    _hold(bot, fake_binance)

    def on_cycle(n):
        if n == 1:
            bot.signal("sell")
        if n == 2:
            fake_binance.set_price(SYM, "49000.00")  # below the 1 % stop: no more chasing

    assert bot.run(5, on_cycle) == 0
    (maker,) = _orders(fake_binance, "LIMIT_MAKER")
    (market,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert maker["status"] == "CANCELED" and market.type == "MARKET"
    assert (sell.exit_reason, sell.order_type, sell.price) == ("stop_loss", "market", float(market.price))
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_restarted_bot_resumes_a_resting_limit_entry_and_times_it_out_once(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance)
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        execution={"entry_order": "limit", "entry_offset_bps": 20, "entry_timeout_seconds": 60},
    )
    assert bot.run(2, lambda n: bot.signal("buy") if n == 1 else None) == 0
    (rec,) = bot.store.list_orders(open_only=True)
    assert (rec.type, rec.status) == ("limit", "open"), "resting when the bot stopped"
    assert bot.run(6) == 0  # the restarted bot looks it up, cancels it at 60 s, buys the rest at market
    assert [o["type"] for o in fake_binance.orders.values()] == ["LIMIT", "MARKET"]
    assert len(bot.store.list_trades()) == 1 and bot.store.list_orders(open_only=True) == []
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_paper_mode_simulates_a_limit_entry_on_the_polled_prices(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance)
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        mode="paper",
        execution={"entry_order": "limit", "entry_offset_bps": 20, "entry_timeout_seconds": 600},
    )

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:
            fake_binance.set_price(SYM, "49890.00")  # polled below the 49900 limit

    assert bot.run(5, on_cycle) == 0
    (trade,) = bot.store.list_trades()
    assert (trade.mode, trade.order_type, trade.price) == ("paper", "limit", 49_900.0)
    assert fake_binance.requests_to("/api/v3/order", "POST") == [], "paper: nothing sent"
    bot.close()


def test_a_market_remainder_whose_reply_was_lost_is_resumed_after_a_restart(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance)
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        execution={"entry_order": "limit", "entry_offset_bps": 20, "entry_timeout_seconds": 30},
    )

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:  # the next cycle times the limit out (look-up, cancel and its read-back, look-up);
            fake_binance.lose_next_reply()  # the market remainder executes, its reply is lost, look-ups fail
            fake_binance.go_down("503", after=5, count=4, path="/api/v3/order")

    assert bot.run(4, on_cycle) == 0
    limit = next(o for o in fake_binance.orders.values() if o["type"] == "LIMIT")
    assert limit["status"] == "CANCELED" and bot.store.list_trades() == []
    (part,) = [r for r in bot.store.list_orders(open_only=True) if r.role == "part"]
    assert part.status in ("intent", "sent") and part.parent == limit["clientOrderId"]
    assert [f.client_order_id for f in fake_binance.ledger()] == [part.client_order_id], "it executed"
    fake_binance.come_back()
    assert bot.run(4) == 0  # restarted: the decision resumes from its part, booked once
    (trade,) = bot.store.list_trades()
    assert trade.order_id == limit["clientOrderId"] and bot.store.list_orders(open_only=True) == []
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 2, "limit and remainder: nothing sent again"
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_flatten_cancels_a_resting_limit_entry_and_buys_nothing_more(tmp_path, fake_binance, monkeypatch):
    _pinned(fake_binance)
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        execution={"entry_order": "limit", "entry_offset_bps": 20, "entry_timeout_seconds": 600},
    )

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 2:
            bot.store.put_control(new_control("flatten", "test", fake_binance.now()))

    assert bot.run(5, on_cycle) == 0
    assert [(o["type"], o["status"]) for o in fake_binance.orders.values()] == [("LIMIT", "CANCELED")]
    assert bot.store.list_trades() == [] and bot.store.list_orders(open_only=True) == []
    (ctl,) = bot.store.list_controls()
    assert ctl.status == "done"
    bot.close()
