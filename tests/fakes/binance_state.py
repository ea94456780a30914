"""The state behind the fake Binance server: markets, recorded candles, clock, balances, orders.

Pure logic, no HTTP: each endpoint method returns the JSON payload Binance would send, or raises
:class:`BinanceError` with Binance's real error code and message (see
https://developers.binance.com/docs/binance-spot-api-docs/errors). :mod:`tests.fakes.fake_binance`
serves it over HTTP.
"""
from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak.core.markets import MarketLimits, default_limits, load_snapshot

TAKER_FEE = Decimal("0.001")
INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}


class BinanceError(Exception):
    """An error reply: HTTP ``status`` with body ``{"code": code, "msg": msg}``."""

    def __init__(self, status: int, code: int, msg: str):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _d(value: float | Decimal | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


def _s(value: float | Decimal) -> str:
    """Binance number text: 8 decimals (``"58720.45000000"``)."""
    return format(_d(value), ".8f")


class BinanceState:
    """Markets, candles, clock, balances and orders of the fake exchange (thread-safe via ``_lock``).

    Candles come from recorded real files (:meth:`load_csv`). The clock (:meth:`set_clock`)
    decides what exists: klines opening after it are not served, and the kline containing it is
    the still-forming one (served with its recorded values). Deliberate differences from Binance:
    the duplicate-client-id check covers every known order (Binance: open orders only), and a kline
    ``limit`` above 1000 is clamped. Market orders fill at :meth:`last_price` with a 0.1 % taker
    commission, in base currency on buys and quote currency on sells (Binance's default).
    """

    def __init__(self, notional_filter: str = "NOTIONAL", limits: dict[str, MarketLimits] | None = None):
        self.notional_filter = notional_filter
        self._limits = dict(limits) if limits is not None else load_snapshot("binanceus")
        self._candles: dict[tuple[str, str], pd.DataFrame] = {}
        self._markets: dict[str, tuple[str, str]] = {}       # "BTCUSDT" -> ("BTC", "USDT")
        self._lock = threading.RLock()
        self.clock_ms: int | None = None
        self.prices: dict[str, float] = {}
        self.balances: dict[str, Decimal] = {"USDT": Decimal("10000")}
        self.orders: dict[str, dict] = {}                      # clientOrderId -> order
        self.key_permissions = {"enableSpotAndMarginTrading": True, "enableWithdrawals": False}
        """What the API key may do (``GET /sapi/v1/account/apiRestrictions``); tests flip these."""
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

    def set_clock(self, ms: int) -> None:
        """Exchange time in UTC ms; ``None`` means just after the last loaded candle closed."""
        self.clock_ms = ms

    def now(self) -> int:
        if self.clock_ms is not None:
            return self.clock_ms
        ends = [int(f["timestamp"].iloc[-1]) + INTERVAL_MS[iv] for (_, iv), f in self._candles.items() if len(f)]
        return max(ends) if ends else int(time.time() * 1000)

    def set_balance(self, asset: str, free: float | str) -> None:
        self.balances[asset] = _d(free)

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
            notional.update({"applyMinToMarket": True, "maxNotional": "9000000.00000000", "applyMaxToMarket": False}
                            if self.notional_filter == "NOTIONAL" else {"applyToMarket": True})
            symbols.append({
                "symbol": market_id, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
                "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
                "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
                "allowTrailingStop": True, "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": _s(lim.price_tick), "maxPrice": "1000000.00000000",
                     "tickSize": _s(lim.price_tick)},
                    {"filterType": "LOT_SIZE", "minQty": _s(lim.min_amount),
                     "maxQty": _s(lim.max_amount if lim.max_amount is not None else 9_000_000),
                     "stepSize": _s(lim.amount_step)},
                    notional,
                ],
                "permissions": ["SPOT"], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            })
        return {"timezone": "UTC", "serverTime": self.now(), "exchangeFilters": [], "symbols": symbols,
                "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}]}

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
        hi = int(np.searchsorted(ts, hi, side="right"))   # nothing opens after "now"; the last may be forming
        if "startTime" in p:
            hi = min(hi, lo + limit)
        else:
            lo = max(lo, hi - limit)
        return self._kline_rows[(market_id, interval)].rows(lo, max(lo, hi))

    def ticker_price(self, p: dict[str, str]):
        if "symbol" in p:
            market_id = self._market(p)
            return {"symbol": market_id, "price": _s(self.last_price(market_id))}
        return [{"symbol": m, "price": _s(self.last_price(m))} for m in sorted(self._markets)]

    # -- signed endpoints -----------------------------------------------------------------------
    def new_order(self, p: dict[str, str]) -> dict:
        market_id = self._market(p)
        base, quote = self._markets[market_id]
        if p.get("type") != "MARKET":
            raise BinanceError(400, -1116, "Invalid orderType.")
        side = p.get("side")
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1117, "Invalid side.")
        try:
            qty = Decimal(p["quantity"])
        except Exception:
            raise BinanceError(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.") from None
        cid = p.get("newClientOrderId") or f"fake-{len(self.orders) + 1}"
        if cid in self.orders:
            raise BinanceError(400, -2010, "Duplicate order sent.")
        lim = self.limits(f"{base}/{quote}")
        step, min_qty = _d(lim.amount_step), _d(lim.min_amount)
        if qty < min_qty or (lim.max_amount is not None and qty > _d(lim.max_amount)) or (step and (qty - min_qty) % step):
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        price = self.last_price(market_id)
        cost = qty * price
        if cost < _d(lim.min_notional):
            raise BinanceError(400, -1013, f"Filter failure: {self.notional_filter}")
        have = self.balances.get(quote if side == "BUY" else base, Decimal(0))
        if have < (cost if side == "BUY" else qty):
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
        if side == "BUY":
            commission, asset = qty * TAKER_FEE, base
            self.balances[quote] = have - cost
            self.balances[base] = self.balances.get(base, Decimal(0)) + qty - commission
        else:
            commission, asset = cost * TAKER_FEE, quote
            self.balances[base] = have - qty
            self.balances[quote] = self.balances.get(quote, Decimal(0)) + cost - commission
        now = self.now()
        order = {"symbol": market_id, "orderId": len(self.orders) + 1, "orderListId": -1, "clientOrderId": cid,
                 "price": "0.00000000", "origQty": _s(qty), "executedQty": _s(qty),
                 "cummulativeQuoteQty": _s(cost), "status": "FILLED", "timeInForce": "GTC", "type": "MARKET",
                 "side": side, "workingTime": now, "selfTradePreventionMode": "NONE",
                 "_time": now, "_fill": {"price": _s(price), "qty": _s(qty), "commission": _s(commission),
                                         "commissionAsset": asset, "tradeId": len(self.orders) + 1}}
        self.orders[cid] = order
        reply = {k: v for k, v in order.items() if not k.startswith("_")}
        reply.update({"transactTime": now, "fills": [order["_fill"]]})
        return reply

    def _find_order(self, p: dict[str, str]) -> dict:
        market_id = self._market(p)
        for order in self.orders.values():
            if order["symbol"] == market_id and (order["clientOrderId"] == p.get("origClientOrderId")
                                                 or str(order["orderId"]) == p.get("orderId")):
                return order
        raise BinanceError(400, -2013, "Order does not exist.")

    def query_order(self, p: dict[str, str]) -> dict:
        order = self._find_order(p)
        reply = {k: v for k, v in order.items() if not k.startswith("_")}
        reply.update({"stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": order["_time"],
                      "updateTime": order["_time"], "isWorking": True, "origQuoteOrderQty": "0.00000000"})
        return reply

    def my_trades(self, p: dict[str, str]) -> list:
        market_id = self._market(p)
        out = []
        for order in self.orders.values():
            if order["symbol"] != market_id or ("orderId" in p and str(order["orderId"]) != p["orderId"]):
                continue
            fill = order["_fill"]
            out.append({"symbol": market_id, "id": fill["tradeId"], "orderId": order["orderId"], "orderListId": -1,
                        "price": fill["price"], "qty": fill["qty"], "quoteQty": order["cummulativeQuoteQty"],
                        "commission": fill["commission"], "commissionAsset": fill["commissionAsset"],
                        "time": order["_time"], "isBuyer": order["side"] == "BUY", "isMaker": False,
                        "isBestMatch": True})
        return out

    def account(self) -> dict:
        return {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
                "canTrade": True, "canWithdraw": True, "canDeposit": True, "updateTime": self.now(),
                "accountType": "SPOT", "permissions": ["SPOT"],
                "balances": [{"asset": a, "free": _s(v), "locked": "0.00000000"} for a, v in sorted(self.balances.items())]}


    def api_restrictions(self) -> dict:
        """Binance's "Get API Key Permission" reply (field set as documented, 2024)."""
        return {"ipRestrict": False, "createTime": 1698645219000, "enableReading": True,
                "enableInternalTransfer": False, "enableMargin": False, "enableFutures": False,
                "permitsUniversalTransfer": False, "enableVanillaOptions": False, "enableFixApiTrade": False,
                "enableFixReadOnly": False, "enablePortfolioMarginTrading": False, **self.key_permissions}


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
        return [[t, "%.8f" % o[i], "%.8f" % h[i], "%.8f" % l[i], "%.8f" % c[i], "%.8f" % v[i], t + self.step - 1,
                 "%.8f" % (v[i] * c[i]), 100, "%.8f" % (v[i] / 2), "%.8f" % (v[i] * c[i] / 2), "0"]
                for i, t in enumerate(ts)]
