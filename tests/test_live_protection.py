"""Protective orders resting on the fake Binance (real ccxt): the exchange stop's life (placed
after the entry, replaced as the bot's stop moves, cancelled before another sell, placed again
when missing, booked when it filled while the bot was away, an emergency exit when refused, a
gap through its limit exited at market), OCO and resting take-profits, flatten; reconciled
with the fake's ledger every time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daybreak.core.domain import new_control
from tests.live_helpers import LiveBot, assert_reconciled

SYM = "BTC/USDT"
STOP = {"exchange_stop": "stop_loss_limit", "exchange_stop_limit_offset_bps": 50}
WRITES = (
    ("POST", "/api/v3/order"),
    ("POST", "/api/v3/order/cancelReplace"),
    ("DELETE", "/api/v3/order"),
    ("POST", "/api/v3/order/oco"),
    ("DELETE", "/api/v3/orderList"),
)


def _writes(fake) -> int:
    return sum(len(fake.requests_to(path, method)) for method, path in WRITES)


def _resting(fake, kind):
    return [o for o in fake.orders.values() if o["type"] == kind and o["status"] in ("NEW", "PARTIALLY_FILLED")]


def _bot(tmp_path, fake, monkeypatch, risk=None, execution=STOP, **kw):
    fake.set_price(SYM, "50000.00")
    return LiveBot(tmp_path, fake, monkeypatch, risk=risk or {"stop_loss_ratio": 0.01}, execution=execution, **kw)


def _buy(bot, cycles=3):
    assert bot.run(cycles, lambda n: bot.signal("buy") if n == 1 else None) == 0
    bot.cycles = 0
    (pos,) = bot.store.list_positions()
    return pos


def test_a_bot_killed_while_holding_leaves_its_stop_which_fills_and_is_booked_once_on_restart(
    tmp_path, fake_binance, monkeypatch
):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    pos = _buy(bot)
    (stop,) = _resting(fake_binance, "STOP_LOSS_LIMIT")
    assert Decimal(stop["stopPrice"]) == Decimal("49500.00") and Decimal(stop["price"]) == Decimal("49252.50")
    sellable = Decimal(repr(pos.amount)).quantize(Decimal("0.00001"), rounding="ROUND_DOWN")  # the lot step
    assert Decimal(stop["origQty"]) == sellable == Decimal("0.00099"), "the position's sellable amount"
    assert fake_binance.balances()["BTC"]["locked"] == sellable
    # the bot is gone (its run ended: nothing was cancelled); the price falls through the stop
    fake_binance.set_price(SYM, "49400.00")
    (fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert fill.client_order_id == stop["clientOrderId"]
    before = _writes(fake_binance)
    assert bot.run(3) == 0
    assert _writes(fake_binance) == before, "the restarted bot sends nothing"
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert (sell.order_id, sell.exit_reason, sell.price, sell.order_type) == (
        stop["clientOrderId"],
        "stop_loss",
        float(fill.price),
        "stop_limit",
    )
    assert sell.fee == pytest.approx(float(fill.fee)) and sell.amount == float(fill.amount)
    assert bot.store.list_positions() == [] and bot.store.list_orders(open_only=True) == []
    assert not bot.store.list_events(kind="reconcile"), "no external close: the stop's fill was booked"
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_the_exchange_stop_follows_the_bots_stop_up(tmp_path, fake_binance, monkeypatch):
    bot = _bot(tmp_path, fake_binance, monkeypatch, risk={"stop_loss_ratio": 0.01, "breakeven_trigger_ratio": 0.002})
    _buy(bot)
    assert bot.run(3, lambda n: fake_binance.set_price(SYM, "50150.00") if n == 1 else None) == 0
    stops = [o for o in fake_binance.orders.values() if o["type"] == "STOP_LOSS_LIMIT"]
    assert [o["status"] for o in stops] == ["CANCELED", "NEW"]
    assert Decimal(stops[-1]["stopPrice"]) == Decimal("50000.00"), "break-even: the entry price"
    assert len(fake_binance.requests_to("/api/v3/order/cancelReplace", "POST")) == 1
    (pos,) = bot.store.list_positions()
    assert pos.stop_price == 50000.0
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_stop_gapped_through_its_limit_is_cancelled_and_the_bot_sells_at_market(tmp_path, fake_binance, monkeypatch):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    _buy(bot)
    assert bot.run(3, lambda n: fake_binance.set_price(SYM, "49000.00") if n == 1 else None) == 0
    (stop,) = [o for o in fake_binance.orders.values() if o["type"] == "STOP_LOSS_LIMIT"]
    assert stop["status"] == "CANCELED" and stop["_triggered"], "triggered at 49000, below its 49252.50 limit"
    (market,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert (market.type, sell.exit_reason, sell.price) == ("MARKET", "stop_loss", float(market.price))
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_signal_exit_cancels_the_stop_first_and_sells_the_coins_once(tmp_path, fake_binance, monkeypatch):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    _buy(bot)
    assert bot.run(3, lambda n: bot.signal("sell") if n == 1 else None) == 0
    (stop,) = [o for o in fake_binance.orders.values() if o["type"] == "STOP_LOSS_LIMIT"]
    (sell_fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert stop["status"] == "CANCELED" and sell_fill.type == "MARKET" and sell_fill.amount == Decimal("0.00099")
    assert fake_binance.balances()["BTC"]["locked"] == 0
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_missing_stop_is_placed_again(tmp_path, fake_binance, monkeypatch):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    _buy(bot)
    (stop,) = _resting(fake_binance, "STOP_LOSS_LIMIT")
    fake_binance.ccxt().cancel_order(None, SYM, {"origClientOrderId": stop["clientOrderId"]})  # by hand
    assert bot.run(2) == 0
    (again,) = _resting(fake_binance, "STOP_LOSS_LIMIT")
    assert again["clientOrderId"] != stop["clientOrderId"] and again["stopPrice"] == stop["stopPrice"]
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_refused_stop_makes_the_bot_exit_at_market_at_once_and_say_why(tmp_path, fake_binance, monkeypatch):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    fake_binance.refuse_next_order("STOP_LOSS_LIMIT")
    assert bot.run(4, lambda n: bot.signal("buy") if n == 1 else None) == 0
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert sell.exit_reason == "emergency_exit" and not bot.store.list_positions()
    (event,) = bot.store.list_events(rule="exchange_stop_refused")
    assert "PERCENT_PRICE_BY_SIDE" in event.message and event.data["stop_price"] == 49500.0
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_an_oco_take_profit_fills_and_its_stop_leg_expires(tmp_path, fake_binance, monkeypatch):
    bot = _bot(
        tmp_path,
        fake_binance,
        monkeypatch,
        risk={"stop_loss_ratio": 0.01, "take_profit_ratio": 0.004},
        execution={"exchange_stop": "oco", "take_profit_order": "resting"},
    )
    _buy(bot)
    assert len(fake_binance.requests_to("/api/v3/order/oco", "POST")) == 1
    (tp,) = _resting(fake_binance, "LIMIT_MAKER")
    (stop,) = _resting(fake_binance, "STOP_LOSS_LIMIT")
    assert (Decimal(tp["price"]), Decimal(stop["stopPrice"])) == (Decimal("50200.00"), Decimal("49500.00"))
    assert bot.run(3, lambda n: fake_binance.set_price(SYM, "50300.00") if n == 1 else None) == 0
    (fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert fill.maker and (sell.exit_reason, sell.price, sell.order_id) == ("take_profit", 50200.0, tp["clientOrderId"])
    assert fake_binance.orders[stop["clientOrderId"]]["status"] == "EXPIRED"
    assert not bot.store.list_positions() and bot.store.list_orders(open_only=True) == []
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_resting_take_profit_is_eased_down_and_fills_at_the_exchange(tmp_path, fake_binance, monkeypatch):
    bot = _bot(
        tmp_path,
        fake_binance,
        monkeypatch,
        risk={"take_profit_ratio": 0.01},
        execution={"take_profit_order": "resting", "take_profit_ease_bps": 20, "take_profit_ease_seconds": 40},
    )
    pos = _buy(bot, cycles=2)
    steps = []

    def on_cycle(n):
        steps.append((fake_binance.now(), [Decimal(o["price"]) for o in _resting(fake_binance, "LIMIT")]))
        if n == 5:
            fake_binance.set_price(SYM, "50500.00")

    assert bot.run(6, on_cycle) == 0
    tp = pos.entry_price * 1.01
    for now, prices in steps[:5]:  # each cycle's resting price: tp lowered 20 bps per whole 40 s since entry
        n = (now - 20_000 - pos.entry_timestamp) // 40_000  # as the bot priced it at the cycle before
        assert prices == [Decimal(str(round(tp * (1 - n * 0.002), 2)))], (now, prices)
    assert len({p[0] for _, p in steps[:5]}) >= 2, "eased at least once"
    assert len(fake_binance.requests_to("/api/v3/order/cancelReplace", "POST")) >= 1
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    (fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert (sell.exit_reason, sell.price, fill.maker, fill.type) == ("take_profit", float(fill.price), True, "LIMIT")
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_flatten_cancels_the_resting_orders_then_sells(tmp_path, fake_binance, monkeypatch):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    pos = _buy(bot)
    assert (
        bot.run(
            4, lambda n: bot.store.put_control(new_control("flatten", "test", fake_binance.now())) if n == 1 else None
        )
        == 0
    )
    (stop,) = [o for o in fake_binance.orders.values() if o["type"] == "STOP_LOSS_LIMIT"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert stop["status"] == "CANCELED" and (sell.exit_reason, sell.amount) == ("flatten", 0.00099)
    assert pos.amount == 0.000999, "0.000009 stays as dust (the lot step)"
    assert not _resting(fake_binance, "STOP_LOSS_LIMIT") and not bot.store.list_positions()
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_take_profit_refused_then_reached_is_sold_at_market(tmp_path, fake_binance, monkeypatch):
    bot = _bot(
        tmp_path,
        fake_binance,
        monkeypatch,
        risk={"take_profit_ratio": 0.004},
        execution={"take_profit_order": "resting"},
    )
    fake_binance.refuse_next_order("LIMIT")
    seen = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 2:  # the take-profit was refused (tried again in 60 s); the price passes it meanwhile
            seen["resting"] = _resting(fake_binance, "LIMIT")
            fake_binance.set_price(SYM, "50300.00")

    assert bot.run(4, on_cycle) == 0
    assert seen["resting"] == []
    (event,) = bot.store.list_events(rule="take_profit_refused")
    assert "tried again" in event.message
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    (fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert (fill.type, sell.exit_reason, sell.price) == ("MARKET", "take_profit", float(fill.price))
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_restarted_bot_leaves_the_resting_take_profit_to_the_exchange_and_books_its_fill(
    tmp_path, fake_binance, monkeypatch
):
    bot = _bot(
        tmp_path,
        fake_binance,
        monkeypatch,
        risk={"stop_loss_ratio": 0.01, "take_profit_ratio": 0.004},
        execution={"take_profit_order": "resting"},
    )
    _buy(bot)
    (tp,) = _resting(fake_binance, "LIMIT")
    # restarted while holding: the price passes the take-profit (the exchange fills it), then the stop
    assert bot.run(3, lambda n: fake_binance.set_price(SYM, "50300.00") if n == 1 else None) == 0
    sells = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert [(f.client_order_id, f.type) for f in sells] == [(tp["clientOrderId"], "LIMIT")], "no market sell too"
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert (sell.exit_reason, sell.price, sell.order_type) == ("take_profit", 50200.0, "limit")
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_restarted_bot_exits_at_its_stop_with_a_market_order_after_cancelling_the_exchange_stop(
    tmp_path, fake_binance, monkeypatch
):
    bot = _bot(tmp_path, fake_binance, monkeypatch, execution={**STOP, "exchange_stop_limit_offset_bps": 10})
    _buy(bot)
    assert bot.run(3, lambda n: fake_binance.set_price(SYM, "49000.00") if n == 1 else None) == 0  # through the limit
    (stop,) = [o for o in fake_binance.orders.values() if o["type"] == "STOP_LOSS_LIMIT"]
    (market,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert stop["status"] == "CANCELED" and market.type == "MARKET"
    assert (sell.exit_reason, sell.order_type) == ("stop_loss", "market")
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_a_stop_that_filled_during_an_outage_is_booked_when_the_exchange_answers_again(
    tmp_path, fake_binance, monkeypatch
):
    bot = _bot(tmp_path, fake_binance, monkeypatch)
    _buy(bot)
    (stop,) = _resting(fake_binance, "STOP_LOSS_LIMIT")

    def on_cycle(n):
        if n == 1:
            fake_binance.go_down("503")
            fake_binance.set_price(SYM, "49400.00")  # the stop fills while the bot cannot see it
        if n == 3:
            fake_binance.come_back()

    assert bot.run(6, on_cycle) == 0
    (fill,) = [f for f in fake_binance.ledger() if f.side == "sell"]
    (sell,) = [t for t in bot.store.list_trades() if t.action == "sell"]
    assert (fill.client_order_id, sell.order_id, sell.exit_reason) == (stop["clientOrderId"],) * 2 + ("stop_loss",)
    assert not bot.store.list_events(kind="reconcile") and not bot.store.list_positions()
    assert_reconciled(bot.store, fake_binance)
    bot.close()
