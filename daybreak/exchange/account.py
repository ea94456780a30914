"""Prices and the account's balances through ccxt (mixed into :class:`~daybreak.exchange.client.Exchange`).

One request gives every configured symbol's last price: ``fetch_tickers(symbols)`` is Binance's
``GET /api/v3/ticker/24hr?symbols=[...]`` (weight 1 on Binance.US for up to 20 symbols, 20 for
up to 100; https://github.com/binance-us/binance-us-api-docs/blob/master/rest-api.md), where a
ticker request without symbols would ask for every market (weight 40). A reply without a price
is a temporary error (the market may be halted a moment), never a fatal one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from daybreak.exchange.base import ExchangeBase
from daybreak.exchange.errors import ExchangeUnavailable


@dataclass(frozen=True)
class Ticker:
    """Last price (quote per base) of one symbol, with best bid / ask when the exchange gave them
    and ``timestamp`` (UTC ms: the exchange's, else when it was read)."""

    symbol: str
    last: float
    bid: float | None
    ask: float | None
    timestamp: int


@dataclass(frozen=True)
class Balance:
    """One asset of the account: ``free`` (usable), ``used`` (locked in open orders), in that asset."""

    asset: str
    free: float
    used: float

    @property
    def total(self) -> float:
        return self.free + self.used


def _price(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and out > 0 else None


class AccountApi(ExchangeBase):
    """Ticker and balance methods of :class:`~daybreak.exchange.client.Exchange`."""

    def fetch_tickers(self, symbols: list[str]) -> dict[str, Ticker]:
        """Tickers of ``symbols`` in one request. A symbol whose reply has no usable price is
        left out (temporary: ask again next time)."""
        raw = self._read("fetch_tickers", None, self.client.fetch_tickers, list(symbols))
        now = self.now_ms()
        out = {}
        for symbol in symbols:
            entry = raw.get(symbol) if isinstance(raw, dict) else None
            if not entry:
                continue
            last = _price(entry.get("last"))
            if last is None:
                continue
            out[symbol] = Ticker(
                symbol, last, _price(entry.get("bid")), _price(entry.get("ask")), int(entry.get("timestamp") or now)
            )
        return out

    def fetch_last_price(self, symbol: str) -> float:
        """Last traded price of ``symbol`` (quote per base; one-symbol ticker request). Raises
        :class:`ExchangeUnavailable` when the reply has no price."""
        prices = self._read("fetch_last_price", symbol, self.client.fetch_last_prices, [symbol])
        entry = prices.get(symbol) if isinstance(prices, dict) else None
        price = _price(entry.get("price")) if entry else None
        if price is None:
            raise ExchangeUnavailable(
                f"{self.id} {symbol}: fetch_last_price failed (temporary): no price in the reply",
                self.id,
                symbol,
                "fetch_last_price",
            )
        return price

    def fetch_balance(self) -> dict[str, Balance]:
        """Every asset of the account with a free or locked amount (``GET /api/v3/account``)."""
        raw = self._read("fetch_balance", None, self.client.fetch_balance)
        free, used = raw.get("free") or {}, raw.get("used") or {}
        out = {}
        for asset in set(free) | set(used):
            f, u = float(free.get(asset) or 0.0), float(used.get(asset) or 0.0)
            if f or u:
                out[asset] = Balance(asset, f, u)
        return out

    def fetch_balance_free(self, currency: str) -> float:
        """Free (not locked in orders) balance of ``currency``; 0.0 when the account has none."""
        found = self.fetch_balance().get(currency)
        return found.free if found else 0.0
