"""Exchange access: real ccxt (binanceus / binance) against the local fake speaking Binance's REST format."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from daybreak.core.markets import MarketLimits
from daybreak.exchange.client import (
    Exchange,
    ExchangeFatal,
    ExchangeUnavailable,
    OrderOutcomeUnknown,
    OrderRejected,
)
from tests.fakes.fake_binance import FakeBinance
from tests.fixtures_exchange import exchange_for, sample_candles

MINUTE = 60_000
BTC = sample_candles("BTC/USDT")
T0 = int(BTC["timestamp"].iloc[0])


def _frame(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.reset_index(drop=True)


# -- candles -------------------------------------------------------------------------------------
def test_forming_candle_is_dropped_using_the_exchange_clock(fake_binance, fake_exchange):
    fake_binance.set_clock(T0 + 1500 * MINUTE + 30_000)  # 30 s into candle #1500
    candles = fake_exchange.fetch_closed_candles("BTC/USDT", "1m")
    served = fake_binance.requests_to("/api/v3/klines")[-1]
    assert served.params["limit"] == "1000"
    assert candles["timestamp"].iloc[-1] == T0 + 1499 * MINUTE  # the forming #1500 is not there
    pd.testing.assert_frame_equal(candles, _frame(BTC.iloc[501:1500]), check_exact=True)


def test_a_candle_closing_exactly_now_counts_as_closed(fake_binance, fake_exchange):
    now = T0 + 1500 * MINUTE
    fake_binance.set_clock(now)
    candles = fake_exchange.fetch_closed_candles("BTC/USDT", "1m", since=T0 + 1490 * MINUTE, now_ms=now)
    assert list(candles["timestamp"]) == [T0 + i * MINUTE for i in range(1490, 1500)]


def test_candle_frame_has_the_documented_shape(fake_exchange):
    candles = fake_exchange.fetch_closed_candles("ETH/USDT", "1m", since=T0, limit=5)
    assert list(candles.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert candles.dtypes.astype(str).tolist() == ["int64"] + ["float64"] * 5
    pd.testing.assert_frame_equal(candles, _frame(sample_candles("ETH/USDT").iloc[:5]), check_exact=True)


def test_history_is_paginated_past_1000_candles_and_equals_the_source(fake_binance, fake_exchange):
    fake_binance.set_clock(T0 + 2500 * MINUTE + 1)
    history = fake_exchange.fetch_history("BTC/USDT", "1m", since=T0)
    pages = fake_binance.requests_to("/api/v3/klines")
    assert [int(r.params["startTime"]) for r in pages] == [T0, T0 + 1000 * MINUTE, T0 + 2000 * MINUTE]
    pd.testing.assert_frame_equal(history, _frame(BTC.iloc[:2500]), check_exact=True)


def test_history_stops_at_until_exclusive(fake_exchange):
    history = fake_exchange.fetch_history("BTC/USDT", "1m", since=T0 + 10 * MINUTE, until=T0 + 20 * MINUTE)
    assert list(history["timestamp"]) == [T0 + i * MINUTE for i in range(10, 20)]


# -- markets ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("exchange_id, notional_filter", [("binanceus", "MIN_NOTIONAL"), ("binance", "NOTIONAL")])
def test_load_markets_returns_the_exchange_filters(exchange_id, notional_filter):
    with FakeBinance(notional_filter=notional_filter) as fake:
        fake.add_candles("BTC/USDT", "1m", BTC)
        fake.add_market("ETH/USDT")
        fake.add_market("SHIB/USDT", MarketLimits("SHIB/USDT", 1000.0, 1e-8, 1000.0, 5.0, 9.2e10))
        limits = exchange_for(fake, exchange_id).load_markets()
        assert limits == {s: fake.limits(s) for s in ("BTC/USDT", "ETH/USDT", "SHIB/USDT")}
        # spot only: no margin, futures or currency endpoints were needed
        assert {r.path for r in fake.requests} == {"/api/v3/exchangeInfo"}


# -- temporary failures --------------------------------------------------------------------------
def test_exchange_down_raises_unavailable_after_bounded_retries(fake_binance, fake_exchange):
    fake_exchange.load_markets()
    fake_binance.go_down("503")
    with pytest.raises(ExchangeUnavailable, match=r"binanceus BTC/USDT: fetch_ohlcv failed .*after 3 attempts"):
        fake_exchange.fetch_history("BTC/USDT", "1m", since=T0)
    assert len(fake_binance.requests_to("/api/v3/klines")) == 3
    assert len(fake_binance.requests_to("/api/v3/time")) == 1  # the clock sync is best effort, not retried
    assert fake_exchange.sleeps == [0.25, 0.5]  # exponential back-off between attempts


def test_backoff_is_capped(fake_binance):
    exchange = exchange_for(fake_binance, retries=5, backoff_base_seconds=1.0, backoff_max_seconds=3.0)
    fake_binance.go_down("reset")
    with pytest.raises(ExchangeUnavailable):
        exchange.fetch_last_price("BTC/USDT")
    assert exchange.sleeps == [1.0, 2.0, 3.0, 3.0]


def test_connection_refused_is_temporary(fake_binance, fake_exchange):
    fake_exchange.load_markets()
    fake_binance.refuse_connections()
    try:
        with pytest.raises(ExchangeUnavailable, match="temporary"):
            fake_exchange.fetch_last_price("BTC/USDT")
    finally:
        fake_binance.accept_connections()


def test_a_short_outage_is_ridden_out(fake_binance, fake_exchange):
    fake_binance.go_down("503", count=2, path="/api/v3/klines")
    candles = fake_exchange.fetch_closed_candles("BTC/USDT", "1m", since=T0, limit=3, now_ms=T0 + 10 * MINUTE)
    assert len(candles) == 3
    assert len(fake_binance.requests_to("/api/v3/klines")) == 3


def test_rate_limit_429_waits_for_retry_after(fake_binance, fake_exchange):
    fake_exchange.load_markets()
    fake_binance.rate_limit(count=1, retry_after=3)
    assert fake_exchange.fetch_last_price("BTC/USDT") == BTC["close"].iloc[-1]
    assert fake_exchange.sleeps == [3.0]  # Retry-After, not the 0.25 s back-off


# -- fatal errors ----------------------------------------------------------------------------------
def test_unknown_symbol_is_fatal_and_not_retried(fake_binance, fake_exchange):
    with pytest.raises(ExchangeFatal, match="binanceus DOGE/EUR: fetch_ohlcv failed: BadSymbol"):
        fake_exchange.fetch_closed_candles("DOGE/EUR", "1m")
    assert fake_exchange.sleeps == []


def test_bad_credentials_are_fatal(fake_binance):
    with pytest.raises(ExchangeFatal, match="AuthenticationError"):
        exchange_for(fake_binance, secret="wrong-secret").fetch_balance_free("USDT")
    with pytest.raises(ExchangeFatal, match="AuthenticationError"):
        exchange_for(fake_binance, api_key="wrong-key").fetch_balance_free("USDT")


def test_unknown_exchange_id_is_fatal():
    with pytest.raises(ExchangeFatal, match="nosuchexchange: not a ccxt exchange id"):
        Exchange("nosuchexchange")


# -- orders ----------------------------------------------------------------------------------------
def test_market_buy_fills_at_the_last_price_with_fee_in_quote(fake_binance, fake_exchange):
    price = BTC["close"].iloc[-1]
    result = fake_exchange.create_market_order("BTC/USDT", "buy", 0.01, "db-buy-1")
    assert (result.client_order_id, result.symbol, result.side, result.status) == (
        "db-buy-1",
        "BTC/USDT",
        "buy",
        "filled",
    )
    assert result.amount == result.filled == 0.01 and result.average == price and result.type == "market"
    assert result.fee == pytest.approx(0.01 * 0.001 * price)  # 0.1 % taker, charged in BTC, reported in USDT
    assert result.fee_base == pytest.approx(0.01 * 0.001)  # ... so the account holds amount - fee_base
    assert (
        fake_exchange.fetch_balance_free("BTC")
        == pytest.approx(result.received)
        == pytest.approx(0.01 - result.fee_base)
    )
    assert result.fee_currency == "BTC"
    assert fake_exchange.fetch_balance_free("USDT") == pytest.approx(10_000 - 0.01 * price)
    sent = fake_binance.requests_to("/api/v3/order", "POST")[0].params
    assert (sent["type"], sent["side"], sent["quantity"], sent["newClientOrderId"]) == (
        "MARKET",
        "BUY",
        "0.01",
        "db-buy-1",
    )


def test_order_below_min_notional_is_rejected_with_binance_reason(fake_binance, fake_exchange):
    fake_binance.set_balance("BTC", "1")
    with pytest.raises(OrderRejected, match="Filter failure: MIN_NOTIONAL|Filter failure: NOTIONAL"):
        fake_exchange.create_market_order("BTC/USDT", "sell", 0.00001, "db-tiny")  # ~0.55 USDT < 1 USDT
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 1  # refused orders are not re-sent
    assert fake_binance.orders == {}


def test_insufficient_funds_and_sub_step_amounts_are_rejected(fake_binance, fake_exchange):
    with pytest.raises(OrderRejected, match="InsufficientFunds"):
        fake_exchange.create_market_order("BTC/USDT", "sell", 0.01, "db-no-btc")
    with pytest.raises(OrderRejected, match="InvalidOrder"):
        fake_exchange.create_market_order("BTC/USDT", "buy", 0.000001, "db-dust")  # below one 0.00001 step


def test_timed_out_order_is_looked_up_by_client_id_and_not_sent_twice(fake_binance):
    exchange = exchange_for(fake_binance, timeout_ms=300)
    exchange.load_markets()
    fake_binance.timeout_next_order(1.0)
    result = exchange.create_market_order("BTC/USDT", "buy", 0.01, "db-slow-1")
    assert result.client_order_id == "db-slow-1" and result.filled == 0.01 and result.status == "filled"
    assert result.fee == pytest.approx(0.01 * 0.001 * BTC["close"].iloc[-1])
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 1
    lookups = fake_binance.requests_to("/api/v3/order", "GET")
    assert [r.params["origClientOrderId"] for r in lookups] == ["db-slow-1"]
    assert len(fake_binance.orders) == 1


def test_lost_order_is_reported_unknown_not_resent(fake_binance, fake_exchange):
    """A request lost in transit may still reach the exchange within its recvWindow: "not found"
    right away means "unknown", and the order is never sent again from here."""
    fake_exchange.load_markets()
    fake_binance.drop_next_order()
    with pytest.raises(OrderOutcomeUnknown, match="db-lost-1 not found on the exchange \\(yet\\)"):
        fake_exchange.create_market_order("BTC/USDT", "buy", 0.01, "db-lost-1")
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 1
    assert fake_binance.orders == {}


def test_timed_out_order_whose_lookup_fails_is_reported_as_unknown(fake_binance):
    exchange = exchange_for(fake_binance, timeout_ms=300)
    exchange.load_markets()
    fake_binance.timeout_next_order(1.0)
    fake_binance.go_down("503", after=1, path="/api/v3/order")  # the POST goes through, the look-ups fail
    with pytest.raises(OrderOutcomeUnknown, match="db-unknown-1 failed too .* it may exist"):
        exchange.create_market_order("BTC/USDT", "buy", 0.01, "db-unknown-1")
    assert len(fake_binance.requests_to("/api/v3/order", "POST")) == 1
    assert len(fake_binance.requests_to("/api/v3/order", "GET")) == 3  # bounded read retries
    fake_binance.come_back()
    assert exchange.fetch_order_by_client_id("BTC/USDT", "db-unknown-1").filled == 0.01  # it did exist


def test_order_lookup(fake_binance, fake_exchange):
    assert fake_exchange.fetch_order_by_client_id("BTC/USDT", "db-never-sent") is None
    fake_binance.set_balance("ETH", "2")
    placed = fake_exchange.create_market_order("ETH/USDT", "sell", 1.5, "db-eth-sell")
    found = fake_exchange.fetch_order_by_client_id("ETH/USDT", "db-eth-sell")
    assert found == placed
    assert found.fee == pytest.approx(1.5 * found.average * 0.001)  # charged in USDT on a sell
    assert found.fee_base == 0.0


def test_bad_order_arguments_are_refused_before_sending(fake_binance, fake_exchange):
    with pytest.raises(ValueError, match="side = 'short'"):
        fake_exchange.create_market_order("BTC/USDT", "short", 0.01, "db-x")
    with pytest.raises(ValueError, match="amount = -1"):
        fake_exchange.create_market_order("BTC/USDT", "buy", -1, "db-x")
    assert fake_binance.requests_to("/api/v3/order") == []


def test_an_expired_market_order_reports_no_fill(fake_binance, fake_exchange):
    fake_binance.expire_next_market_order()
    result = fake_exchange.create_market_order("BTC/USDT", "buy", 0.01, "db-expired-1")
    assert (result.status, result.filled, result.average, result.fee) == ("expired", 0.0, 0.0, 0.0)


def test_a_partial_fill_reports_what_filled_and_its_fee(fake_binance, fake_exchange):
    fake_binance.partial_fill_next(0.5)
    placed = fake_exchange.create_market_order("BTC/USDT", "buy", 0.02, "db-part-1")
    found = fake_exchange.fetch_order_by_client_id("BTC/USDT", "db-part-1")
    for r in (placed, found):  # the reply and the look-up (fees from the order's trades) agree
        assert (r.status, r.amount, r.filled) == ("expired", 0.02, 0.01)
        assert r.fee_base == pytest.approx(0.01 * 0.001) and r.fee == pytest.approx(0.01 * 0.001 * r.average)
    (fill,) = fake_binance.ledger()
    assert float(fill.amount) == found.filled and float(fill.price) == found.average


def test_tickers_of_the_configured_symbols_come_in_one_request(fake_binance, fake_exchange):
    fake_exchange.load_markets()
    before = len(fake_binance.requests)
    tickers = fake_exchange.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert tickers["BTC/USDT"].last == BTC["close"].iloc[-1]
    (req,) = [r for r in fake_binance.requests[before:] if r.path.startswith("/api/v3/ticker")]
    assert req.path == "/api/v3/ticker/24hr" and json.loads(req.params["symbols"]) == ["BTCUSDT", "ETHUSDT"]
    assert req.weight == 1


def test_balance_has_free_and_locked(fake_binance, fake_exchange):
    fake_binance.set_balance("BTC", "0.5")
    balance = fake_exchange.fetch_balance()
    assert (balance["BTC"].free, balance["BTC"].used, balance["USDT"].total) == (0.5, 0.0, 10_000.0)


def test_several_symbols_candles_are_fetched_at_once(fake_binance, fake_exchange):
    fake_exchange.load_markets()
    now = fake_binance.now()
    since = now - 10 * 60_000
    replies = fake_exchange.fetch_candles_many({"BTC/USDT": since, "ETH/USDT": since}, "1m", now)
    for reply in replies.values():
        assert len(reply.closed) == 10 and int(reply.closed["timestamp"].iat[-1]) + 60_000 <= now
    fake_exchange.close()
