"""Request weights the fake Binance charges, per endpoint, as Binance documents them.

Two tables: ``"binance"`` (https://github.com/binance/binance-spot-api-docs, rest-api.md; limit
6000 per minute) and ``"binanceus"`` (https://github.com/binance-us/binance-us-api-docs,
rest-api.md; limit 1200 per minute, most weights half of Binance's). Endpoints whose weight
depends on the parameters (``symbol`` present, number of ``symbols``, depth ``limit``,
``orderId`` on myTrades) are computed in :func:`request_weight`.
"""

from __future__ import annotations

import json

FLAVORS = ("binance", "binanceus")

_FIXED = {
    # (method, path): (binance, binanceus)
    ("GET", "/api/v3/ping"): (1, 1),
    ("GET", "/api/v3/time"): (1, 1),
    ("GET", "/api/v3/exchangeInfo"): (20, 10),
    ("GET", "/api/v3/klines"): (2, 1),
    ("POST", "/api/v3/order"): (1, 1),
    ("GET", "/api/v3/order"): (4, 2),
    ("DELETE", "/api/v3/order"): (1, 1),
    ("DELETE", "/api/v3/openOrders"): (1, 1),
    ("POST", "/api/v3/order/cancelReplace"): (1, 1),
    ("POST", "/api/v3/order/oco"): (1, 1),
    ("POST", "/api/v3/orderList/oco"): (1, 1),
    ("DELETE", "/api/v3/orderList"): (1, 1),
    ("GET", "/api/v3/account"): (20, 10),
    ("GET", "/sapi/v1/account/apiRestrictions"): (1, 1),
}
_DEPTH = {
    "binance": ((100, 5), (500, 25), (1000, 50), (5000, 250)),
    "binanceus": ((100, 1), (500, 5), (1000, 10), (5000, 50)),
}


def _symbols_count(params: dict[str, str]) -> int | None:
    """Number of symbols asked for: 1 for ``symbol``, len(``symbols``), None when neither."""
    if "symbol" in params:
        return 1
    if "symbols" in params:
        try:
            return len(json.loads(params["symbols"]))
        except (ValueError, TypeError):
            return 1
    return None


def request_weight(flavor: str, method: str, path: str, params: dict[str, str]) -> int:
    """The weight ``flavor`` (``"binance"`` or ``"binanceus"``) assigns one request."""
    us = flavor == "binanceus"
    if (method, path) in _FIXED:
        return _FIXED[(method, path)][us]
    n = _symbols_count(params)
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        return (1 if us else 2) if "symbol" in params else (2 if us else 4)
    if path == "/api/v3/ticker/24hr":
        if n is None or n > 100:
            return 40 if us else 80
        return (20 if us else 40) if n > 20 else (1 if us else 2)
    if path == "/api/v3/depth":
        limit = int(params.get("limit") or 100)
        for top, weight in _DEPTH[flavor]:
            if limit <= top:
                return weight
        return _DEPTH[flavor][-1][1]
    if path == "/api/v3/openOrders":
        return (3 if us else 6) if "symbol" in params else (40 if us else 80)
    if path == "/api/v3/myTrades":
        return 10 if us else (5 if "orderId" in params else 20)
    return 1
