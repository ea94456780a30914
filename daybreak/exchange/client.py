"""Exchange access through ccxt: closed candles, market limits, prices, balances, market orders.

Nothing ccxt-shaped leaves this module: candles become DataFrames, markets become
:class:`~daybreak.markets.MarketLimits`, orders become :class:`OrderResult`, and every ccxt
exception is translated at its call site (:func:`daybreak.exchange_errors.translate`, by class,
never by message text) into :class:`ExchangeUnavailable` (temporary; reads retry it with bounded
exponential back-off via tenacity, then raise it), :class:`OrderRejected` or
:class:`ExchangeFatal`. The error classes are importable from here.

Orders are never retried blindly (ccxt manual, "Error handling"): when ``create_order`` times out
the outcome is unknown, so the order is looked up by its client order id and only reported as
:class:`ExchangeUnavailable` when the exchange does not know it (:class:`OrderOutcomeUnknown`
when the look-up fails too). One :class:`Exchange` is meant to
be used from one thread (ccxt's sync clients are not thread-safe).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ccxt
import numpy as np
import pandas as pd
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)

from daybreak.core.markets import MarketLimits, from_ccxt_markets
from daybreak.core.timeframes import timeframe_ms
from daybreak.exchange.candle_files import COLUMNS
from daybreak.exchange.errors import (
    ExchangeError,
    ExchangeFatal,
    ExchangeUnavailable,
    OrderOutcomeUnknown,
    OrderRejected,
    translate,
)
from tqdm import tqdm

__all__ = ["Exchange", "ExchangeError", "ExchangeFatal", "ExchangeUnavailable", "OrderOutcomeUnknown",
           "OrderRejected", "OrderResult"]

log = logging.getLogger(__name__)

MAX_KLINES = 1000           # Binance GET /api/v3/klines: limit max 1000
CLOCK_RESYNC_MS = 600_000   # re-read the exchange clock every 10 minutes


@dataclass(frozen=True)
class OrderResult:
    """An order as the exchange reports it.

    ``amount``: filled base amount; ``price``: average fill price (quote per base, 0.0 when
    nothing filled); ``fee``: total fee converted to quote currency; ``fee_base``: the part of
    the fee charged in base currency (Binance takes a buy's fee from the bought asset unless it
    is paid in BNB), so the account holds ``amount - fee_base``; ``status``: ``"closed"``
    (done), ``"open"`` or ``"canceled"`` (also expired or rejected); ``timestamp``: UTC ms.
    """

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: str
    amount: float
    price: float
    fee: float
    status: str
    timestamp: int
    fee_base: float = 0.0


class Exchange:
    """One ccxt exchange client with Daybreak's error handling.

    ``urls`` overrides entries of ccxt's ``urls["api"]`` (tests point ccxt at a local fake).
    Reads retry :class:`ExchangeUnavailable` up to ``retries`` attempts, waiting
    ``backoff_base_seconds * 2**n`` capped at ``backoff_max_seconds`` (longer when the exchange
    sent ``Retry-After``, within the same cap). ``timeout_ms`` is ccxt's per-request timeout;
    ``rate_limit_ms`` overrides ccxt's spacing between requests (the rate limiter stays on).
    ``sleep`` is the back-off sleep (tests record it instead of waiting). ``password`` is the API
    passphrase some exchanges require with the key (ccxt's ``password``: OKX, KuCoin, Bitget).
    """

    def __init__(self, exchange_id: str = "binanceus", api_key: str | None = None, secret: str | None = None,
                 urls: dict | None = None, retries: int = 5, backoff_max_seconds: float = 30.0, *,
                 backoff_base_seconds: float = 0.5, timeout_ms: int = 10_000, rate_limit_ms: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, password: str | None = None):
        if retries < 1:
            raise ValueError(f"retries = {retries!r}: must be >= 1")
        klass = getattr(ccxt, exchange_id, None)
        if not isinstance(klass, type) or not issubclass(klass, ccxt.Exchange):
            raise ExchangeFatal(f"{exchange_id}: not a ccxt exchange id (e.g. 'binanceus', 'binance')",
                                exchange_id, None, "connect")
        config: dict = {
            "enableRateLimit": True,
            "timeout": int(timeout_ms),
            # spot only: no futures/margin/currency endpoints during load_markets
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False,
                        "defaultType": "spot"},
        }
        if api_key:
            config["apiKey"] = api_key
        if secret:
            config["secret"] = secret
        if password:
            config["password"] = password
        if rate_limit_ms is not None:
            config["rateLimit"] = rate_limit_ms
        self.id = exchange_id
        self.client = klass(config)
        if urls:
            api = self.client.urls.get("api")
            if isinstance(api, dict):
                api.update(urls)
            else:
                self.client.urls["api"] = dict(urls)
        self.retries = retries
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._sleep = sleep
        self._clock_offset_ms = 0
        self._clock_synced_at: int | None = None
        self.limits: dict[str, MarketLimits] = {}

    # -- error handling -------------------------------------------------------------------------
    def _error(self, err: Exception, action: str, symbol: str | None, placing_order: bool = False) -> ExchangeError:
        headers = getattr(self.client, "last_response_headers", None)
        return translate(err, self.id, action, symbol, placing_order=placing_order, response_headers=headers)

    def _wait(self, state: RetryCallState) -> float:
        backoff = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (state.attempt_number - 1))
        err = state.outcome.exception() if state.outcome else None
        retry_after = getattr(err, "retry_after", None)
        if retry_after:
            backoff = max(backoff, min(float(retry_after), self.backoff_max_seconds))
        return backoff

    def _log_retry(self, state: RetryCallState) -> None:
        err = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s; retrying in %.2fs (attempt %d failed)", err, wait, state.attempt_number)

    def _read(self, action: str, symbol: str | None, fn: Callable, *args, attempts: int | None = None, **kwargs):
        """Call ccxt ``fn`` with translation and bounded retries of temporary failures."""
        def once():
            try:
                return fn(*args, **kwargs)
            except ccxt.BaseError as err:
                raise self._error(err, action, symbol) from err

        attempts = attempts or self.retries
        retrying = Retrying(stop=stop_after_attempt(attempts), wait=self._wait, sleep=self._sleep,
                            retry=retry_if_exception_type(ExchangeUnavailable), before_sleep=self._log_retry,
                            reraise=True)
        try:
            return retrying(once)
        except ExchangeUnavailable as err:
            if attempts > 1:
                raise ExchangeUnavailable(f"{err} (gave up after {attempts} attempts)", self.id, symbol, action,
                                          retry_after=err.retry_after) from err
            raise

    # -- markets and clock ----------------------------------------------------------------------
    def load_markets(self) -> dict[str, MarketLimits]:
        """Limits of every spot market (``GET /api/v3/exchangeInfo`` on Binance), reloaded."""
        markets = self._read("load_markets", None, self.client.load_markets, True)
        self.limits = from_ccxt_markets(markets, self.client.precisionMode)
        return self.limits

    def sync_clock(self, attempts: int | None = None) -> int:
        """Measure exchange time minus local time (ms), keep it, and return it."""
        t0 = time.time() * 1000
        server = self._read("fetch_time", None, self.client.fetch_time, attempts=attempts)
        t1 = time.time() * 1000
        self._clock_offset_ms = int(server - (t0 + t1) / 2)
        self._clock_synced_at = int(t1)
        return self._clock_offset_ms

    def now_ms(self) -> int:
        """Exchange time (UTC ms): the local clock plus the offset measured by :meth:`sync_clock`
        (re-measured every 10 minutes; when the exchange cannot say, the last offset is kept)."""
        local = int(time.time() * 1000)
        if self._clock_synced_at is None or local - self._clock_synced_at > CLOCK_RESYNC_MS:
            try:
                self.sync_clock(attempts=1)   # best effort: the request that follows has the retries
            except ExchangeUnavailable as err:
                log.warning("%s; using the local clock %+d ms", err, self._clock_offset_ms)
                self._clock_synced_at = local
        return int(time.time() * 1000) + self._clock_offset_ms

    # -- candles ----------------------------------------------------------------------------------
    def fetch_closed_candles(self, symbol: str, timeframe: str, since: int | None = None, limit: int = MAX_KLINES,
                             now_ms: int | None = None) -> pd.DataFrame:
        """Closed candles of ``symbol`` (one ``fetch_ohlcv`` call, up to ``limit`` <= 1000).

        Columns: ``timestamp`` (int64, UTC ms of the open), ``open``, ``high``, ``low``, ``close``
        (float64, quote), ``volume`` (float64, base). Only candles whose close time
        (open + timeframe) is ``<= now_ms`` (default: :meth:`now_ms`, exchange time) are kept, so
        the candle still forming is dropped. Sorted ascending, no duplicates. ``since``: oldest
        open (ms) wanted; ``None``: the most recent candles.
        """
        step = timeframe_ms(timeframe)
        if not 1 <= limit <= MAX_KLINES:
            raise ValueError(f"limit = {limit!r}: must be between 1 and {MAX_KLINES}")
        rows = self._read("fetch_ohlcv", symbol, self.client.fetch_ohlcv, symbol, timeframe, since, limit)
        now = self.now_ms() if now_ms is None else now_ms
        return _closed_frame(rows, step, now)

    def iter_history(self, symbol: str, timeframe: str, since: int, until: int | None = None,
                     now_ms: int | None = None) -> Iterator[pd.DataFrame]:
        """Closed candles opening in ``[since, until)`` (``until`` None: up to now), page by page.

        Each page is one ``fetch_ohlcv`` of up to 1000 candles (frame shape as in
        :meth:`fetch_closed_candles`), strictly after the previous page. Gaps in the exchange's data
        are skipped (Binance returns the next candles that exist); iteration stops at ``until``,
        at the forming candle, or when the exchange has nothing more.
        """
        step = timeframe_ms(timeframe)
        now = self.now_ms() if now_ms is None else now_ms
        end = now if until is None else min(int(until), now)
        cursor = int(since)
        while cursor < end:
            params = {"until": end - 1}
            rows = self._read("fetch_ohlcv", symbol, self.client.fetch_ohlcv, symbol, timeframe, cursor, MAX_KLINES,
                              params)
            page = _closed_frame(rows, step, now)
            page = page[(page["timestamp"] >= cursor) & (page["timestamp"] < end)].reset_index(drop=True)
            if page.empty:
                return
            yield page
            cursor = int(page["timestamp"].iloc[-1]) + step
            if len(rows) < MAX_KLINES:
                return

    def fetch_history(self, symbol: str, timeframe: str, since: int, until: int | None = None,
                      progress: bool = False) -> pd.DataFrame:
        """All closed candles opening in ``[since, until)``, paginated (see :meth:`iter_history`),
        de-duplicated and sorted. ``progress``: a tqdm bar on stderr."""
        pages = self.iter_history(symbol, timeframe, since, until)
        bar = None
        if progress:
            total = max(0, ((until or self.now_ms()) - since) // timeframe_ms(timeframe))
            bar = tqdm(total=total, unit="candle", desc=symbol, leave=False)
        frames = []
        for page in pages:
            frames.append(page)
            if bar is not None:
                bar.update(len(page))
        if bar is not None:
            bar.close()
        if not frames:
            return _closed_frame([], timeframe_ms(timeframe), 0)
        out = pd.concat(frames, ignore_index=True)
        return out.drop_duplicates("timestamp").sort_values("timestamp").reset_index(drop=True)

    # -- prices and balances --------------------------------------------------------------------
    def fetch_last_price(self, symbol: str) -> float:
        """Last traded price of ``symbol`` (quote per base; ``GET /api/v3/ticker/price``)."""
        prices = self._read("fetch_last_price", symbol, self.client.fetch_last_prices, [symbol])
        entry = prices.get(symbol) if isinstance(prices, dict) else None
        price = entry.get("price") if entry else None
        if price is None or not math.isfinite(price) or price <= 0:
            raise ExchangeFatal(f"{self.id} {symbol}: fetch_last_price failed: no price in the reply",
                                self.id, symbol, "fetch_last_price")
        return float(price)

    def fetch_balance_free(self, currency: str) -> float:
        """Free (not locked in orders) balance of ``currency``; 0.0 when the account has none."""
        balance = self._read("fetch_balance", None, self.client.fetch_balance)
        value = (balance.get("free") or {}).get(currency)
        return float(value) if value is not None else 0.0

    # -- orders -----------------------------------------------------------------------------------
    def create_market_order(self, symbol: str, side: str, amount: float, client_order_id: str) -> OrderResult:
        """Place a market order of ``amount`` (base) with ``client_order_id`` (sent as Binance's
        ``newClientOrderId``). Never retried blindly: on a timeout or network error the order is
        looked up by its client id; if the exchange has it, that result is returned; if it does
        not, :class:`ExchangeUnavailable` says it was not placed; if the look-up fails as well,
        :class:`OrderOutcomeUnknown` (a subclass) says it may exist. Raises
        :class:`OrderRejected` (filters, funds) or :class:`ExchangeFatal`.
        """
        if side not in ("buy", "sell"):
            raise ValueError(f"side = {side!r}: must be 'buy' or 'sell'")
        if not math.isfinite(amount) or amount <= 0:
            raise ValueError(f"amount = {amount!r}: must be a positive number of {symbol.split('/')[0]}")
        action = f"market {side} {amount:g}"
        try:
            order = self.client.create_order(symbol, "market", side, amount, None,
                                             {"newClientOrderId": client_order_id})
        except ccxt.BaseError as err:
            error = self._error(err, action, symbol, placing_order=True)
            if not isinstance(error, ExchangeUnavailable):
                raise error from err
            log.warning("%s; outcome unknown, looking the order up by client id %s", error, client_order_id)
            try:
                found = self.fetch_order_by_client_id(symbol, client_order_id)
            except ExchangeUnavailable as lookup_err:
                raise OrderOutcomeUnknown(f"{error}; looking up order {client_order_id} failed too ({lookup_err}): "
                                          f"it may exist, reconcile by client id", self.id, symbol, action) from err
            if found is None:
                raise ExchangeUnavailable(f"{error}; order {client_order_id} not found on the exchange, not placed",
                                          self.id, symbol, action) from err
            return found
        return self._order_result(order, symbol, client_order_id)

    def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order with ``client_order_id`` (``origClientOrderId`` on Binance), or ``None``
        when the exchange does not know it. Its fee comes from the order's trades."""
        order = self._read("fetch_order", symbol, self._fetch_order_raw, symbol, client_order_id)
        return None if order is None else self._order_result(order, symbol, client_order_id)

    def _fetch_order_raw(self, symbol: str, client_order_id: str) -> dict | None:
        try:
            order = self.client.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
        except ccxt.OrderNotFound:
            return None
        if order.get("fee") is None and not order.get("fees") and (order.get("filled") or 0) > 0 and order.get("id"):
            trades = self.client.fetch_order_trades(order["id"], symbol)
            order = dict(order, fees=[t["fee"] for t in trades if t.get("fee")])
        return order

    def _order_result(self, order: dict, symbol: str, client_order_id: str) -> OrderResult:
        filled = float(order.get("filled") or 0.0)
        average = order.get("average")
        if average is None:
            cost = order.get("cost")
            average = cost / filled if cost and filled else 0.0
        status = {"closed": "closed", "open": "open"}.get(order.get("status"), "canceled")
        return OrderResult(
            client_order_id=order.get("clientOrderId") or client_order_id,
            exchange_order_id=str(order.get("id") or ""),
            symbol=order.get("symbol") or symbol,
            side=order.get("side") or "",
            amount=filled,
            price=float(average),
            fee=self._fee_in_quote(order, symbol, float(average)),
            status=status,
            timestamp=int(order.get("timestamp") or order.get("lastTradeTimestamp") or self.now_ms()),
            fee_base=_fee_in(order, symbol.partition("/")[0]),
        )

    def _fee_in_quote(self, order: dict, symbol: str, price: float) -> float:
        """Sum of the order's fees in quote currency: a fee in base is converted at ``price``;
        one in a third currency (e.g. BNB) at that currency's last price against the quote."""
        base, _, quote = symbol.partition("/")
        fees = order.get("fees") or ([order["fee"]] if order.get("fee") else [])
        total = 0.0
        for fee in fees:
            cost, currency = fee.get("cost"), fee.get("currency")
            if not cost:
                continue
            if currency in (quote, None):
                total += float(cost)
            elif currency == base:
                total += float(cost) * price
            else:
                try:
                    total += float(cost) * self.fetch_last_price(f"{currency}/{quote}")
                except ExchangeError as err:
                    log.error("%s: fee %s %s not converted to %s: %s", symbol, cost, currency, quote, err)
        return total


def _fee_in(order: dict, currency: str) -> float:
    """Sum of the order's fees charged in ``currency``."""
    fees = order.get("fees") or ([order["fee"]] if order.get("fee") else [])
    return sum(float(f.get("cost") or 0.0) for f in fees if f.get("currency") == currency)


def _closed_frame(rows: list, step_ms: int, now_ms: int) -> pd.DataFrame:
    """ccxt OHLCV rows -> candle frame of closed candles (open + step <= now), sorted, unique."""
    if rows:
        arr = np.asarray([r[:6] for r in rows], dtype=np.float64)
        frame = pd.DataFrame(arr, columns=COLUMNS)
    else:
        frame = pd.DataFrame({c: np.array([], dtype=np.float64) for c in COLUMNS})
    frame["timestamp"] = frame["timestamp"].astype(np.int64)
    frame = frame[frame["timestamp"].to_numpy() + step_ms <= now_ms]
    frame = frame.drop_duplicates("timestamp").sort_values("timestamp").reset_index(drop=True)
    return frame
