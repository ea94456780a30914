"""The live order lifecycle against the fake Binance: every order read back and booked as what
filled; unknown outcomes looked up until known; no order sent twice; dust kept and sold later."""

from __future__ import annotations

import pytest

from tests.fixtures_exchange import sample_candles
from tests.live_helpers import MINUTE, LiveBot, assert_reconciled

BTC_FEE = 0.001  # the fake's taker fee, charged in BTC on buys


def _signals_then(bot, plan: dict[int, str]):
    """on_cycle: at cycle n send the external signal plan[n] ("buy"/"sell")."""

    def on_cycle(n):
        if n in plan:
            bot.signal(plan[n])

    return on_cycle


def test_an_expired_market_order_with_no_fill_is_no_trade_but_a_rejection(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)
    fake_binance.expire_next_market_order()
    assert bot.run(6, _signals_then(bot, {1: "buy"})) == 0
    assert bot.store.list_trades() == [] and bot.store.list_positions() == []
    (rec,) = bot.store.list_orders()
    assert (rec.status, rec.filled, rec.done) == ("expired", 0.0, True)
    (event,) = [e for e in bot.store.list_events(kind="rejection") if e.rule == "order_expired"]
    assert "expired on the exchange with nothing filled" in event.message
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_partial_fill_is_booked_as_partial_net_of_the_base_fee(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, order_size={"BTC/USDT": {"amount": 0.002}})
    fake_binance.partial_fill_next(0.5)
    assert bot.run(4, _signals_then(bot, {1: "buy"})) == 0
    (trade,) = bot.store.list_trades()
    (fill,) = fake_binance.ledger()
    assert float(fill.amount) == 0.001 and fill.fee_asset == "BTC"
    assert trade.amount == pytest.approx(0.001 - float(fill.fee), abs=1e-15), "what reached the account"
    assert trade.price == float(fill.price) and trade.fee == pytest.approx(float(fill.fee) * float(fill.price))
    (pos,) = bot.store.list_positions()
    assert pos.amount == trade.amount
    (rec,) = bot.store.list_orders()
    assert (rec.status, rec.amount, rec.filled, rec.fee_currency, rec.done) == ("expired", 0.002, 0.001, "BTC", True)
    assert [e.rule for e in bot.store.list_events(kind="order")] == ["partial_fill"]
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_dust_left_by_the_base_fee_is_kept_valued_and_sold_with_a_later_exit(tmp_path, fake_binance, monkeypatch):
    """0.001 BTC bought leaves 0.000999 (fee in BTC); 0.00099 can be sold (step 0.00001), 0.000009
    stays as dust, counted in equity, and goes with the next round trip's sell. The P&L of all
    trades is the USDT the exchange's fills moved."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)
    usdt0 = fake_binance.balances()["USDT"]["total"]
    plan = {1: "buy", 3: "sell", 5: "buy", 7: "sell"}
    seen = {}

    def on_cycle(n):
        _signals_then(bot, plan)(n)
        if n == 5:
            seen["status"] = bot.store.get_status()

    assert bot.run(9, on_cycle) == 0
    buys = [t for t in bot.store.list_trades() if t.action == "buy"]
    sells = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert [t.amount for t in buys] == pytest.approx([0.000999, 0.000999], abs=1e-15)
    assert [t.amount for t in sells] == pytest.approx([0.00099, 0.001], abs=1e-15), "the dust went with the 2nd sell"
    detail = seen["status"].detail
    assert detail["account"]["dust"]["BTC/USDT"] == pytest.approx(0.000009, abs=1e-15)
    price = fake_binance.ledger()[-1].price
    assert detail["equity"] == pytest.approx(detail["cash"] + 0.000009 * float(price), rel=1e-6)
    assert float(bot.held()) == pytest.approx(0.000008, abs=1e-12), "0.000998 + 0.000009 - 0.001 left"
    usdt_moved = float(fake_binance.balances()["USDT"]["total"] - usdt0)
    assert sum(t.pnl for t in sells) == pytest.approx(usdt_moved, abs=1e-9)
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_buy_whose_reply_is_lost_is_looked_up_and_booked_once(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)
    fake_binance.lose_next_reply()
    fake_binance.go_down("503", after=1, count=3, path="/api/v3/order")  # and the first look-ups fail
    seen = []

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 2:  # while its outcome is unknown the order is stored, not done
            seen.extend(bot.store.list_orders(open_only=True))

    assert bot.run(6, on_cycle) == 0
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 1
    assert len(fake_binance.requests_to("/api/v3/order", "GET")) >= 2, "looked up until known"
    (trade,) = bot.store.list_trades()
    assert [r.status for r in seen] == ["intent"] and seen[0].client_order_id == trade.order_id
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_an_order_lost_before_the_exchange_saw_it_is_not_placed_and_not_resent(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, step_seconds=5)
    fake_binance.drop_next_order()
    assert bot.run(8, _signals_then(bot, {1: "buy"})) == 0
    assert fake_binance.ledger() == [] and bot.store.list_trades() == []
    (rec,) = bot.store.list_orders()
    assert rec.status == "not_placed" and "recvWindow" in rec.error
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 1
    (event,) = [e for e in bot.store.list_events(kind="rejection") if e.rule == "not_placed"]
    assert rec.client_order_id in event.message
    bot.close()


def test_an_exit_refused_for_insufficient_balance_resyncs_and_sells_what_is_there(tmp_path, fake_binance, monkeypatch):
    """Someone sold half the coins by hand: the sell is refused, the account re-read, the
    missing half closed as external_close at the manual fill's price, and the rest sold. Never
    a loop of refusals."""
    bot = LiveBot(
        tmp_path, fake_binance, monkeypatch, order_size={"BTC/USDT": {"amount": 0.002}}, account_sync_seconds=3600
    )

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:  # a manual sell of 0.001 BTC on the exchange, then the bot's exit
            fake_binance.ccxt().create_order(
                "BTC/USDT", "market", "sell", 0.001, None, {"newClientOrderId": "manual-1"}
            )
            bot.signal("sell")

    assert bot.run(12, on_cycle) == 0
    sells = [r for r in fake_binance.requests_to("/api/v3/order", "POST") if r.params["side"] == "SELL"]
    assert len(sells) <= 3, "refused, then re-sized and sold: no loop"
    trades = bot.store.list_trades()
    (external,) = [t for t in trades if t.exit_reason == "external_close"]
    manual = [f for f in fake_binance.ledger() if f.client_order_id == "manual-1"]
    assert external.amount == pytest.approx(0.001, abs=1e-12) and external.price == float(manual[0].price)
    assert not bot.store.list_positions()
    assert [e.rule for e in bot.store.list_events(kind="reconcile")] == ["external_close"]
    assert float(bot.held()) < 0.00001, "only dust is left"
    bot.close()


def test_a_ticker_without_a_price_is_a_temporary_error(fake_binance, fake_exchange):
    from daybreak.exchange.client import ExchangeUnavailable

    fake_exchange.load_markets()
    fake_binance.set_price("BTC/USDT", "0")
    assert "BTC/USDT" not in fake_exchange.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    with pytest.raises(ExchangeUnavailable, match="no price in the reply"):
        fake_exchange.fetch_last_price("BTC/USDT")


def test_no_exit_at_a_stale_price_when_the_price_poll_failed(tmp_path, fake_binance, monkeypatch):
    """Paper: the time stop is due while the ticker request fails: no exit that cycle (the last
    poll's price is old), the exit comes with the next fresh price and fills at it."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, mode="paper", risk={"time_stop_seconds": 60})
    frame = sample_candles().set_index("timestamp")
    seen = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 4:  # the stop is due from here on; the price poll fails for two cycles
            fake_binance.go_down("503", count=6, path="/api/v3/ticker/24hr")
            seen["down_at"] = fake_binance.now()

    assert bot.run(9, on_cycle) == 0
    sell = [t for t in bot.store.list_trades() if t.action == "sell"][0]
    assert sell.exit_reason == "time_stop" and sell.timestamp > seen["down_at"] + 20_000, "not while prices failed"
    polled = frame["close"][sell.timestamp - sell.timestamp % MINUTE - MINUTE]
    assert sell.price == pytest.approx(polled * 0.9995, rel=1e-12), "at the fresh polled price"
    bot.close()
