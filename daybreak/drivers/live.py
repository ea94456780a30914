"""The live polling loop: ccxt candles in, the same engine, paper fills or real orders out.

Each cycle (every ``poll_seconds``), per symbol:

1. fetch the newest *closed* 1m candles (``fetch_ohlcv``; the forming candle is dropped) into a
   bounded buffer; for each new one, evaluate every enabled strategy whose candle closed with it
   (5m candles are built from closed 1m candles) and pass its signal to the engine;
2. fetch the last price; pending orders fill now (paper: at that price, the new candle's open
   seen at most one poll late, with slippage and fee; live: a ccxt market order with a
   deterministic client order id);
3. check exits against that price (see :mod:`daybreak.core.exits`).

Then external signals and controls, prices every ``price_save_seconds``, and the heartbeat. When
the exchange cannot be reached the loop logs it, shows it on the dashboard (status row) and
retries with exponential back-off; it does not crash. At start it fetches enough history for
every strategy's warm-up, so it can trade at once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from daybreak.core.config import Config
from daybreak.core.domain import Action, Fill, Order
from daybreak.core.risk import Rejection
from daybreak.core.timeframes import resample, timeframe_ms
from daybreak.drivers.alerts import Alerts
from daybreak.drivers.replay import strategies_for
from daybreak.drivers.services import RunContext
from daybreak.drivers.stepper import atr_series
from daybreak.drivers.wiring import build_context, market_limits
from daybreak.exchange.client import (
    Exchange,
    ExchangeError,
    ExchangeFatal,
    ExchangeUnavailable,
    OrderRejected,
)
from daybreak.exchange.secrets import ApiKeys, SecretsError, live_trading_allowed, load_api_keys
from storage.base import StorageError
from storage.records import PriceRecord
from strategies.base import BaseStrategy

log = logging.getLogger("daybreak")
BASE_TF = "1m"
MAX_BACKOFF_SECONDS = 300.0


class LiveBroker:
    """Real market orders through ccxt. Temporary failures raise (the engine keeps the order
    pending); before sending an order id again, the broker looks it up on the exchange, so an
    order whose first attempt did reach the exchange is never sent twice."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange
        self._attempted: set[str] = set()

    def seen(self, client_order_ids) -> None:
        """Mark ids that may already exist on the exchange (restored after a restart)."""
        self._attempted.update(client_order_ids)

    def execute(self, order: Order, reference_price: float, timestamp: int) -> Fill | Rejection:
        res = None
        if order.client_order_id in self._attempted:
            res = self.exchange.fetch_order_by_client_id(order.symbol, order.client_order_id)
        if res is None:
            self._attempted.add(order.client_order_id)
            try:
                res = self.exchange.create_market_order(order.symbol, order.action.value, order.amount,
                                                        order.client_order_id)
            except OrderRejected as err:
                return Rejection("exchange_rejected", str(err))
        # a buy's fee taken in base currency leaves less in the account than was bought
        amount = res.amount - res.fee_base if order.action is Action.BUY else res.amount
        return Fill(order, res.timestamp or timestamp, res.price, amount, res.fee)


def history_needed(strategies: list[BaseStrategy]) -> int:
    """Base (1m) candles to keep: twice the longest warm-up, in 1m candles, plus ATR's window."""
    need = [s.warmup * timeframe_ms(s.timeframe) // timeframe_ms(BASE_TF) for s in strategies] or [0]
    return max(2 * max(need) + 30, 300)


class LiveFeed:
    """Bounded buffers of closed 1m candles per symbol, filled from the exchange."""

    def __init__(self, exchange: Exchange, size: int):
        self.exchange = exchange
        self.size = size
        self.frames: dict[str, pd.DataFrame] = {}

    def poll(self, symbol: str, now_ms: int) -> pd.DataFrame:
        """New closed candles of ``symbol`` since the last poll (all of the buffer the first time)."""
        step = timeframe_ms(BASE_TF)
        old = self.frames.get(symbol)
        if old is None or old.empty:
            since = now_ms - (self.size + 1) * step
            new = self.exchange.fetch_history(symbol, BASE_TF, since, None)
        else:
            new = self.exchange.fetch_closed_candles(symbol, BASE_TF, int(old["timestamp"].iat[-1]) + step,
                                                     now_ms=now_ms)
        new = new[new["timestamp"] + step <= now_ms]
        if old is not None and not old.empty:
            new = new[new["timestamp"] > old["timestamp"].iat[-1]]
            frame = pd.concat([old, new], ignore_index=True)
        else:
            frame = new.reset_index(drop=True)
        self.frames[symbol] = frame.iloc[-self.size:].reset_index(drop=True)
        return new.reset_index(drop=True)


def evaluate(strategies: list[BaseStrategy], symbol: str, frame: pd.DataFrame, close_ts: int):
    """Signals of the strategies whose candle closes at ``close_ts``, on the buffer ``frame``."""
    out = []
    for s in strategies:
        tf = timeframe_ms(s.timeframe)
        if close_ts % tf:
            continue
        tf_frame = resample(frame, s.timeframe, BASE_TF)
        if tf_frame.empty or int(tf_frame["timestamp"].iat[-1]) + tf != close_ts:
            continue
        sig = s.last_signal(tf_frame, symbol)
        if sig is not None:
            out.append(sig)
    return out


def interruptible_sleep(should_stop: Callable[[], bool]) -> Callable[[float], None]:
    """A sleep that wakes every half second to check ``should_stop`` (prompt SIGTERM handling
    during long back-offs)."""
    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not should_stop() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
    return sleep


def connect(config: Config, keys: ApiKeys | None) -> Exchange:
    """The ccxt client of ``config.exchange``: signed with ``keys`` (key, secret and, where the
    exchange needs one, the passphrase) in live mode, public only in paper mode (``keys`` None)."""
    if keys is None:
        return Exchange(config.exchange)
    return Exchange(config.exchange, keys.api_key, keys.secret, password=keys.password)


def run_live(config_path, config: Config, should_stop: Callable[[], bool], exchange: Exchange | None = None,
             clock: Callable[[], int] | None = None, sleep: Callable[[float], None] | None = None,
             max_cycles: int | None = None, alerts: Alerts | None = None) -> int:
    """Run until ``should_stop()``; returns the exit code (2: live trading not allowed, 1: fatal).
    ``alerts``: the process's operator alerts (:mod:`daybreak.drivers.alerts`)."""
    sleep = sleep or interruptible_sleep(should_stop)
    keys = None
    if config.mode == "live":
        allowed, reason = live_trading_allowed(config)
        if not allowed:
            log.error("live trading refused: %s", reason)
            print(f"error: live trading refused: {reason}")
            return 2
        try:
            keys = load_api_keys(config.exchange)
        except SecretsError as err:
            log.error("%s", err)
            return 2
        log.warning("LIVE TRADING on %s with keys from %s", config.exchange, keys.source)
    exchange = exchange or connect(config, keys)
    try:
        markets = market_limits(config, exchange.load_markets())
    except ExchangeUnavailable as err:
        log.error("%s; using the bundled market limits until the exchange answers", err)
        markets = market_limits(config)
    broker = LiveBroker(exchange) if config.mode == "live" else None
    ctx = build_context(config_path, config, broker, markets, alerts)
    if broker is not None:  # orders restored from storage may have reached the exchange: look them up first
        broker.seen(o.client_order_id for o in ctx.engine.pending.values())
    clock = clock or exchange.now_ms
    loop = LiveLoop(ctx, exchange, clock)
    cycles, failures = 0, 0
    log.info("bot running in %s mode on %s: %s with %s", config.mode, config.exchange, ", ".join(config.symbols),
             ", ".join(config.enabled_algos()) or "no strategy")
    try:
        while not should_stop() and (max_cycles is None or cycles < max_cycles):
            cycles += 1
            ctx.retry_at = None
            try:
                ok = loop.cycle()
            except StorageError as err:  # trades are kept by the sink; the rest is retried next cycle
                log.error("storage unavailable this cycle: %s", err)
                ctx.error(str(err))
                ok = False
            except ExchangeFatal as err:
                log.error("fatal exchange error, stopping: %s", err)
                ctx.state = ctx.state.ERROR
                ctx.error(str(err))
                return 1
            failures = 0 if ok else failures + 1
            delay = ctx.config.poll_seconds if ok else min(ctx.config.poll_seconds * 2 ** failures, MAX_BACKOFF_SECONDS)
            if not ok:
                log.warning("exchange unreachable (%d in a row); retrying in %.0f s", failures, delay)
                ctx.backoff(delay)
            sleep(delay)
    finally:
        unsaved = ctx.shutdown()
    return 1 if unsaved else 0  # writes left unsaved (in unsaved-writes.jsonl): never a success


class LiveLoop:
    """One poll cycle over every configured symbol."""

    def __init__(self, ctx: RunContext, exchange: Exchange, clock: Callable[[], int]):
        self.ctx, self.exchange, self.clock = ctx, exchange, clock
        self._setup()
        self.last_price_save = 0
        self.pending_ids = {o.client_order_id for o in ctx.engine.pending.values()}
        ctx.engine.before_send = self._store_exit_before_send

    def _setup(self) -> None:
        self.strategies = strategies_for(self.ctx.config)
        self.feed = LiveFeed(self.exchange, history_needed(self.strategies))

    def cycle(self) -> bool:
        """Poll once. Returns False when the exchange could not be reached for some symbol."""
        ctx = self.ctx
        if ctx.reload_config():
            old = self.feed.frames
            self._setup()
            self.feed.frames = {s: f for s, f in old.items() if s in ctx.config.symbols}
        now = self.clock()
        ok = True
        ctx.engine.sink.retry_backlog()
        for symbol in ctx.config.symbols:
            try:
                self._poll_symbol(symbol, now)
                ctx.feed_status[symbol] = {"last_candle": self._last_close(symbol), "error": ""}
            except ExchangeUnavailable as err:
                ok = False
                ctx.feed_status[symbol] = {"last_candle": self._last_close(symbol), "error": str(err)}
                ctx.error(str(err), now)
                log.error("%s", err)
        prices = ctx.engine.last_price
        ctx.process_external(now, prices)
        ctx.process_controls(now, prices)
        self._save_pending_if_changed()  # an order's id is stored before it is sent
        self._fill_and_exit_all(now)
        self._save_pending_if_changed()
        if now - self.last_price_save >= ctx.config.price_save_seconds * 1000:
            self._save_prices()
            self.last_price_save = now
        ctx.heartbeat(now)
        return ok

    def _store_exit_before_send(self) -> None:
        """Store an exit's client id before it is sent. With storage down it is sent anyway: a
        stop must not wait for the database (the broker still never resends an id it tried)."""
        try:
            self._save_pending_if_changed()
        except StorageError as err:
            log.error("exit order not stored before sending (%s); sending it anyway", err)

    def _save_pending_if_changed(self) -> None:
        ids = {o.client_order_id for o in self.ctx.engine.pending.values()}
        if ids != self.pending_ids:
            self.ctx.save_pending()
            self.pending_ids = ids

    def _last_close(self, symbol: str) -> int | None:
        f = self.feed.frames.get(symbol)
        return None if f is None or f.empty else int(f["timestamp"].iat[-1]) + timeframe_ms(BASE_TF)

    def _poll_symbol(self, symbol: str, now: int) -> None:
        ctx, eng = self.ctx, self.ctx.engine
        new = self.feed.poll(symbol, now)
        frame = self.feed.frames[symbol]
        cursor = ctx.cursor(symbol)
        step = timeframe_ms(BASE_TF)
        for ts in new["timestamp"].to_numpy(np.int64):
            close_ts = int(ts) + step
            if close_ts <= cursor:
                continue  # acted on before a restart: warm-up only
            upto = frame[frame["timestamp"] <= ts]
            atr = atr_series(upto.iloc[-100:])
            eng.atr[symbol] = None if len(atr) == 0 or np.isnan(atr[-1]) else float(atr[-1])
            age = max(0, now - close_ts - step)
            for sig in evaluate(self.strategies, symbol, upto, close_ts):
                eng.on_signal(sig, float(upto["close"].iat[-1]), close_ts, age)
            ctx.set_cursor(symbol, close_ts)
        eng.last_price[symbol] = self.exchange.fetch_last_price(symbol)

    def _fill_and_exit_all(self, now: int) -> None:
        eng = self.ctx.engine
        for symbol, price in list(eng.last_price.items()):
            try:
                eng.fill_pending(symbol, price, now)
                eng.check_exits(symbol, [price], now)
            except ExchangeError as err:
                self.ctx.error(str(err), now)
                log.error("order on %s not completed, retrying next poll: %s", symbol, err)

    def _save_prices(self) -> None:
        records = []
        retention = int(self.ctx.config.storage.price_retention_days * 86_400)
        for symbol, frame in self.feed.frames.items():
            if frame.empty:
                continue
            row = frame.iloc[-1]
            ts = int(row["timestamp"])
            records.append(PriceRecord(symbol, ts, float(row["close"]), float(row["open"]), float(row["high"]),
                                       float(row["low"]), float(row["volume"]), ts // 1000 + retention))
        self.ctx.put_prices(records)  # through the sink's backlog: kept while storage fails
