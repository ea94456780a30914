"""Exchange access through ccxt: closed candles, market limits, prices, balances, orders.

Nothing ccxt-shaped leaves this package: candles become DataFrames, markets become
:class:`~daybreak.core.markets.MarketLimits`, orders :class:`~daybreak.exchange.orders.OrderResult`,
balances and tickers the types of :mod:`daybreak.exchange.account`, and every ccxt exception is
translated at its call site (:func:`daybreak.exchange.errors.translate`, by class, never by
message text) into :class:`ExchangeUnavailable` (temporary; reads retry it with bounded
exponential back-off via tenacity, then raise it), :class:`OrderRejected` or
:class:`ExchangeFatal`. The error classes are importable from here.

Orders (:mod:`daybreak.exchange.orders`) are never retried blindly. One :class:`Exchange` is
meant to be used from one thread (ccxt's sync clients are not thread-safe);
:meth:`Exchange.fetch_candles_many` fetches several symbols at once on clones of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TypedDict

import ccxt
import numpy as np
import pandas as pd
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)
from tqdm import tqdm

from daybreak.core.markets import MarketLimits, from_ccxt_markets
from daybreak.core.timeframes import timeframe_ms
from daybreak.exchange.account import AccountApi, Balance, Ticker
from daybreak.exchange.candle_files import COLUMNS
from daybreak.exchange.errors import (
    ExchangeError,
    ExchangeFatal,
    ExchangeUnavailable,
    OrderOutcomeUnknown,
    OrderRejected,
    translate,
)
from daybreak.exchange.orders import AccountFill, OrderApi, OrderResult
from daybreak.exchange.resting import RestingOrderApi

__all__ = [
    "AccountFill",
    "Balance",
    "CandleReply",
    "Exchange",
    "ExchangeError",
    "ExchangeFatal",
    "ExchangeUnavailable",
    "OrderOutcomeUnknown",
    "OrderRejected",
    "OrderResult",
    "Ticker",
]

log = logging.getLogger(__name__)

MAX_KLINES = 1000  # Binance GET /api/v3/klines: limit max 1000
CLOCK_RESYNC_MS = 600_000  # re-read the exchange clock every 10 minutes
MAX_WORKERS = 20  # concurrent klines requests (20 symbols: one round)


class _ExchangeArgs(TypedDict):
    """The arguments an :class:`Exchange` was made with (:meth:`Exchange.clone` makes a twin)."""

    exchange_id: str
    api_key: str | None
    secret: str | None
    urls: dict | None
    retries: int
    backoff_max_seconds: float
    backoff_base_seconds: float
    timeout_ms: int
    rate_limit_ms: float | None
    sleep: Callable[[float], None]
    password: str | None


@dataclass(frozen=True)
class CandleReply:
    """One klines reply: the ``closed`` candles (frame as in :meth:`Exchange.fetch_closed_candles`)
    and the candle still forming, if the reply had it: ``forming_open`` (its open price, quote)
    at ``forming_ts`` (its open time, UTC ms)."""

    closed: pd.DataFrame
    forming_ts: int | None = None
    forming_open: float | None = None


def urls_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """ccxt ``urls['api']`` overrides from ``DAYBREAK_EXCHANGE_URL`` (another API host: a local
    fake, a proxy; signed requests go there too), or None when it is not set."""
    url = (os.environ if environ is None else environ).get("DAYBREAK_EXCHANGE_URL")
    return {"public": f"{url}/api/v3", "private": f"{url}/api/v3", "sapi": f"{url}/sapi/v1"} if url else None


class Exchange(AccountApi, OrderApi, RestingOrderApi):
    """One ccxt exchange client with Daybreak's error handling.

    ``urls`` overrides entries of ccxt's ``urls["api"]`` (tests point ccxt at a local fake).
    Reads retry :class:`ExchangeUnavailable` up to ``retries`` attempts, waiting
    ``backoff_base_seconds * 2**n`` capped at ``backoff_max_seconds`` (longer when the exchange
    sent ``Retry-After``, within the same cap). ``timeout_ms`` is ccxt's per-request timeout;
    ``rate_limit_ms`` overrides ccxt's spacing between requests (the rate limiter stays on).
    ``sleep`` is the back-off sleep (tests record it instead of waiting). ``password`` is the API
    passphrase some exchanges require with the key (ccxt's ``password``: OKX, KuCoin, Bitget).
    """

    def __init__(
        self,
        exchange_id: str = "binanceus",
        api_key: str | None = None,
        secret: str | None = None,
        urls: dict | None = None,
        retries: int = 5,
        backoff_max_seconds: float = 30.0,
        *,
        backoff_base_seconds: float = 0.5,
        timeout_ms: int = 10_000,
        rate_limit_ms: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        password: str | None = None,
    ):
        if retries < 1:
            raise ValueError(f"retries = {retries!r}: must be >= 1")
        klass = getattr(ccxt, exchange_id, None)
        if not isinstance(klass, type) or not issubclass(klass, ccxt.Exchange):
            raise ExchangeFatal(
                f"{exchange_id}: not a ccxt exchange id (e.g. 'binanceus', 'binance')", exchange_id, None, "connect"
            )
        config: dict = {
            "enableRateLimit": True,
            "timeout": int(timeout_ms),
            # spot only: no futures/margin/currency endpoints during load_markets
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "defaultType": "spot",
                "warnOnFetchOpenOrdersWithoutSymbol": False,
            },
        }
        if api_key:
            config["apiKey"] = api_key
        if secret:
            config["secret"] = secret
        if password:
            config["password"] = password
        if rate_limit_ms is not None:
            config["rateLimit"] = rate_limit_ms
        self._init_args = _ExchangeArgs(
            exchange_id=exchange_id,
            api_key=api_key,
            secret=secret,
            urls=urls,
            retries=retries,
            backoff_max_seconds=backoff_max_seconds,
            backoff_base_seconds=backoff_base_seconds,
            timeout_ms=timeout_ms,
            rate_limit_ms=rate_limit_ms,
            sleep=sleep,
            password=password,
        )
        self.id = exchange_id
        self.client = klass(config)
        self.recv_window_ms = int((self.client.options or {}).get("recvWindow") or 10_000)
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
        self._pool: ThreadPoolExecutor | None = None
        self._clones = threading.local()

    def clone(self) -> Exchange:
        """A second client with the same settings and the markets already loaded (no request)."""
        twin = Exchange(**self._init_args)
        if self.client.markets:
            twin.client.set_markets(self.client.markets, self.client.currencies)
        twin.limits = self.limits
        twin._clock_offset_ms, twin._clock_synced_at = self._clock_offset_ms, self._clock_synced_at
        return twin

    def close(self) -> None:
        """Stop the worker threads of :meth:`fetch_candles_many`."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

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
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception_type(ExchangeUnavailable),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(once)
        except ExchangeUnavailable as err:
            if attempts > 1:
                raise ExchangeUnavailable(
                    f"{err} (gave up after {attempts} attempts)", self.id, symbol, action, retry_after=err.retry_after
                ) from err
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
                self.sync_clock(attempts=1)  # best effort: the request that follows has the retries
            except ExchangeUnavailable as err:
                log.warning("%s; using the local clock %+d ms", err, self._clock_offset_ms)
                self._clock_synced_at = local
        return int(time.time() * 1000) + self._clock_offset_ms

    # -- candles ----------------------------------------------------------------------------------
    def fetch_closed_candles(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int = MAX_KLINES, now_ms: int | None = None
    ) -> pd.DataFrame:
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

    def fetch_candles(
        self,
        symbol: str,
        timeframe: str,
        since: int | None = None,
        limit: int = MAX_KLINES,
        now_ms: int | None = None,
        attempts: int | None = None,
    ) -> CandleReply:
        """:meth:`fetch_closed_candles`, plus the open of the candle still forming when the reply
        had it (the price a paper order decided at the last close fills at). ``attempts``
        overrides the retry count."""
        step = timeframe_ms(timeframe)
        rows = self._read(
            "fetch_ohlcv", symbol, self.client.fetch_ohlcv, symbol, timeframe, since, limit, attempts=attempts
        )
        now = self.now_ms() if now_ms is None else now_ms
        forming = [r for r in rows if int(r[0]) + step > now and int(r[0]) <= now]
        if forming:
            return CandleReply(_closed_frame(rows, step, now), int(forming[-1][0]), float(forming[-1][1]))
        return CandleReply(_closed_frame(rows, step, now))

    def fetch_candles_many(
        self, since: dict[str, int], timeframe: str, now_ms: int, attempts: int = 2
    ) -> dict[str, CandleReply | ExchangeError]:
        """:meth:`fetch_candles` of several symbols (``since``: symbol -> oldest open wanted, ms)
        at once (see :meth:`candles_as_completed`). A symbol whose request failed maps to its error."""
        return dict(self.candles_as_completed(since, timeframe, now_ms, attempts))

    def candles_as_completed(
        self, since: dict[str, int], timeframe: str, now_ms: int, attempts: int = 2
    ) -> Iterator[tuple[str, CandleReply | ExchangeError]]:
        """(symbol, reply or error) of every symbol of ``since`` as its reply arrives: one request
        each, all at once on clones of this client (one per worker thread, up to
        :data:`MAX_WORKERS`: ccxt's sync clients are not thread-safe), each tried ``attempts`` times."""
        if len(since) <= 1:
            for s, t in since.items():
                yield s, self._candles_or_error(self, s, t, timeframe, now_ms, attempts)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="klines")

        def one(symbol: str, start: int):
            client = getattr(self._clones, "exchange", None)
            if client is None:
                client = self._clones.exchange = self.clone()
            return symbol, self._candles_or_error(client, symbol, start, timeframe, now_ms, attempts)

        for future in as_completed([self._pool.submit(one, s, t) for s, t in since.items()]):
            yield future.result()

    @staticmethod
    def _candles_or_error(client: Exchange, symbol: str, start: int, timeframe: str, now_ms: int, attempts: int):
        try:
            return client.fetch_candles(symbol, timeframe, start, MAX_KLINES, now_ms, attempts)
        except ExchangeError as err:
            return err

    def iter_history(
        self, symbol: str, timeframe: str, since: int, until: int | None = None, now_ms: int | None = None
    ) -> Iterator[pd.DataFrame]:
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
            rows = self._read(
                "fetch_ohlcv", symbol, self.client.fetch_ohlcv, symbol, timeframe, cursor, MAX_KLINES, params
            )
            page = _closed_frame(rows, step, now)
            page = page[(page["timestamp"] >= cursor) & (page["timestamp"] < end)].reset_index(drop=True)
            if page.empty:
                return
            yield page
            cursor = int(page["timestamp"].iloc[-1]) + step
            if len(rows) < MAX_KLINES:
                return

    def fetch_history(
        self, symbol: str, timeframe: str, since: int, until: int | None = None, progress: bool = False
    ) -> pd.DataFrame:
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
