"""The state behind the fake Binance server: markets, recorded candles, clock, prices, balances, orders.

Pure logic, no HTTP: each endpoint method returns the JSON payload Binance would send, or raises
:class:`BinanceError` with Binance's real error code and message (see
https://developers.binance.com/docs/binance-spot-api-docs/errors). :mod:`tests.fakes.fake_binance`
serves it over HTTP. Orders and their execution: :mod:`tests.fakes.binance_orders` and
:mod:`tests.fakes.binance_trading`.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak.core.markets import MarketLimits, default_limits, load_snapshot
from tests.fakes.binance_errors import BinanceError
from tests.fakes.binance_errors import d as _d
from tests.fakes.binance_errors import s as _s
from tests.fakes.binance_orders import Fill
from tests.fakes.binance_trading import TradingEndpoints

__all__ = ["BinanceError", "BinanceState", "Fill"]

TAKER_FEE = Decimal("0.001")
INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


class BinanceState(TradingEndpoints):
    """Markets, candles, clock, prices, balances and orders of the fake exchange (thread-safe via ``_lock``).

    Candles come from recorded real files (:meth:`load_csv`). The clock (:meth:`set_clock`)
    decides what exists: klines opening after it are not served, and the kline containing it is
    the still-forming one (served with its recorded values). The last price is the close of the
    newest closed kline, unless :meth:`set_price` overrides it; moving either (the clock over
    candles, or :meth:`set_price`) walks resting orders along the price path. Bid and ask are the
    last price unless :meth:`set_spread` opens a spread. Deliberate differences from Binance: the
    duplicate-client-id check covers every known order (Binance: open orders only), and a kline
    ``limit`` above 1000 is clamped. Orders: see :mod:`tests.fakes.binance_orders` (market orders
    fill at the ask / bid with a 0.1 % taker commission, in base currency on buys and quote
    currency on sells, Binance's default). ``weights``: whose request weights (and rate limit)
    to use, ``"binanceus"`` or ``"binance"`` (:mod:`tests.fakes.binance_weights`).
    """

    def __init__(
        self,
        notional_filter: str = "NOTIONAL",
        limits: dict[str, MarketLimits] | None = None,
        weights: str = "binanceus",
    ):
        self.notional_filter = notional_filter
        self.weights = weights
        self._limits = dict(limits) if limits is not None else load_snapshot("binanceus")
        self._candles: dict[tuple[str, str], pd.DataFrame] = {}
        self._markets: dict[str, tuple[str, str]] = {}  # "BTCUSDT" -> ("BTC", "USDT")
        self._lock = threading.RLock()
        self.clock_ms: int | None = None
        self.prices: dict[str, float] = {}  # symbol -> last price override
        self.spreads: dict[str, Decimal] = {}  # symbol -> (ask - bid) / last
        self.depth_qty = Decimal("10")  # quantity shown at each book level
        self.order_lists: dict[int, dict] = {}
        self.key_permissions = {"enableSpotAndMarginTrading": True, "enableWithdrawals": False}
        """What the API key may do (``GET /sapi/v1/account/apiRestrictions``); tests flip these."""
        self._init_orders()
        self._kline_rows: dict[tuple[str, str], _Klines] = {}

    # -- data -----------------------------------------------------------------------------------
    def load_csv(self, path: str | Path, symbol: str | None = None, interval: str | None = None) -> pd.DataFrame:
        """Serve the candles of a replay file (``BTC-USDT_1m.csv.gz`` -> BTC/USDT, 1m)."""
        name = Path(path).name.split(".")[0]
        pair, _, tf = name.partition("_")
        frame = pd.read_csv(path)
        self.add_candles(symbol or pair.replace("-", "/"), interval or tf, frame)
        return frame

    def add_candles(self, symbol: str, interval: str, frame: pd.DataFrame) -> None:
        """Serve ``frame`` (columns timestamp, open, high, low, close, volume) as ``symbol`` klines."""
        base, quote = symbol.split("/")
        frame = frame.sort_values("timestamp").reset_index(drop=True)
        rows = _Klines(frame, INTERVAL_MS[interval])
        with self._lock:
            self._markets[base + quote] = (base, quote)
            self._candles[(base + quote, interval)] = frame
            self._kline_rows[(base + quote, interval)] = rows

    def add_market(self, symbol: str, limits: MarketLimits | None = None) -> None:
        """List ``symbol`` in exchangeInfo (with ``limits``) even without candles."""
        base, quote = symbol.split("/")
        with self._lock:
            self._markets[base + quote] = (base, quote)
            if limits is not None:
                self._limits[symbol] = limits

    def limits(self, symbol: str) -> MarketLimits:
        """The filters this server applies to ``symbol`` (snapshot, else ``default_limits``)."""
        return self._limits.get(symbol) or default_limits(symbol)

    def set_clock(self, ms: int | None) -> None:
        """Exchange time in UTC ms; ``None`` means just after the last loaded candle closed.
        Moving it forward walks the resting orders of each market through the candles that closed
        meanwhile (open -> low -> high -> close, or open -> high -> low -> close on a down candle;
        a candle trades every price in its range, the step from one close to the next open is a gap)."""
        with self._lock:
            old = self.now() if self._open else None
            self.clock_ms, self._wall_offset = ms, None
            if old is None:
                return
            new = self.now()
            for market_id in sorted({o["symbol"] for o in self._open.values()}):
                if "/".join(self._markets[market_id]) not in self.prices and new > old:
                    self._move(market_id, self._candle_path(market_id, old, new))

    def _candle_path(self, market_id: str, old: int, new: int) -> list:
        frames = [(INTERVAL_MS[iv], f) for (mid, iv), f in self._candles.items() if mid == market_id and len(f)]
        if not frames:
            return []
        step, frame = min(frames, key=lambda sf: sf[0])
        ends = frame["timestamp"].to_numpy(np.int64) + step
        lo, hi = int(np.searchsorted(ends, old, side="right")), int(np.searchsorted(ends, new, side="right"))
        if lo >= hi:
            return []
        cols = [frame[c].to_numpy(np.float64)[max(lo - 1, 0) : hi].tolist() for c in ("open", "high", "low", "close")]
        o, h, l, c = ([_d(x) for x in col] for col in cols)
        first = 1 if lo > 0 else 0
        prev = c[0] if lo > 0 else o[0]
        segments = []
        for i in range(first, len(o)):
            at = int(ends[max(lo - 1, 0) + i])
            path = [o[i], l[i], h[i], c[i]] if c[i] >= o[i] else [o[i], h[i], l[i], c[i]]
            segments.append((prev, o[i], False, at))
            segments += [(a, b, True, at) for a, b in zip(path, path[1:])]
            prev = c[i]
        return segments

    def set_price(self, symbol: str, price: float | str | None) -> None:
        """Make ``price`` the last price of ``symbol`` (``None``: back to the candles). The move
        is a gap (only ``price`` trades): resting limit orders the price passed fill, in the order
        it reached them; stops it reached trigger at ``price``."""
        base, quote = symbol.split("/")
        with self._lock:
            if price is None:
                self.prices.pop(symbol, None)
                return
            try:
                old = self.last_price(base + quote)
            except BinanceError:
                old = None
            self.prices[symbol] = float(price) if isinstance(price, (int, float)) else price
            if old is not None:
                self._move(base + quote, [(old, _d(price), False, None)])

    def set_spread(self, symbol: str, spread: float | str) -> None:
        """Quote ``symbol`` with ask - bid = ``spread`` * last price (bid rounded down and ask up
        to the tick, around the last price); market orders then buy at the ask and sell at the bid."""
        self.spreads[symbol] = _d(spread)

    def book(self, market_id: str) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) of ``market_id``."""
        last = self.last_price(market_id)
        symbol = "/".join(self._markets[market_id])
        spread = self.spreads.get(symbol)
        if not spread:
            return last, last
        tick = _d(self.limits(symbol).price_tick)
        half = last * spread / 2
        bid = ((last - half) / tick).to_integral_value(ROUND_FLOOR) * tick
        ask = ((last + half) / tick).to_integral_value(ROUND_CEILING) * tick
        return bid, max(ask, bid + tick)

    def follow_wall_clock(self, offset_ms: int = 0) -> None:
        """Exchange time = the wall clock + ``offset_ms`` from now on (for a bot in another process,
        whose clock the test cannot set); resting orders then move only with :meth:`set_price`."""
        with self._lock:
            self.clock_ms, self._wall_offset = None, offset_ms

    def now(self) -> int:
        if self.clock_ms is not None:
            return self.clock_ms
        if getattr(self, "_wall_offset", None) is not None:
            return int(time.time() * 1000) + self._wall_offset
        ends = [int(f["timestamp"].iloc[-1]) + INTERVAL_MS[iv] for (_, iv), f in self._candles.items() if len(f)]
        return max(ends) if ends else int(time.time() * 1000)

    def set_balance(self, asset: str, free: float | str) -> None:
        """Set the free balance of ``asset`` (what is locked in orders stays locked)."""
        with self._lock:
            self._free[asset] = _d(free)

    def last_price(self, market_id: str) -> Decimal:
        """``prices`` override, else the close of the newest closed kline at the clock."""
        symbol = "/".join(self._markets[market_id])
        if symbol in self.prices:
            return _d(self.prices[symbol])
        now = self.now()
        for (mid, iv), frame in sorted(self._candles.items(), key=lambda kv: INTERVAL_MS[kv[0][1]]):
            if mid == market_id:
                closed = frame[frame["timestamp"].to_numpy() + INTERVAL_MS[iv] <= now]
                if len(closed):
                    return _d(float(closed["close"].iloc[-1]))
        raise BinanceError(400, -1121, "Invalid symbol.")

    # -- public endpoints -----------------------------------------------------------------------
    def _market(self, p: dict[str, str]) -> str:
        market_id = p.get("symbol")
        if market_id not in self._markets:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return market_id

    def exchange_info(self) -> dict:
        symbols = []
        for market_id, (base, quote) in sorted(self._markets.items()):
            lim = self.limits(f"{base}/{quote}")
            notional = {"filterType": self.notional_filter, "minNotional": _s(lim.min_notional), "avgPriceMins": 5}
            notional.update(
                {"applyMinToMarket": True, "maxNotional": "9000000.00000000", "applyMaxToMarket": False}
                if self.notional_filter == "NOTIONAL"
                else {"applyToMarket": True}
            )
            symbols.append(
                {
                    "symbol": market_id,
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": [
                        "LIMIT",
                        "LIMIT_MAKER",
                        "MARKET",
                        "STOP_LOSS",
                        "STOP_LOSS_LIMIT",
                        "TAKE_PROFIT",
                        "TAKE_PROFIT_LIMIT",
                    ],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": True,
                    "cancelReplaceAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": _s(lim.price_tick),
                            "maxPrice": "1000000.00000000",
                            "tickSize": _s(lim.price_tick),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": _s(lim.min_amount),
                            "maxQty": _s(lim.max_amount if lim.max_amount is not None else 9_000_000),
                            "stepSize": _s(lim.amount_step),
                        },
                        notional,
                    ],
                    "permissions": ["SPOT"],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.now(),
            "exchangeFilters": [],
            "symbols": symbols,
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 1200 if self.weights == "binanceus" else 6000,
                }
            ],
        }

    def klines(self, p: dict[str, str]) -> list:
        market_id = self._market(p)
        interval = p.get("interval", "")
        frame = self._candles.get((market_id, interval))
        if frame is None:
            raise BinanceError(400, -1120, "Invalid interval.")
        limit = min(int(p.get("limit", 500)), 1000)
        ts = frame["timestamp"].to_numpy(np.int64)
        hi = min(int(p["endTime"]), self.now()) if "endTime" in p else self.now()
        lo = int(np.searchsorted(ts, int(p["startTime"]), side="left")) if "startTime" in p else 0
        hi = int(np.searchsorted(ts, hi, side="right"))  # nothing opens after "now"; the last may be forming
        if "startTime" in p:
            hi = min(hi, lo + limit)
        else:
            lo = max(lo, hi - limit)
        return self._kline_rows[(market_id, interval)].rows(lo, max(lo, hi))

    def _market_ids(self, p: dict[str, str]) -> list[str] | None:
        """The markets ``symbol`` or ``symbols`` (a JSON array) name; None when neither is sent."""
        if "symbol" in p and "symbols" in p:
            raise BinanceError(400, -1128, "Combination of optional parameters invalid.")
        if "symbol" in p:
            return [self._market(p)]
        if "symbols" not in p:
            return None
        try:
            ids = json.loads(p["symbols"])
        except ValueError:
            raise BinanceError(400, -1100, "Illegal characters found in parameter 'symbols'.") from None
        for market_id in ids:
            self._market({"symbol": market_id})
        return list(ids)

    def _tickers(self, p: dict[str, str], one) -> dict | list:
        ids = self._market_ids(p)
        if ids is not None:
            out = [one(m) for m in ids]
            return out[0] if "symbol" in p else out
        out = []
        for market_id in sorted(self._markets):
            try:
                out.append(one(market_id))
            except BinanceError:
                pass  # listed, but no price yet
        return out

    def ticker_price(self, p: dict[str, str]):
        """``GET /api/v3/ticker/price``: one (``symbol``), some (``symbols``) or all markets."""
        return self._tickers(p, lambda m: {"symbol": m, "price": _s(self.last_price(m))})

    def _book_ticker(self, market_id: str) -> dict:
        bid, ask = self.book(market_id)
        qty = _s(self.depth_qty)
        return {"symbol": market_id, "bidPrice": _s(bid), "bidQty": qty, "askPrice": _s(ask), "askQty": qty}

    def book_ticker(self, p: dict[str, str]):
        """``GET /api/v3/ticker/bookTicker``: best bid and ask, like :meth:`ticker_price`."""
        return self._tickers(p, self._book_ticker)

    def _ticker_24hr(self, market_id: str) -> dict:
        last = self.last_price(market_id)
        now = self.now()
        open_, high, low, volume, quote_volume = last, last, last, Decimal(0), Decimal(0)
        frames = [(INTERVAL_MS[iv], f) for (mid, iv), f in self._candles.items() if mid == market_id and len(f)]
        if frames:
            step, frame = min(frames, key=lambda sf: sf[0])
            ends = frame["timestamp"].to_numpy(np.int64) + step
            day = frame[(ends <= now) & (ends > now - 86_400_000)]
            if len(day):
                open_, high, low = (
                    _d(float(day["open"].iloc[0])),
                    _d(float(day["high"].max())),
                    _d(float(day["low"].min())),
                )
                volume = _d(float(day["volume"].sum()))
                quote_volume = _d(float((day["volume"] * day["close"]).sum()))
        bid, ask = self.book(market_id)
        change = last - open_
        return {
            "symbol": market_id,
            "priceChange": _s(change),
            "priceChangePercent": format(change / open_ * 100, ".3f") if open_ else "0.000",
            "weightedAvgPrice": _s(quote_volume / volume if volume else last),
            "prevClosePrice": _s(open_),
            "lastPrice": _s(last),
            "lastQty": "0.00100000",
            "bidPrice": _s(bid),
            "bidQty": _s(self.depth_qty),
            "askPrice": _s(ask),
            "askQty": _s(self.depth_qty),
            "openPrice": _s(open_),
            "highPrice": _s(high),
            "lowPrice": _s(low),
            "volume": _s(volume),
            "quoteVolume": _s(quote_volume),
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": 1,
            "lastId": 1000,
            "count": 1000,
        }

    def ticker_24hr(self, p: dict[str, str]):
        """``GET /api/v3/ticker/24hr``: statistics over the candles that closed in the last 24 h."""
        return self._tickers(p, self._ticker_24hr)

    def depth(self, p: dict[str, str]) -> dict:
        """``GET /api/v3/depth``: ``limit`` levels (default 100, at most 1000 here) a tick apart
        from the best bid / ask, ``depth_qty`` each."""
        market_id = self._market(p)
        limit = min(int(p.get("limit") or 100), 1000)
        bid, ask = self.book(market_id)
        tick = _d(self.limits("/".join(self._markets[market_id])).price_tick)
        qty = _s(self.depth_qty)
        return {
            "lastUpdateId": self.now(),
            "bids": [[_s(bid - i * tick), qty] for i in range(limit) if bid - i * tick > 0],
            "asks": [[_s(ask + i * tick), qty] for i in range(limit)],
        }


class _Klines:
    """Binance kline arrays of a candle frame, built per request. Row: ``[open time, "open",
    "high", "low", "close", "volume", close time, "quote volume", trades, "taker buy base",
    "taker buy quote", "0"]``. Numbers use 8 decimals like Binance (exact for recorded data: at
    most 8 decimals, below 1e7); the quote volumes and trade counts are synthetic."""

    def __init__(self, frame: pd.DataFrame, step: int):
        self.ts = frame["timestamp"].to_numpy(np.int64)
        self.step = step
        self.values = [frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]

    def rows(self, lo: int, hi: int) -> list[list]:
        ts = self.ts[lo:hi].tolist()
        o, h, l, c, v = (col[lo:hi].tolist() for col in self.values)
        return [
            [
                t,
                "%.8f" % o[i],
                "%.8f" % h[i],
                "%.8f" % l[i],
                "%.8f" % c[i],
                "%.8f" % v[i],
                t + self.step - 1,
                "%.8f" % (v[i] * c[i]),
                100,
                "%.8f" % (v[i] / 2),
                "%.8f" % (v[i] * c[i] / 2),
                "0",
            ]
            for i, t in enumerate(ts)
        ]
