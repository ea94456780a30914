"""The fake Binance's orders, driven through real ccxt (``binanceus`` unless said otherwise).

Prices are moved with ``set_price`` (a gap) or by advancing the clock over the recorded candles
(a path through each candle); every test checks the exchange's own record (balances, ledger).
"""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from tests.fixtures_exchange import sample_candles

MINUTE = 60_000
BTC = sample_candles("BTC/USDT")


@pytest.fixture
def fake(fake_binance):
    """The ``fake_binance`` fixture (BTC/USDT, ETH/USDT candles; 10,000 USDT) with 1 BTC too."""
    fake_binance.set_balance("BTC", "1")
    return fake_binance


@pytest.fixture
def client(fake):
    return fake.ccxt()


def last(fake, symbol: str = "BTC/USDT") -> float:
    return float(fake.last_price(symbol.replace("/", "")))


def by_cid(client, cid: str, symbol: str = "BTC/USDT") -> dict:
    return client.fetch_order(None, symbol, {"origClientOrderId": cid})


def free_locked(fake, asset: str) -> tuple[Decimal, Decimal]:
    entry = fake.balances()[asset]
    return entry["free"], entry["locked"]


# -- LIMIT -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("exchange_id", ["binanceus", "binance"])
def test_resting_limit_buy_locks_quote_and_fills_at_its_price_once_traded_through(fake, exchange_id):
    client = fake.ccxt(exchange_id)
    fake.set_fees(maker="0.0005", taker="0.001")
    price = round(last(fake) - 500, 2)
    placed = client.create_order("BTC/USDT", "limit", "buy", 0.01, price, {"newClientOrderId": "db-limit-1"})
    assert (placed["status"], placed["filled"], placed["type"], placed["timeInForce"]) == ("open", 0.0, "limit", "GTC")
    assert free_locked(fake, "USDT") == (Decimal("10000") - Decimal(str(price)) / 100, Decimal(str(price)) / 100)
    balance = client.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(price * 0.01) and balance["USDT"]["total"] == 10_000
    fake.set_price("BTC/USDT", price)  # touching the limit is not trading through it
    assert by_cid(client, "db-limit-1")["status"] == "open"
    fake.set_price("BTC/USDT", price - 0.01)
    done = by_cid(client, "db-limit-1")
    assert (done["status"], done["filled"], done["average"]) == ("closed", 0.01, price)
    fill = fake.ledger()[0]
    assert (fill.client_order_id, fill.side, fill.price, fill.maker) == ("db-limit-1", "buy", Decimal(str(price)), True)
    assert (fill.fee, fill.fee_asset) == (Decimal("0.000005"), "BTC")  # maker fee, in the bought asset
    assert free_locked(fake, "BTC") == (Decimal("1.009995"), 0)
    assert free_locked(fake, "USDT") == (Decimal("10000") - Decimal(str(price)) / 100, 0)
    trades = client.fetch_my_trades("BTC/USDT")
    assert [(t["price"], t["amount"], t["takerOrMaker"]) for t in trades] == [(price, 0.01, "maker")]


def test_marketable_limit_takes_the_ask_with_the_taker_fee(fake, client):
    fake.set_spread("BTC/USDT", "0.001")
    bid, ask = fake.book("BTCUSDT")
    assert ask - bid >= Decimal("49") and bid < Decimal(str(last(fake))) < ask
    order = client.create_order("BTC/USDT", "limit", "buy", 0.01, float(ask) + 100, {"newClientOrderId": "db-take"})
    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.01, float(ask))
    assert order["fee"] == {"cost": 0.00001, "currency": "BTC"}
    sold = client.create_order("BTC/USDT", "market", "sell", 0.01)
    assert sold["average"] == float(bid)
    assert free_locked(fake, "USDT")[1] == 0


def test_ioc_and_fok_expire_what_cannot_fill_at_once(fake, client):
    below = round(last(fake) - 300, 2)
    ioc = client.create_order("BTC/USDT", "limit", "buy", 0.01, below, {"timeInForce": "IOC"})
    assert (ioc["status"], ioc["filled"]) == ("expired", 0.0)
    fake.partial_fill_next("0.5")
    fok = client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) + 300, 2), {"timeInForce": "FOK"})
    assert (fok["status"], fok["filled"]) == ("expired", 0.0)  # all or nothing
    fake.partial_fill_next("0.5")
    part = client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) + 300, 2), {"timeInForce": "IOC"})
    assert (part["status"], part["filled"], part["remaining"]) == ("expired", 0.005, 0.005)
    assert free_locked(fake, "USDT")[1] == 0 and client.fetch_open_orders("BTC/USDT") == []
    assert [f.amount for f in fake.ledger()] == [Decimal("0.005")]


def test_partial_fills_leave_a_gtc_order_open_until_a_later_move(fake, client):
    price = round(last(fake) - 200, 2)
    fake.partial_fill_next("0.4")
    client.create_order("BTC/USDT", "limit", "buy", 0.01, price, {"newClientOrderId": "db-part"})
    fake.set_price("BTC/USDT", price - 1)
    order = by_cid(client, "db-part")
    assert (order["status"], order["filled"], order["info"]["status"]) == ("open", 0.004, "PARTIALLY_FILLED")
    assert free_locked(fake, "USDT")[1] == Decimal(str(price)) * Decimal("0.006")  # only the rest stays locked
    fake.set_price("BTC/USDT", price - 2)
    order = by_cid(client, "db-part")
    assert (order["status"], order["filled"], order["cost"]) == ("closed", 0.01, pytest.approx(price * 0.01))
    assert [f.amount for f in fake.ledger()] == [Decimal("0.004"), Decimal("0.006")]


def test_marketable_partial_fill_releases_the_price_improvement(fake, client):
    fake.set_spread("BTC/USDT", "0.001")
    ask = fake.book("BTCUSDT")[1]
    limit = ask + 100
    fake.partial_fill_next("0.5")
    order = client.create_order("BTC/USDT", "limit", "buy", 0.01, float(limit))
    assert (order["status"], order["filled"], order["average"]) == ("open", 0.005, float(ask))
    assert free_locked(fake, "USDT") == (
        Decimal("10000") - ask * Decimal("0.005") - limit * Decimal("0.005"),
        limit * Decimal("0.005"),
    )  # the rest keeps its limit price locked


def test_one_gap_fills_resting_orders_in_the_order_the_price_reaches_them(fake, client):
    now = last(fake)
    for offset in (300, 100, 200):
        client.create_order(
            "BTC/USDT", "limit", "buy", 0.001, round(now - offset, 2), {"newClientOrderId": f"db-{offset}"}
        )
    client.create_order(
        "BTC/USDT",
        "limit",
        "sell",
        0.001,
        round(now - 500, 2),
        {"stopPrice": round(now - 150, 2), "newClientOrderId": "db-stop"},
    )
    client.create_order("BTC/USDT", "limit", "sell", 0.001, round(now + 50, 2), {"newClientOrderId": "db-above"})
    fake.set_price("BTC/USDT", now - 400)
    assert [f.client_order_id for f in fake.ledger()] == ["db-100", "db-200", "db-300", "db-stop"]
    assert fake.ledger()[-1].price == Decimal(str(round(now - 500, 2)))  # triggered at now - 400, sells at its limit
    assert [o["clientOrderId"] for o in client.fetch_open_orders("BTC/USDT")] == ["db-above"]


# -- LIMIT_MAKER -----------------------------------------------------------------------------------
def test_post_only_that_would_take_is_rejected(fake, client):
    with pytest.raises(ccxt.OrderImmediatelyFillable, match="Order would immediately match and take."):
        client.create_order("BTC/USDT", "LIMIT_MAKER", "buy", 0.01, round(last(fake) + 1, 2))
    with pytest.raises(ccxt.InvalidOrder):
        client.create_order("BTC/USDT", "limit", "sell", 0.01, round(last(fake) - 1, 2), {"postOnly": True})
    assert fake.orders == {} and free_locked(fake, "USDT") == (Decimal("10000"), 0)
    maker = client.create_order("BTC/USDT", "limit", "sell", 0.01, round(last(fake) + 50, 2), {"postOnly": True})
    assert (maker["status"], maker["postOnly"], maker["info"]["type"]) == ("open", True, "LIMIT_MAKER")
    assert free_locked(fake, "BTC") == (Decimal("0.99"), Decimal("0.01"))
    fake.set_price("BTC/USDT", last(fake) + 60)
    assert client.fetch_order(maker["id"], "BTC/USDT")["status"] == "closed"
    assert fake.ledger()[0].maker


# -- STOP_LOSS_LIMIT -------------------------------------------------------------------------------
def test_stop_loss_limit_fills_at_its_limit_when_triggered(fake, client):
    now = last(fake)
    stop, limit = round(now - 100, 2), round(now - 120, 2)
    placed = client.create_order(
        "BTC/USDT", "limit", "sell", 0.01, limit, {"stopPrice": stop, "newClientOrderId": "db-sl"}
    )
    assert (placed["status"], placed["triggerPrice"], placed["info"]["type"]) == ("open", stop, "STOP_LOSS_LIMIT")
    sent = fake.requests_to("/api/v3/order", "POST")[-1].params
    assert (sent["type"], sent["stopPrice"], sent["price"], sent["timeInForce"]) == (
        "STOP_LOSS_LIMIT",
        str(stop),
        str(limit),
        "GTC",
    )
    fake.set_price("BTC/USDT", now - 99)
    info = by_cid(client, "db-sl")["info"]
    assert (info["status"], info["isWorking"], info["workingTime"]) == ("NEW", False, -1)
    fake.set_price("BTC/USDT", now - 110)  # triggered; the sell at `limit` is marketable
    done = by_cid(client, "db-sl")
    assert (done["status"], done["average"], done["info"]["isWorking"]) == ("closed", limit, True)
    assert (fake.ledger()[0].fee_asset, fake.ledger()[0].maker) == ("USDT", False)


def test_stop_loss_limit_gapped_past_stays_open_triggered_until_the_price_comes_back(fake, client):
    now = last(fake)
    stop, limit = round(now - 100, 2), round(now - 120, 2)
    client.create_order("BTC/USDT", "limit", "sell", 0.01, limit, {"stopPrice": stop, "newClientOrderId": "db-gap"})
    fake.set_price("BTC/USDT", now - 300)  # gap below the limit: triggered, nothing fills
    info = by_cid(client, "db-gap")["info"]
    assert (info["status"], info["isWorking"], info["executedQty"]) == ("NEW", True, "0.00000000")
    fake.set_price("BTC/USDT", limit)
    assert by_cid(client, "db-gap")["status"] == "open"
    fake.set_price("BTC/USDT", limit + 0.01)
    assert (by_cid(client, "db-gap")["status"], fake.ledger()[0].price) == ("closed", Decimal(str(limit)))


def test_stop_that_would_trigger_immediately_is_rejected(fake, client):
    with pytest.raises(ccxt.InvalidOrder, match="Order would trigger immediately."):
        client.create_order("BTC/USDT", "limit", "sell", 0.01, last(fake) - 10, {"stopPrice": last(fake) + 5})


def test_advancing_the_clock_walks_orders_through_the_candles_in_order(fake, client):
    start = next(m for m in range(100, 4000) if BTC["close"].iat[m - 1] - BTC["low"].iloc[m : m + 30].min() > 150)
    t0 = int(BTC["timestamp"].iat[0])
    fake.set_clock(t0 + start * MINUTE + 1_000)
    c0, window = BTC["close"].iat[start - 1], BTC.iloc[start : start + 30]
    drop = c0 - window["low"].min()
    levels = [float(round(c0 - drop * 0.3, 2)), float(round(c0 - drop * 0.7, 2))]
    for i, level in enumerate(levels):
        client.create_order("BTC/USDT", "limit", "buy", 0.001, level, {"newClientOrderId": f"db-walk-{i}"})
    stop = float(round(c0 - drop * 0.5, 2))
    client.create_order(
        "BTC/USDT", "limit", "sell", 0.001, stop - 20, {"stopPrice": stop, "newClientOrderId": "db-walk-stop"}
    )
    fake.set_clock(t0 + (start + 30) * MINUTE + 1_000)
    ends = window["timestamp"] + MINUTE
    first_below = {lvl: int(ends[window["low"] < lvl].iloc[0]) for lvl in levels}
    hit = window[window["low"] <= stop].iloc[0]
    stop_price = stop - 20 if hit["open"] > stop or hit["open"] >= stop - 20 else None
    expected = sorted(
        [(first_below[lvl], -lvl, f"db-walk-{i}", lvl) for i, lvl in enumerate(levels)]
        + [(int(hit["timestamp"]) + MINUTE, -stop, "db-walk-stop", stop_price)]
    )
    got = [(f.time, f.client_order_id, float(f.price)) for f in fake.ledger()]
    assert got == [(t, cid, pytest.approx(p)) for t, _, cid, p in expected]
    assert client.fetch_open_orders() == []


# -- MARKET ------------------------------------------------------------------------------------------
def test_market_order_on_a_thin_book_expires_unfilled(fake, client):
    fake.expire_next_market_order()
    order = client.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "db-thin"})
    assert (order["status"], order["filled"], order["trades"]) == ("expired", 0.0, [])
    assert by_cid(client, "db-thin")["status"] == "expired"
    assert fake.ledger() == [] and free_locked(fake, "USDT") == (Decimal("10000"), 0)
    assert client.create_order("BTC/USDT", "market", "buy", 0.01)["status"] == "closed"  # only the next one


def test_partially_filled_market_order_expires_the_rest(fake, client):
    fake.partial_fill_next(0.25)
    order = client.create_order("BTC/USDT", "market", "sell", 0.01)
    assert (order["status"], order["filled"], order["info"]["status"]) == ("expired", 0.0025, "EXPIRED")
    assert free_locked(fake, "BTC")[0] == Decimal("0.9975")


def test_buy_fee_is_taken_in_base_currency_and_sell_fee_in_quote(fake, client):
    fake.set_balance("BTC", "0")
    bought = client.create_order("BTC/USDT", "market", "buy", 0.001)
    assert bought["fee"] == {"cost": 0.000001, "currency": "BTC"}
    assert free_locked(fake, "BTC") == (Decimal("0.000999"), 0)  # 0.001 BTC bought leaves 0.000999
    sold = client.create_order("BTC/USDT", "market", "sell", 0.00099)  # the 0.00001 step
    assert sold["fee"]["currency"] == "USDT"
    assert sold["fee"]["cost"] == pytest.approx(0.00099 * last(fake) * 0.001, abs=1e-8)
    assert free_locked(fake, "BTC")[0] == Decimal("0.000009")


def test_insufficient_funds_counts_what_is_locked(fake, client):
    with pytest.raises(ccxt.InsufficientFunds, match="Account has insufficient balance for requested action."):
        client.create_order("BTC/USDT", "limit", "buy", 1, round(last(fake) - 100, 2))
    client.create_order("BTC/USDT", "limit", "buy", 0.15, round(last(fake) - 100, 2))  # locks most of the USDT
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order("BTC/USDT", "market", "buy", 0.06)
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order("BTC/USDT", "limit", "sell", 1.5, round(last(fake) + 100, 2))
    assert len(fake.orders) == 1


# -- cancel, open orders, look-ups -------------------------------------------------------------------
def test_cancel_releases_the_lock_and_unknown_or_final_orders_are_not_found(fake, client):
    client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 100, 2), {"newClientOrderId": "db-c1"})
    canceled = client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "db-c1"})
    assert (canceled["status"], canceled["info"]["origClientOrderId"]) == ("canceled", "db-c1")
    assert free_locked(fake, "USDT") == (Decimal("10000"), 0)
    sent = fake.requests_to("/api/v3/order", "DELETE")[-1].params
    assert sent["origClientOrderId"] == "db-c1" and "orderId" not in sent
    with pytest.raises(ccxt.OrderNotFound, match='"code":-2011,"msg":"Unknown order sent."'):
        client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "db-c1"})  # already final
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        client.cancel_order("424242", "BTC/USDT")
    filled = client.create_order("BTC/USDT", "market", "buy", 0.01)
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        client.cancel_order(filled["id"], "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        by_cid(client, "db-never-sent")


def test_fetch_open_orders_all_or_by_symbol(fake, client):
    fake.set_balance("ETH", "1")
    client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 100, 2), {"newClientOrderId": "db-o1"})
    client.create_order(
        "BTC/USDT",
        "limit",
        "sell",
        0.01,
        round(last(fake) + 100, 2),
        {"takeProfitPrice": round(last(fake) + 90, 2), "newClientOrderId": "db-o2"},
    )
    client.create_order(
        "ETH/USDT", "limit", "sell", 0.5, round(last(fake, "ETH/USDT") + 10, 2), {"newClientOrderId": "db-o3"}
    )
    client.create_order("BTC/USDT", "market", "buy", 0.01)
    assert [o["clientOrderId"] for o in client.fetch_open_orders()] == ["db-o1", "db-o2", "db-o3"]
    eth = client.fetch_open_orders("ETH/USDT")
    assert [(o["clientOrderId"], o["symbol"], o["amount"]) for o in eth] == [("db-o3", "ETH/USDT", 0.5)]
    assert [r.params.get("symbol") for r in fake.requests_to("/api/v3/openOrders")] == [None, "ETHUSDT"]
    assert fake.weight_used("/api/v3/openOrders") == 40 + 3  # Binance.US: 40 without symbol, 3 with


def test_lost_cancel_reply_the_order_is_canceled_anyway(fake, client):
    placed = client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 100, 2))
    fake.lose_next_cancel_reply()
    with pytest.raises(ccxt.NetworkError):
        client.cancel_order(placed["id"], "BTC/USDT")
    assert client.fetch_order(placed["id"], "BTC/USDT")["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(placed["id"], "BTC/USDT")  # a blind retry is refused


def test_lost_order_reply_the_order_exists(fake, client):
    fake.lose_next_reply()
    with pytest.raises(ccxt.NetworkError):
        client.create_order(
            "BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 100, 2), {"newClientOrderId": "db-lost"}
        )
    assert by_cid(client, "db-lost")["status"] == "open"


# -- OCO ---------------------------------------------------------------------------------------------
def test_oco_sell_take_profit_fills_and_the_stop_leg_expires(fake, client):
    now = last(fake)
    tp, sl = round(now + 200, 2), round(now - 200, 2)
    reply = client.privatePostOrderOco(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.01",
            "price": str(tp),
            "stopPrice": str(sl),
            "stopLimitPrice": str(sl - 10),
            "stopLimitTimeInForce": "GTC",
            "listClientOrderId": "db-oco",
            "limitClientOrderId": "db-tp",
            "stopClientOrderId": "db-sl",
        }
    )
    assert (reply["contingencyType"], reply["listStatusType"], reply["listOrderStatus"]) == (
        "OCO",
        "EXEC_STARTED",
        "EXECUTING",
    )
    assert [(r["clientOrderId"], r["type"], r["status"]) for r in reply["orderReports"]] == [
        ("db-sl", "STOP_LOSS_LIMIT", "NEW"),
        ("db-tp", "LIMIT_MAKER", "NEW"),
    ]
    assert [o["clientOrderId"] for o in reply["orders"]] == ["db-sl", "db-tp"]
    assert free_locked(fake, "BTC") == (Decimal("0.99"), Decimal("0.01"))  # one lock for both legs
    assert {o["info"]["orderListId"] for o in client.fetch_open_orders("BTC/USDT")} == {reply["orderListId"]}
    fake.set_price("BTC/USDT", tp + 1)
    assert (by_cid(client, "db-tp")["status"], by_cid(client, "db-sl")["status"]) == ("closed", "expired")
    assert free_locked(fake, "BTC") == (Decimal("0.99"), 0)
    fill = fake.ledger()[0]
    assert (fill.client_order_id, fill.price, fill.maker) == ("db-tp", Decimal(str(tp)), True)
    assert free_locked(fake, "USDT")[0] == Decimal("10000") + fill.quote - fill.fee
    assert fake.order_lists[reply["orderListId"]]["listOrderStatus"] == "ALL_DONE"


def test_order_list_oco_buy_stop_triggers_and_the_limit_maker_expires(fake, client):
    now = last(fake)
    stop, limit, below = round(now + 100, 2), round(now + 110, 2), round(now - 300, 2)
    client.privatePostOrderListOco(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "quantity": "0.01",
            "aboveType": "STOP_LOSS_LIMIT",
            "aboveStopPrice": str(stop),
            "abovePrice": str(limit),
            "aboveTimeInForce": "GTC",
            "aboveClientOrderId": "db-up",
            "belowType": "LIMIT_MAKER",
            "belowPrice": str(below),
            "belowClientOrderId": "db-down",
        }
    )
    locked = Decimal(str(limit)) / 100  # the dearer leg
    assert free_locked(fake, "USDT") == (Decimal("10000") - locked, locked)
    fake.set_price("BTC/USDT", now + 105)  # gap past the stop
    assert (by_cid(client, "db-up")["status"], by_cid(client, "db-down")["status"]) == ("closed", "expired")
    assert fake.ledger()[0].price == Decimal(str(limit))
    assert free_locked(fake, "USDT") == (Decimal("10000") - locked, 0)
    with pytest.raises(ccxt.InvalidOrder, match="The relationship of the prices for the orders is not correct."):
        client.privatePostOrderOco(
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "quantity": "0.01",
                "price": str(round(now - 50, 2)),
                "stopPrice": str(round(now - 100, 2)),
            }
        )


def test_cancelling_one_oco_leg_cancels_the_list(fake, client):
    now = last(fake)
    client.privatePostOrderOco(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.02",
            "price": str(round(now + 50, 2)),
            "stopPrice": str(round(now - 50, 2)),
            "limitClientOrderId": "db-a",
            "stopClientOrderId": "db-b",
        }
    )
    assert client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "db-a"})["status"] == "canceled"
    assert by_cid(client, "db-b")["status"] == "canceled"
    assert free_locked(fake, "BTC") == (Decimal("1"), 0)


# -- cancelReplace -------------------------------------------------------------------------------
def test_edit_order_is_cancel_replace(fake, client):
    p1, p2 = round(last(fake) - 100, 2), round(last(fake) - 150, 2)
    placed = client.create_order("BTC/USDT", "limit", "buy", 0.01, p1, {"newClientOrderId": "db-r1"})
    edited = client.edit_order(placed["id"], "BTC/USDT", "limit", "buy", 0.02, p2, {"newClientOrderId": "db-r2"})
    assert (edited["clientOrderId"], edited["status"], edited["amount"], edited["price"]) == ("db-r2", "open", 0.02, p2)
    sent = fake.requests_to("/api/v3/order/cancelReplace")[-1].params
    assert (sent["cancelReplaceMode"], sent["cancelOrderId"]) == ("STOP_ON_FAILURE", placed["id"])
    assert by_cid(client, "db-r1")["status"] == "canceled"
    assert free_locked(fake, "USDT")[1] == Decimal(str(p2)) * 2 / 100
    reply = client.privatePostOrderCancelReplace(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01",
            "price": str(p1),
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrigClientOrderId": "db-r2",
            "newClientOrderId": "db-r3",
        }
    )
    assert (reply["cancelResult"], reply["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert (reply["cancelResponse"]["origClientOrderId"], reply["cancelResponse"]["status"]) == ("db-r2", "CANCELED")
    assert (reply["newOrderResponse"]["clientOrderId"], reply["newOrderResponse"]["status"]) == ("db-r3", "NEW")


def test_cancel_replace_failures_carry_binance_data(fake, client):
    with pytest.raises(
        ccxt.ExchangeError, match='"code":-2022.*"cancelResult":"FAILURE","newOrderResult":"NOT_ATTEMPTED"'
    ):
        client.edit_order("999999", "BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 100, 2))
    placed = client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 100, 2))
    with pytest.raises(ccxt.ExchangeError, match='"code":-2021.*"newOrderResponse":{"code":-2010,"msg":"Account has'):
        client.edit_order(placed["id"], "BTC/USDT", "limit", "buy", 1, round(last(fake) - 100, 2))
    assert client.fetch_order(placed["id"], "BTC/USDT")["status"] == "canceled"  # the cancel half stands
    assert len(fake.orders) == 1 and free_locked(fake, "USDT") == (Decimal("10000"), 0)


# -- reconciliation ------------------------------------------------------------------------------
def test_ledger_and_balances_reconcile_with_the_trades_ccxt_sees(fake, client):
    client.create_order("BTC/USDT", "market", "buy", 0.02, None, {"newClientOrderId": "db-1"})
    client.create_order("BTC/USDT", "limit", "sell", 0.015, round(last(fake) + 30, 2), {"newClientOrderId": "db-2"})
    fake.partial_fill_next("0.5")
    client.create_order("BTC/USDT", "limit", "buy", 0.01, round(last(fake) - 30, 2), {"newClientOrderId": "db-3"})
    fake.set_price("BTC/USDT", last(fake) + 40)
    fake.set_price("BTC/USDT", last(fake) - 80)
    assert client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "db-3"})["filled"] == 0.005  # the rest
    ledger = fake.ledger()
    assert [(f.client_order_id, f.side) for f in ledger] == [("db-1", "buy"), ("db-2", "sell"), ("db-3", "buy")]
    assert ledger[2].amount == Decimal("0.005")
    btc, usdt = Decimal("1"), Decimal("10000")
    for f in ledger:
        sign = 1 if f.side == "buy" else -1
        btc += sign * f.amount - (f.fee if f.fee_asset == "BTC" else 0)
        usdt -= sign * f.quote + (f.fee if f.fee_asset == "USDT" else 0)
    balances = fake.balances()
    assert (balances["BTC"]["total"], balances["USDT"]["total"]) == (btc, usdt)
    assert balances["BTC"]["locked"] == balances["USDT"]["locked"] == 0
    trades = client.fetch_my_trades("BTC/USDT")
    assert [(t["order"], t["price"], t["amount"], t["fee"]["cost"], t["fee"]["currency"]) for t in trades] == [
        (str(f.order_id), float(f.price), float(f.amount), float(f.fee), f.fee_asset) for f in ledger
    ]
    account = client.fetch_balance()
    assert (account["BTC"]["total"], account["USDT"]["total"]) == (float(btc), float(usdt))
