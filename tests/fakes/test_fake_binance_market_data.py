"""The fake Binance's tickers, book and request weights, through real ccxt."""

from __future__ import annotations

import json

import ccxt
import pytest

from tests.fakes.fake_binance import FakeBinance
from tests.fixtures_exchange import sample_candles

DAY = sample_candles("BTC/USDT").iloc[-1440:]  # the clock sits just after the last candle


@pytest.fixture
def client(fake_binance):
    return fake_binance.ccxt()


def test_fetch_tickers_of_two_symbols_is_one_request(fake_binance, client):
    tickers = client.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert sorted(tickers) == ["BTC/USDT", "ETH/USDT"]
    (sent,) = fake_binance.requests_to("/api/v3/ticker/24hr")
    assert json.loads(sent.params["symbols"]) == ["BTCUSDT", "ETHUSDT"]
    btc = tickers["BTC/USDT"]
    assert btc["last"] == DAY["close"].iat[-1] == btc["bid"] == btc["ask"]
    assert (btc["open"], btc["high"], btc["low"]) == (DAY["open"].iat[0], DAY["high"].max(), DAY["low"].min())
    assert btc["baseVolume"] == pytest.approx(DAY["volume"].sum())
    assert fake_binance.weight_used("/api/v3/ticker/24hr") == 1  # Binance.US: 1 for up to 20 symbols
    client.fetch_tickers()
    assert fake_binance.weight_used("/api/v3/ticker/24hr") == 1 + 40


def test_last_prices_all_or_some_symbols(fake_binance, client):
    prices = client.fetch_last_prices()
    assert {s: p["price"] for s, p in prices.items()} == {
        "BTC/USDT": DAY["close"].iat[-1],
        "ETH/USDT": sample_candles("ETH/USDT")["close"].iat[-1],
    }
    assert "symbol" not in fake_binance.requests_to("/api/v3/ticker/price")[0].params
    some = client.publicGetTickerPrice({"symbols": json.dumps(["ETHUSDT"])})
    assert [entry["symbol"] for entry in some] == ["ETHUSDT"]
    assert fake_binance.weight_used("/api/v3/ticker/price") == 2 + 2
    with pytest.raises(ccxt.BadSymbol):
        client.publicGetTickerPrice({"symbols": json.dumps(["ETHUSDT", "NOPEUSDT"])})
    with pytest.raises(ccxt.BadRequest, match="-1128"):
        client.publicGetTickerPrice({"symbol": "BTCUSDT", "symbols": json.dumps(["ETHUSDT"])})


def test_bids_asks_and_order_book_follow_the_spread(fake_binance, client):
    fake_binance.set_spread("BTC/USDT", "0.0002")
    last = DAY["close"].iat[-1]
    quotes = client.fetch_bids_asks(["BTC/USDT", "ETH/USDT"])
    btc = quotes["BTC/USDT"]
    assert btc["bid"] < last < btc["ask"] and btc["ask"] - btc["bid"] == pytest.approx(last * 0.0002, abs=0.02)
    assert quotes["ETH/USDT"]["bid"] == quotes["ETH/USDT"]["ask"]
    assert len(fake_binance.requests_to("/api/v3/ticker/bookTicker")) == 1
    book = client.fetch_order_book("BTC/USDT", 5)
    assert (book["bids"][0][0], book["asks"][0][0]) == (btc["bid"], btc["ask"])
    assert [b[0] for b in book["bids"]] == pytest.approx([btc["bid"] - 0.01 * i for i in range(5)])
    assert len(book["asks"]) == 5 and book["asks"][-1][0] == pytest.approx(btc["ask"] + 0.04)
    fake_binance.set_price("BTC/USDT", 50_000)
    assert client.fetch_ticker("BTC/USDT")["last"] == 50_000


@pytest.mark.parametrize("flavor, weights", [("binance", [20, 2, 1, 4, 20]), ("binanceus", [10, 1, 1, 2, 10])])
def test_weight_used_follows_binance_tables(flavor, weights):
    with FakeBinance(weights=flavor) as fake:
        fake.add_candles("BTC/USDT", "1m", sample_candles("BTC/USDT"))
        client = fake.ccxt(flavor)
        client.load_markets()
        client.fetch_ohlcv("BTC/USDT", "1m", limit=10)
        order = client.create_order("BTC/USDT", "market", "buy", 0.001)
        client.fetch_order(order["id"], "BTC/USDT")
        client.fetch_balance()
        assert [r.weight for r in fake.requests] == weights
        assert fake.weight_used() == sum(weights)
        assert fake.request_counts() == {
            "/api/v3/exchangeInfo": 1,
            "/api/v3/klines": 1,
            "/api/v3/order": 2,
            "/api/v3/account": 1,
        }
        assert fake.request_counts("GET")["/api/v3/order"] == 1
        assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == str(sum(weights))
