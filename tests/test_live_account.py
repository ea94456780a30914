"""The live account is the exchange's: sizing, caps and the daily loss limit follow its balance;
reconciliation closes what the exchange no longer holds, leaves alone what the bot did not buy,
and cancels open orders of the bot's prefix the store does not know."""

from __future__ import annotations

import json
import time

import pytest

from daybreak.core.domain import new_control
from tests.live_helpers import LiveBot, assert_reconciled


def test_live_sizing_follows_the_exchange_balance_not_the_paper_balance(tmp_path, fake_binance, monkeypatch):
    fake_binance.set_balance("USDT", "2000")
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        paper={"starting_balance": 1_000_000},
        risk={"sizing": "equity_fraction", "equity_fraction": 0.1, "max_trade_equity_ratio": 0.05},
    )
    assert bot.run(3, lambda n: n == 1 and bot.signal("buy") and None) == 0
    (rec,) = bot.store.list_orders()
    price = rec.ref_price
    cap = 0.05 * 2000 / price  # the cap (5 % of the 2,000 USDT account) is below 10 %
    assert rec.amount == pytest.approx(int(cap / 1e-5) * 1e-5, abs=1e-12)
    status = bot.store.get_status()
    assert status.detail["cash"] == pytest.approx(float(fake_binance.balances()["USDT"]["total"]))
    assert status.detail["account"]["quote"] == "USDT"
    bot.close()


def test_the_day_start_equity_is_the_accounts_and_is_stored(tmp_path, fake_binance, monkeypatch):
    """The daily loss limit counts from the account's equity at the day's first sync (stored,
    so a restart the same day keeps it), not from paper.starting_balance."""
    fake_binance.set_balance("USDT", "500")
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, risk={"daily_max_loss_ratio": 0.01})
    assert bot.run(2) == 0
    stored = json.loads(bot.store.get_state("day_start_equity"))
    assert stored["equity"] == pytest.approx(500.0)
    limits = bot.store.get_status().detail["limits"]
    assert limits["daily_loss_limit"] == pytest.approx(5.0)
    fake_binance.set_balance("USDT", "800")  # the same day, later: the day's start stays
    assert bot.run(2) == 0
    assert bot.store.get_status().detail["limits"]["daily_loss_limit"] == pytest.approx(5.0)
    bot.close()


def test_coins_the_bot_did_not_buy_are_not_managed_and_never_sold(tmp_path, fake_binance, monkeypatch):
    fake_binance.set_balance("BTC", "0.5")  # the trader's own coins
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:
            bot.store.put_control(new_control("flatten", "test", int(time.time() * 1000)))

    assert bot.run(6, on_cycle) == 0
    (buy, sell) = bot.store.list_trades()
    assert sell.exit_reason == "flatten" and sell.amount == pytest.approx(0.00099)
    unmanaged = bot.store.get_status().detail["account"]["unmanaged"]
    assert unmanaged["BTC"] == pytest.approx(0.5, abs=1e-12), "shown as not managed"
    assert float(bot.held()) == pytest.approx(0.5 + 0.000009, abs=1e-12), "the trader's 0.5 BTC are still there"
    sells = [r for r in fake_binance.requests_to("/api/v3/order", "POST") if r.params["side"] == "SELL"]
    assert [r.params["quantity"] for r in sells] == ["0.00099"]
    bot.close()


def test_a_position_sold_outside_the_bot_is_closed_at_the_exchanges_price(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, account_sync_seconds=30)

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:  # the trader sells everything in the exchange's app
            fake_binance.ccxt().create_order("BTC/USDT", "market", "sell", 0.00099, None, {"newClientOrderId": "app-1"})

    assert bot.run(7, on_cycle) == 0
    (buy, external) = bot.store.list_trades()
    manual = [f for f in fake_binance.ledger() if f.client_order_id == "app-1"][0]
    assert external.exit_reason == "external_close" and external.amount == pytest.approx(0.00099, abs=1e-12)
    assert external.price == float(manual.price)
    assert external.pnl == pytest.approx((float(manual.price) * 0.00099) - 0.001 * buy.price, rel=1e-9)
    assert not bot.store.list_positions()
    (event,) = bot.store.list_events(kind="reconcile")
    assert "the exchange holds less BTC than the bot" in event.message and "app-1" not in event.message
    assert "closed 0.00099" in bot.store.get_status().detail["account"]["reconciled"]
    bot.close()


def test_an_open_order_with_the_bots_prefix_unknown_to_the_store_is_cancelled(tmp_path, fake_binance, monkeypatch):
    client = fake_binance.ccxt()
    client.load_markets()
    client.create_order(
        "BTC/USDT", "limit", "buy", 0.001, 10_000, {"newClientOrderId": "db-stray-1", "timeInForce": "GTC"}
    )
    client.create_order(
        "BTC/USDT", "limit", "buy", 0.001, 10_000, {"newClientOrderId": "manual-7", "timeInForce": "GTC"}
    )
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)
    assert bot.run(2) == 0
    assert fake_binance.orders["db-stray-1"]["status"] == "CANCELED"
    assert fake_binance.orders["manual-7"]["status"] == "NEW", "the trader's own order is left alone"
    rec = bot.store.get_order("db-stray-1")
    assert rec.status == "canceled" and rec.done and "unknown to this store" in rec.error
    assert [e.rule for e in bot.store.list_events(kind="reconcile")] == ["unknown_order"]
    bot.close()


def test_reconciliation_waits_while_an_order_is_in_flight(tmp_path, fake_binance, monkeypatch):
    """A buy whose reply was lost has filled on the exchange: the balance holds coins the books
    do not have yet. They are not "not managed": the order is resolved first."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, account_sync_seconds=5)
    fake_binance.lose_next_reply()
    fake_binance.go_down("503", after=1, count=6, path="/api/v3/order")
    seen = []

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n in (2, 3):
            seen.append(bot.store.get_status().detail["account"]["unmanaged"])

    assert bot.run(6, on_cycle) == 0
    assert seen == [{}, {}]
    assert_reconciled(bot.store, fake_binance)
    bot.close()
