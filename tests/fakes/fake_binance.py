"""A threaded HTTP server on 127.0.0.1 speaking Binance's spot REST wire format, so real ccxt runs.

Formats follow the Binance spot API (https://developers.binance.com/docs/binance-spot-api-docs/
rest-api) as ccxt's ``binance.py`` parses them: klines are arrays of 12 with prices as strings,
errors are ``{"code": -1013, "msg": "Filter failure: NOTIONAL"}`` with HTTP 400, signed endpoints
need ``X-MBX-APIKEY`` and an HMAC-SHA256 ``signature`` of the query string or form body. Served:

* public: ``GET /api/v3/ping``, ``/time``, ``/exchangeInfo``, ``/klines``, ``/ticker/price``,
  ``/ticker/bookTicker``, ``/ticker/24hr`` (each: ``symbol``, ``symbols=["A","B"]`` or all),
  ``/depth``;
* signed: ``POST /api/v3/order`` (MARKET, LIMIT, LIMIT_MAKER, STOP_LOSS(_LIMIT),
  TAKE_PROFIT(_LIMIT); filters; balances and locks), ``GET`` / ``DELETE /api/v3/order``
  (``origClientOrderId`` or ``orderId``), ``GET`` / ``DELETE /api/v3/openOrders``,
  ``POST /api/v3/order/oco``, ``POST /api/v3/orderList/oco``, ``DELETE /api/v3/orderList``,
  ``POST /api/v3/order/cancelReplace``, ``GET /api/v3/myTrades``, ``GET /api/v3/account``,
  ``GET /sapi/v1/account/apiRestrictions`` (the key's permissions).

Exchange behaviour (candles, clock, prices, filters, orders) lives in :class:`BinanceState`. Test
hooks here: :meth:`FakeBinance.go_down` (HTTP 503 or dropped connections, optionally after N good
requests), :meth:`~FakeBinance.refuse_connections` (nothing listens: connection refused),
:meth:`~FakeBinance.rate_limit` (HTTP 429 + ``Retry-After``), :meth:`~FakeBinance.timeout_next_order`
(the order is created, the reply comes too late), :meth:`~FakeBinance.drop_next_order` (the
request is lost before it is processed), :meth:`~FakeBinance.lose_next_reply` /
:meth:`~FakeBinance.lose_next_cancel_reply` (processed, then the connection drops without a reply).
Every request that reaches the server is recorded in :attr:`FakeBinance.requests` with the weight
Binance charges for it (:meth:`~FakeBinance.weight_used`, :meth:`~FakeBinance.request_counts`;
replies carry ``X-MBX-USED-WEIGHT-1M``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from daybreak.core.markets import MarketLimits
from tests.fakes.binance_state import BinanceError, BinanceState, Fill
from tests.fakes.binance_weights import request_weight

_SIGNED = {
    "/api/v3/order",
    "/api/v3/account",
    "/sapi/v1/account/apiRestrictions",
    "/api/v3/myTrades",
    "/api/v3/openOrders",
    "/api/v3/order/oco",
    "/api/v3/orderList/oco",
    "/api/v3/orderList",
    "/api/v3/order/cancelReplace",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it: ``params`` merges query string and form body."""

    method: str
    path: str
    params: dict[str, str]
    weight: int = 0  # what Binance charges for it (0: failed by a test hook)
    at: float = field(default=0.0, compare=False)  # wall-clock time it arrived
    status: int = 0  # HTTP status of the reply (0: none was sent)
    code: int = 0  # Binance's error code of the reply (0: no error)


@dataclass
class _ReplyFault:
    method: str
    path: str
    delay: float | None  # seconds to hold the reply; None: drop the connection instead


@dataclass
class _Fault:
    mode: str  # "503" | "reset" | "429" | "418"
    skip: int  # good requests to let through first
    count: int | None  # failing requests, None = until come_back()
    path: str | None
    retry_after: int = 1


class FakeBinance(BinanceState):
    """The fake exchange over HTTP. Use as a context manager or call :meth:`start` / :meth:`stop`.

    ``api_key`` / ``secret``: the credentials signed requests must carry. ``notional_filter``:
    ``"NOTIONAL"`` (Binance since 2023) or ``"MIN_NOTIONAL"`` (older, still on some Binance.US
    dumps). ``limits``: filters per symbol (default: Daybreak's Binance.US snapshot). ``weights``:
    ``"binanceus"`` or ``"binance"``, whose request weights to charge.
    """

    def __init__(
        self,
        api_key: str = "daybreak-test-key",
        secret: str = "daybreak-test-secret",
        notional_filter: str = "NOTIONAL",
        limits: dict[str, MarketLimits] | None = None,
        weights: str = "binanceus",
    ):
        super().__init__(notional_filter, limits, weights)
        self.api_key, self.secret = api_key, secret
        self._faults: list[_Fault] = []
        self._reply_faults: list[_ReplyFault] = []
        self._drops: list[tuple[str, str]] = []
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0
        """Seconds every reply waits (a network round trip to a distant exchange)."""
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeBinance:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like Binance: fewer TCP handshakes
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms ACK wait)

            def setup(self):
                super().setup()
                with fake._lock:
                    fake._connections.add(self.connection)

            def finish(self):
                with fake._lock:
                    fake._connections.discard(self.connection)
                super().finish()

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

            def do_DELETE(self):
                fake._handle(self, "DELETE")

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server, self.port = server, server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and cut the open keep-alive connections (clients see them drop)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FakeBinance:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ccxt_urls(self) -> dict[str, str]:
        """Overrides for ccxt's ``urls['api']`` pointing binance/binanceus at this server."""
        return {
            "public": f"{self.url}/api/v3",
            "private": f"{self.url}/api/v3",
            "v1": f"{self.url}/api/v1",
            "sapi": f"{self.url}/sapi/v1",
        }

    # -- test hooks -----------------------------------------------------------------------------
    def go_down(self, mode: str = "503", after: int = 0, count: int | None = None, path: str | None = None) -> None:
        """Fail requests (to ``path`` if given) with HTTP 503 (``mode="503"``), by closing the
        connection without a reply (``"reset"``), or with Binance's rate-limit answers 429 / 418
        (``"429"``, ``"418"``: IP banned), after ``after`` good ones, ``count`` times (``None``:
        until :meth:`come_back`)."""
        with self._lock:
            self._faults.append(_Fault(mode, after, count, path))

    def rate_limit(self, count: int = 1, retry_after: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` requests with HTTP 429, ``Retry-After: retry_after`` and
        Binance's ``{"code": -1003, ...}`` body."""
        with self._lock:
            self._faults.append(_Fault("429", 0, count, path, retry_after))

    def come_back(self) -> None:
        with self._lock:
            self._faults.clear()

    def refuse_connections(self) -> None:
        """Stop listening: clients get ECONNREFUSED until :meth:`accept_connections`."""
        self.stop()

    def accept_connections(self) -> None:
        self.start()

    def timeout_next_order(self, delay_seconds: float, method: str = "POST", path: str = "/api/v3/order") -> None:
        """The next POST /api/v3/order (or ``method`` ``path``) is executed, but its reply waits
        ``delay_seconds``."""
        with self._lock:
            self._reply_faults.append(_ReplyFault(method, path, delay_seconds))

    def drop_next_order(self, method: str = "POST", path: str = "/api/v3/order") -> None:
        """The next POST /api/v3/order (or ``method`` ``path``) is lost: connection closed before
        it is processed, no order created."""
        with self._lock:
            self._drops.append((method, path))

    def lose_next_reply(self, method: str = "POST", path: str = "/api/v3/order") -> None:
        """The next ``method`` ``path`` request is executed, then the connection drops without a
        reply (the client sees a network error; the order exists / the cancel happened)."""
        with self._lock:
            self._reply_faults.append(_ReplyFault(method, path, None))

    def lose_next_cancel_reply(self) -> None:
        """:meth:`lose_next_reply` for ``DELETE /api/v3/order``: the order is canceled, the client
        never hears so."""
        self.lose_next_reply("DELETE", "/api/v3/order")

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def request_counts(self, method: str | None = None) -> dict[str, int]:
        """Requests that reached the server, per path (``method`` given: of that method only)."""
        with self._lock:
            return dict(Counter(r.path for r in self.requests if method is None or r.method == method))

    def weight_used(self, path: str | None = None, last_seconds: float | None = None) -> int:
        """Request weight Binance would have counted (per :attr:`weights`), over every recorded
        request (to ``path`` if given; in the last ``last_seconds`` of wall-clock time if given)."""
        since = time.time() - last_seconds if last_seconds is not None else None
        total = 0
        with self._lock:
            for r in reversed(self.requests):
                if since is not None and r.at < since:
                    break
                if path is None or r.path == path:
                    total += r.weight
        return total

    def ccxt(self, exchange_id: str = "binanceus", **config):
        """A real ccxt client (``binanceus`` / ``binance``) with this server's keys and URLs, no
        rate-limit spacing, spot only; ``config`` extends ccxt's constructor config."""
        import ccxt

        options = {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "defaultType": "spot",
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        }
        options.update(config.pop("options", {}))
        client = getattr(ccxt, exchange_id)(
            {
                "apiKey": self.api_key,
                "secret": self.secret,
                "enableRateLimit": False,
                "timeout": 5000,
                "options": options,
                **config,
            }
        )
        client.urls["api"].update(self.ccxt_urls)
        return client

    # -- HTTP -----------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        if self.latency:
            time.sleep(self.latency)
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        raw = parts.query if method in ("GET", "DELETE") else body
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        path = parts.path
        with self._lock:
            fault = self._take_fault(path)
            drop = (method, path) in self._drops
            if drop:
                self._drops.remove((method, path))
            reply_fault = next((f for f in self._reply_faults if (f.method, f.path) == (method, path)), None)
            if reply_fault is not None and fault is None and not drop:
                self._reply_faults.remove(reply_fault)
            else:
                reply_fault = None
            weight = 0 if fault is not None or drop else request_weight(self.weights, method, path, params)
            record = RecordedRequest(method, path, params, weight, time.time())
            self.requests.append(record)
        if fault is not None or drop:
            mode = "reset" if drop else fault.mode
            if mode == "reset":
                h.close_connection = True
                return
            if mode in ("429", "418"):  # 418: the IP is banned for repeating 429s (Retry-After says how long)
                return self._reply(
                    h,
                    int(mode),
                    {
                        "code": -1003,
                        "msg": "Too many requests; current limit of IP(127.0.0.1) request weight is 1200 per 1 MINUTE.",
                    },
                    {"Retry-After": str(fault.retry_after)},
                )
            return self._reply(h, 503, "<html><body><h1>503 Service Unavailable</h1></body></html>")
        try:
            if path in _SIGNED:
                self._authenticate(h, raw)
            status, payload = 200, self._route(method, path, params)
        except BinanceError as err:
            status, payload = err.status, err.payload()
        self._note_reply(record, status, payload.get("code", 0) if isinstance(payload, dict) and status != 200 else 0)
        if reply_fault is not None:
            if reply_fault.delay is None:
                h.close_connection = True
                return
            time.sleep(reply_fault.delay)
        self._reply(h, status, payload, {"X-MBX-USED-WEIGHT-1M": str(self.weight_used(last_seconds=60))})

    def _note_reply(self, record: RecordedRequest, status: int, code: int) -> None:
        """Keep the reply's status and error code with its request (lost replies keep them too:
        the request was processed)."""
        with self._lock:
            for i in range(len(self.requests) - 1, -1, -1):
                if self.requests[i] is record:
                    self.requests[i] = replace(record, status=status, code=code)
                    return

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in list(self._faults):
            if fault.path is not None and fault.path != path:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                return None
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, payload, headers: dict | None = None) -> None:
        is_text = isinstance(payload, str)
        data = (payload if is_text else json.dumps(payload, separators=(",", ":"))).encode()  # compact, like Binance
        try:
            h.send_response(status)
            h.send_header("Content-Type", "text/html" if is_text else "application/json;charset=UTF-8")
            h.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                h.send_header(key, value)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired first)

    def _authenticate(self, h: BaseHTTPRequestHandler, raw: str) -> None:
        if h.headers.get("X-MBX-APIKEY") != self.api_key:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")

    def _route(self, method: str, path: str, p: dict[str, str]):
        routes = {
            ("GET", "/api/v3/ping"): lambda: {},
            ("GET", "/api/v3/time"): lambda: {"serverTime": self.now()},
            ("GET", "/api/v3/exchangeInfo"): self.exchange_info,
            ("GET", "/api/v3/klines"): lambda: self.klines(p),
            ("GET", "/api/v3/ticker/price"): lambda: self.ticker_price(p),
            ("GET", "/api/v3/ticker/bookTicker"): lambda: self.book_ticker(p),
            ("GET", "/api/v3/ticker/24hr"): lambda: self.ticker_24hr(p),
            ("GET", "/api/v3/depth"): lambda: self.depth(p),
            ("POST", "/api/v3/order"): lambda: self.new_order(p),
            ("GET", "/api/v3/order"): lambda: self.query_order(p),
            ("DELETE", "/api/v3/order"): lambda: self.cancel_order(p),
            ("GET", "/api/v3/openOrders"): lambda: self.open_orders(p),
            ("DELETE", "/api/v3/openOrders"): lambda: self.cancel_open_orders(p),
            ("POST", "/api/v3/order/oco"): lambda: self.new_oco(p),
            ("POST", "/api/v3/orderList/oco"): lambda: self.new_order_list_oco(p),
            ("DELETE", "/api/v3/orderList"): lambda: self.cancel_order_list(p),
            ("POST", "/api/v3/order/cancelReplace"): lambda: self.cancel_replace(p),
            ("GET", "/api/v3/myTrades"): lambda: self.my_trades(p),
            ("GET", "/api/v3/account"): self.account,
            ("GET", "/sapi/v1/account/apiRestrictions"): self.api_restrictions,
        }
        handler = routes.get((method, path))
        if handler is None:
            raise BinanceError(404, -1000, f"Unknown endpoint {method} {path}")
        with self._lock:
            return handler()


__all__ = ["BinanceError", "FakeBinance", "Fill", "RecordedRequest"]
