"""The live loop: the replay's stepper on polled closed candles, fills and exits at polled prices.

Each cycle (at each candle close, and every ``poll_seconds`` in between):

1. one ticker request for every configured symbol's last price (``fetch_tickers``); a symbol
   whose price is missing or older than the stale limit gets no fill and no exit this cycle;
2. live: the protective orders resting on the exchange are read back first (one that filled is
   booked as the exit, :mod:`daybreak.drivers.protection`), then orders whose outcome is unknown
   or that rest (limit entries, maker exits: :mod:`daybreak.drivers.resting`) are looked up by
   their client id (:mod:`daybreak.drivers.orders`), so nothing below decides while one is in flight;
3. klines, only for the symbols whose candle has closed, all at once; every new closed candle
   goes through the stepper's :meth:`~daybreak.drivers.stepper.Stepper.decide` (ATR and strategy
   signals, exactly as replay and backtest: :mod:`daybreak.drivers.live_feed`);
4. live: the account (:mod:`daybreak.drivers.account`) when due: at start, after every fill,
   every ``account_sync_seconds``;
5. external signals and controls;
6. pending orders: paper fills at the open of the candle after the decision (the forming
   candle's open, as replay fills at the next open) or, for decisions between candles, at the
   polled price, with slippage and fee; live: market orders through the order tracker;
7. exits (stop-loss, take-profit, trailing, time stop) against the polled price;
8. live: protective orders placed, replaced or cancelled to match the positions.

So live, paper and replay differ only in the feed, the broker and exits checked against polled
prices. At start the warm-up history is fetched and computed once per strategy over the whole
buffer; on a fresh store no warm-up candle is acted on (the cursor starts at the newest close).
When the exchange cannot be reached the loop logs it, shows it (status row) and retries with
exponential back-off. A fatal exchange error sets state ``ERROR`` (no new entries; exits go on at
a bounded back-off); the process exits with 1 once nothing is left to protect.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from daybreak.core.config import Config
from daybreak.core.domain import Action, BotState
from daybreak.core.risk import Rejection
from daybreak.drivers.account import Account, written_off
from daybreak.drivers.live_feed import STEP, LiveFeed, decision_arrays, history_needed
from daybreak.drivers.orders import OrderInFlight, OrderTracker
from daybreak.drivers.protection import Protection
from daybreak.drivers.replay import strategies_for
from daybreak.drivers.resting import LiveExecution
from daybreak.drivers.services import RunContext
from daybreak.drivers.stepper import Stepper, needs_atr
from daybreak.drivers.wiring import build_context, market_limits
from daybreak.exchange.capabilities import execution_problem
from daybreak.exchange.client import Exchange, ExchangeFatal, ExchangeUnavailable
from daybreak.ops.failpoints import Failpoints
from daybreak.ops.run_lock import AlreadyRunning
from storage.base import StorageError
from storage.records import PriceRecord

if TYPE_CHECKING:
    from daybreak.exchange.secrets import ApiKeys

log = logging.getLogger("daybreak")
MAX_BACKOFF_SECONDS = 300.0
CLOSE_DELAY_MS = 250
"""Wake this long after a candle boundary (the exchange needs a moment to close the candle)."""
DEFAULT_STALE_SECONDS = 30.0
"""Oldest price a fill or exit may use when ``risk.stale_data_seconds`` is off."""


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
    exchange needs one, the passphrase) in live mode, public only in paper mode (``keys`` None).
    ``DAYBREAK_EXCHANGE_URL`` (environment) points it at another API host (a local fake, a
    proxy); signed requests then go there."""
    url = os.environ.get("DAYBREAK_EXCHANGE_URL")
    urls = {"public": f"{url}/api/v3", "private": f"{url}/api/v3"} if url else None
    if keys is None:
        return Exchange(config.exchange, urls=urls)
    return Exchange(config.exchange, keys.api_key, keys.secret, urls=urls, password=keys.password)


def run_live(config_path, config: Config, should_stop: Callable[[], bool], exchange: Exchange | None = None,
             clock: Callable[[], int] | None = None, sleep: Callable[[float], None] | None = None,
             max_cycles: int | None = None) -> int:
    """Run until ``should_stop()``; returns the exit code (2: not allowed / bad input, 1: fatal)."""
    sleep = sleep or interruptible_sleep(should_stop)
    from daybreak.exchange.secrets import (  # lazy: boto3 for Secrets Manager, live mode only
        SecretsError,
        live_trading_allowed,
        load_api_keys,
    )

    keys = None
    if config.mode == "live":
        allowed, reason = live_trading_allowed(config)
        quotes = sorted({s.partition("/")[2] for s in config.symbols})
        if allowed and len(quotes) > 1:
            allowed, reason = False, f"symbols = {config.symbols}: live mode needs one quote currency, not {quotes}"
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
    except ExchangeFatal as err:
        log.error("%s", err)
        print(f"error: {err}")
        return 1
    problem = execution_problem(config, exchange.id, exchange.client.has, exchange.client.markets or {})
    if problem and config.mode == "live":
        log.error("%s", problem)
        print(f"error: {problem}")
        return 2
    if problem:
        log.warning("%s (paper mode simulates it anyway)", problem)
    try:
        ctx = build_context(config_path, config, None, markets, hold_lease=True)
    except AlreadyRunning as err:
        print(f"error: {err}")
        return 2
    clock = clock or exchange.now_ms
    try:
        loop = LiveLoop(ctx, exchange, clock)
        return _drive(loop, should_stop, sleep, max_cycles)
    finally:
        ctx.shutdown()
        exchange.close()


def _drive(loop: "LiveLoop", should_stop, sleep, max_cycles) -> int:
    ctx, cycles, failures = loop.ctx, 0, 0
    log.info("bot running in %s mode on %s: %s with %s", ctx.config.mode, ctx.config.exchange,
             ", ".join(ctx.config.symbols), ", ".join(ctx.config.enabled_algos()) or "no strategy")
    while not should_stop() and (max_cycles is None or cycles < max_cycles):
        cycles += 1
        try:
            ok = loop.cycle()
        except StorageError as err:  # trades are kept by the sink; the rest is retried next cycle
            log.error("storage unavailable this cycle: %s", err)
            ctx.error(str(err))
            ok = False
        if ctx.lease is not None and ctx.lease.lost:
            ctx.fatal(ctx.lease.lost, loop.clock())
            return 1
        if ctx.state is BotState.ERROR and (ctx.config.mode != "live" or loop.nothing_to_protect()):
            log.error("stopping in state ERROR (%s): nothing left to protect", ctx.reason)
            return 1
        failures = 0 if ok else failures + 1
        delay = loop.next_delay() if ok else min(ctx.config.poll_seconds * 2 ** failures, MAX_BACKOFF_SECONDS)
        if not ok:
            log.warning("exchange unreachable (%d in a row); retrying in %.0f s", failures, delay)
        sleep(delay)
    return 1 if ctx.state is BotState.ERROR else 0


class LiveLoop:
    """One poll cycle over every configured symbol (module docstring)."""

    def __init__(self, ctx: RunContext, exchange: Exchange, clock: Callable[[], int]):
        self.ctx, self.exchange, self.clock = ctx, exchange, clock
        eng = ctx.engine
        self.live = ctx.config.mode == "live"
        self.fresh: dict[str, float] = {}
        self.cursors: dict[str, int] = {}
        self.last_price_save = 0
        self.tracker = self.account = self.execution = None
        now = clock()
        ctx.booting = True
        ctx.announce(BotState.BOOTING, "starting: reading the account and the candle history", now)
        ctx.expire_controls(int(time.time() * 1000))
        if self.live:
            self._setup_live(now)
        self._setup()

    def _setup(self) -> None:
        config = self.ctx.config
        self.strategies = strategies_for(config)
        self.algos = [s.name for s in self.strategies]
        self.with_atr = needs_atr(config)
        old = getattr(self, "feed", None)
        self.feed = LiveFeed(self.exchange, config.symbols, history_needed(self.strategies))
        if old is not None:  # a config change: keep what was fetched, recompute on the next candle
            self.feed.frames = {s: f for s, f in old.frames.items() if s in config.symbols}
            self.feed.forming = old.forming
        self.started: set[str] = set()

    def _setup_live(self, now: int) -> None:
        ctx, eng = self.ctx, self.ctx.engine
        ctx.keeps_pending = False
        sink = eng.sink
        self.tracker = OrderTracker(ctx.store, self.exchange, eng.ledger, eng.markets, self.clock, sink.rejection,
                                    Failpoints.from_env())
        protection = Protection(self.tracker, self.exchange, eng, ctx.store, self.clock, sink.rejection)
        self.execution = LiveExecution(self.tracker, self.exchange, eng, self.clock, protection)
        sink.on_booked, sink.failpoints = self.execution.booked, self.tracker.failpoints
        eng.broker = self.execution
        legacy = list(eng.pending.values())   # a bot of an older version kept them as state
        eng.pending.clear()
        eng.sim.clear()                        # live orders rest on the exchange, never in the simulation
        for rec in self.tracker.restore(legacy):
            key = (rec.algo, rec.symbol)
            eng.pending[key] = rec.order()
            eng.in_flight.add(key)
        ctx.store.set_state("pending_orders", "[]")
        for symbol in eng.markets:
            off = written_off(ctx.store, symbol)
            if off and symbol in eng.ledger.dust:
                eng.ledger.dust[symbol] = max(0.0, eng.ledger.dust[symbol] - off)
        quote = ctx.config.symbols[0].partition("/")[2]
        self.account = Account(self.exchange, eng, ctx.store, self.tracker, quote, self.clock, sink.rejection)
        eng.gate.halt = Rejection("account_unknown", "the exchange balance has not been read yet")
        ctx.detail_extra["account"] = self.account.detail
        ctx.before_flatten = self._before_flatten

    # -- the cycle -----------------------------------------------------------------------------
    def cycle(self) -> bool:
        """Poll once. Returns False when the exchange could not be reached for something."""
        ctx, eng = self.ctx, self.ctx.engine
        if ctx.reload_config():
            self._setup()
        now = self.clock()
        eng.sink.retry_backlog()
        ok = self._poll_prices(now)
        if self.live:   # protective orders first: one that filled is the exit, before anything decides
            ok &= self._guard(lambda: self.execution.protection.check(now), now)
        if self.live and eng.in_flight:
            ok &= self._send({k[1] for k in eng.in_flight}, now)
        if self.live and self.account.due(now, ctx.config.account_sync_seconds):
            ok &= self._sync(now)
        ok &= self._poll_candles(now)
        prices = eng.last_price
        ctx.process_external(now, prices)
        ctx.process_controls(now, prices)
        ok &= self._send({k[1] for k in eng.pending if k not in eng.in_flight}, now)
        ok &= self._exits(now)
        if self.live:
            ok &= self._guard(lambda: self.execution.protection.ensure(now), now)
        if self.live and self.tracker.resync_wanted:
            ok &= self._sync(now)
        if now - self.last_price_save >= ctx.config.price_save_seconds * 1000:
            self._save_prices()
            self.last_price_save = now
        if ctx.booting and ok and (not self.live or self.account.synced_at):
            ctx.booting = False
        ctx.heartbeat(now)
        return ok

    def next_delay(self) -> float:
        """Seconds until the next cycle: ``poll_seconds``, or less to wake at the next close."""
        now = self.clock()
        to_close = (STEP - now % STEP + CLOSE_DELAY_MS) / 1000
        return max(0.05, min(self.ctx.config.poll_seconds, to_close))

    def nothing_to_protect(self) -> bool:
        eng = self.ctx.engine
        return not eng.ledger.positions and not eng.pending

    def _stale_ms(self) -> float:
        return (self.ctx.config.risk.stale_data_seconds or DEFAULT_STALE_SECONDS) * 1000

    def _poll_prices(self, now: int) -> bool:
        """One ticker request for every symbol: fresh prices, or none this cycle."""
        try:
            tickers = self.exchange.fetch_tickers(self.ctx.config.symbols)
        except ExchangeUnavailable as err:
            self.fresh = {}
            self._outage(str(err), now)
            return False
        except ExchangeFatal as err:
            self.fresh = {}
            self._fatal(str(err), now)
            return True
        self.fresh = {s: t.last for s, t in tickers.items() if now - t.timestamp <= self._stale_ms()}
        self.ctx.engine.last_price.update(self.fresh)
        self.ctx.engine.quotes = {s: (t.bid, t.ask) for s, t in tickers.items()
                                  if s in self.fresh and t.bid and t.ask}
        return True

    def _poll_candles(self, now: int) -> bool:
        ctx, feed = self.ctx, self.feed
        try:
            new = feed.poll(now)
        except ExchangeFatal as err:
            self._fatal(str(err), now)
            return True
        for symbol in ctx.config.symbols:
            if symbol in new or symbol not in self.started:
                self._decide(symbol, len(new.get(symbol, ())), now)
            error = feed.errors.get(symbol, "")
            ctx.feed_status[symbol] = {"last_candle": feed.last_close(symbol), "error": error}
            if error:
                self._outage(error, now)
        return not feed.errors

    def _decide(self, symbol: str, n_new: int, now: int) -> None:
        """Step the new closed candles of ``symbol`` through the stepper's decisions."""
        ctx, frame = self.ctx, self.feed.frames.get(symbol)
        if frame is None or frame.empty:
            return
        closes = frame["timestamp"].to_numpy() + STEP
        if symbol not in self.cursors:
            self.cursors[symbol] = ctx.cursor(symbol)
            if self.cursors[symbol] == 0:  # a fresh store: the history is warm-up, not decisions
                self.cursors[symbol] = int(closes[-1])
                ctx.set_cursor(symbol, int(closes[-1]), durable=True)
        full = symbol not in self.started
        first = 0 if full else len(frame) - n_new
        rows = [k for k in range(first, len(frame)) if closes[k] > self.cursors[symbol]]
        self.started.add(symbol)
        if not rows:
            return
        arrays = decision_arrays(symbol, frame, self.strategies, self.with_atr, None if full else rows)
        stepper = Stepper(ctx.engine, {symbol: arrays}, self.algos)
        for k in rows:
            stepper.decide(symbol, k, max(0, now - int(closes[k]) - STEP))
        self.cursors[symbol] = int(closes[rows[-1]])
        ctx.set_cursor(symbol, self.cursors[symbol], durable=self.live)

    def _send(self, symbols: set[str], now: int) -> bool:
        """Pending orders of ``symbols``: paper fills, live orders (see the module docstring)."""
        eng, ok = self.ctx.engine, True
        for symbol in sorted(symbols):
            if not self.live:
                ref = self._paper_reference(symbol, now)
                if ref is not None:
                    ok &= self._guard(lambda s=symbol, r=ref: eng.fill_pending(s, r[1], r[0]), now)
                continue
            if self.ctx.state is BotState.ERROR:
                self._drop_entries(symbol)
            price = self.fresh.get(symbol, eng.last_price.get(symbol))
            in_flight = any(k[1] == symbol for k in eng.in_flight)
            if price is not None and (in_flight or symbol in self.fresh):
                ok &= self._guard(lambda s=symbol, p=price: eng.fill_pending(s, p, now), now)
        return ok

    def _paper_reference(self, symbol: str, now: int) -> tuple[int, float] | None:
        """(time, price) a paper order of ``symbol`` fills at: the open of the candle after its
        decision when that candle is forming now, else the fresh polled price."""
        eng = self.ctx.engine
        decided = min(o.decided_at for k, o in eng.pending.items() if k[1] == symbol)
        forming = self.feed.forming_open(symbol, decided)
        if forming is not None and now - forming[0] <= self._stale_ms():
            return forming
        price = self.fresh.get(symbol)
        return None if price is None else (now, price)

    def _exits(self, now: int) -> bool:
        eng, ok = self.ctx.engine, True
        for symbol, price in sorted(self.fresh.items()):
            if eng.plans or eng.resting:
                ok &= self._guard(lambda s=symbol, p=price: eng.check_exits(s, [p], now), now)
        return ok

    def _guard(self, fn, now: int) -> bool:
        """Run one engine step; False when the exchange could not be reached."""
        try:
            fn()
        except OrderInFlight as err:
            log.warning("%s", err)
        except ExchangeUnavailable as err:
            self._outage(f"order not completed, retried next cycle: {err}", now)
            return False
        except ExchangeFatal as err:
            self._fatal(str(err), now)
        return True

    def _sync(self, now: int) -> bool:
        try:
            self.account.sync(now)
        except ExchangeUnavailable as err:
            self._outage(f"account not read: {err}", now)
            return False
        except ExchangeFatal as err:
            self._fatal(str(err), now)
            return True
        if self.ctx.state is not BotState.ERROR:
            self.ctx.engine.gate.halt = None
        return True

    def _outage(self, message: str, now: int) -> None:
        self.ctx.error(message, now)
        log.error("%s", message)

    def _fatal(self, reason: str, now: int) -> None:
        self.ctx.fatal(reason, now)
        if self.tracker is not None:
            self.tracker.halted = reason

    def _drop_entries(self, symbol: str) -> None:
        """State ERROR: entries not sent yet are dropped (exits go on)."""
        eng = self.ctx.engine
        for key in [k for k, o in eng.pending.items() if k[1] == symbol and o.action is Action.BUY]:
            if key not in eng.in_flight:
                del eng.pending[key]

    def _before_flatten(self) -> None:
        """A flatten decides afresh: exits waiting for a retry (surely not at the exchange) go."""
        eng = self.ctx.engine
        self.execution.abandon_all()
        for rec in self.tracker.drop_unsent():
            key = (rec.algo, rec.symbol)
            eng.pending.pop(key, None)
            eng.in_flight.discard(key)

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
        self.ctx.store.put_prices(records)
