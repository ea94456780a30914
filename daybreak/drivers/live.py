"""The live loop: the replay's stepper on polled closed candles, fills and exits at polled prices.

Each cycle (100 ms after each candle close, and every ``poll_seconds`` in between):

1. live: orders whose outcome is unknown are looked up by their client id first
   (:mod:`daybreak.drivers.orders`), so nothing below decides while one is in flight; the
   account is read before the first decision (entries wait for it);
2. klines, only for the symbols whose candle has closed, all at once; each symbol's new closed
   candles go through the stepper's :meth:`~daybreak.drivers.stepper.Stepper.decide` (ATR and
   strategy signals, exactly as replay and backtest: :mod:`daybreak.drivers.live_feed`) as soon
   as its reply arrives;
3. one ticker request for every configured symbol's last price (``fetch_tickers``); a symbol
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
prices, and a live bot does not act on a candle that closed more than the stale limit before it
saw it (after a stop or an outage those candles only warm up the indicators). At start the warm-up history is fetched and computed once per strategy over the whole
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

from daybreak.core.config import Config
from daybreak.core.domain import BotState
from daybreak.drivers.alerts import Alerts
from daybreak.drivers.live_loop import CLOSE_DELAY_MS, LiveLoop
from daybreak.drivers.wiring import build_context, market_limits
from daybreak.exchange.capabilities import execution_problem
from daybreak.exchange.client import Exchange, ExchangeFatal, ExchangeUnavailable, urls_from_env
from daybreak.exchange.secrets import (
    ApiKeys,
    SecretsError,
    live_trading_allowed,
    load_api_keys,
)
from daybreak.ops.run_lock import AlreadyRunning
from storage.base import StorageError

__all__ = ["CLOSE_DELAY_MS", "LiveLoop", "connect", "interruptible_sleep", "run_live"]

log = logging.getLogger("daybreak")
MAX_BACKOFF_SECONDS = 300.0


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
    urls = urls_from_env()
    if keys is None:
        return Exchange(config.exchange, urls=urls)
    return Exchange(config.exchange, keys.api_key, keys.secret, urls=urls, password=keys.password)


def run_live(
    config_path: str | os.PathLike,
    config: Config,
    should_stop: Callable[[], bool],
    exchange: Exchange | None = None,
    clock: Callable[[], int] | None = None,
    sleep: Callable[[float], None] | None = None,
    max_cycles: int | None = None,
    alerts: Alerts | None = None,
) -> int:
    """Run until ``should_stop()``; returns the exit code (2: not allowed / bad input, 1: fatal or
    writes left unsaved). ``alerts``: the process's operator alerts (:mod:`daybreak.drivers.alerts`)."""
    sleep = sleep or interruptible_sleep(should_stop)
    keys: ApiKeys | None = None
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
        if keys is None:  # live_trading_allowed found them a moment ago; gone since (environment, secret)
            log.error("live trading refused: no API keys for %s", config.exchange)
            print(f"error: live trading refused: no API keys for {config.exchange}")
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
        ctx = build_context(config_path, config, None, markets, alerts=alerts, hold_lease=True)
    except AlreadyRunning as err:
        print(f"error: {err}")
        return 2
    clock = clock or exchange.now_ms
    try:
        if config.mode == "live":  # the Orders table must exist before any order (init-db after an upgrade)
            try:
                ctx.store.list_orders(limit=1)
            except StorageError as err:
                log.error("%s", err)
                print(f"error: {err}")
                return 1
        loop = LiveLoop(ctx, exchange, clock)
        code = _drive(loop, should_stop, sleep, max_cycles)
    finally:
        unsaved = ctx.shutdown()
        exchange.close()
    return code or (1 if unsaved else 0)  # writes left unsaved (in unsaved-writes.jsonl): never a success


def _drive(loop: LiveLoop, should_stop, sleep, max_cycles) -> int:
    ctx, cycles, failures = loop.ctx, 0, 0
    log.info(
        "bot running in %s mode on %s: %s with %s",
        ctx.config.mode,
        ctx.config.exchange,
        ", ".join(ctx.config.symbols),
        ", ".join(ctx.config.enabled_algos()) or "no strategy",
    )
    while not should_stop() and (max_cycles is None or cycles < max_cycles):
        cycles += 1
        ctx.retry_at = None
        try:
            ok = loop.cycle()
        except StorageError as err:  # trades are kept by the sink; the rest is retried next cycle
            log.error("storage unavailable this cycle: %s", err)
            ctx.error(str(err))
            ok = False
        if ctx.lease is not None and ctx.lease.lost:
            ctx.fatal(ctx.lease.lost, loop.clock())
            return 1
        fatal = ctx.state is BotState.ERROR and not ctx.storage_paused  # storage trouble recovers by itself
        if fatal and (ctx.config.mode != "live" or loop.nothing_to_protect()):
            log.error("stopping in state ERROR (%s): nothing left to protect", ctx.reason)
            return 1
        failures = 0 if ok else failures + 1
        delay = loop.next_delay() if ok else min(ctx.config.poll_seconds * 2**failures, MAX_BACKOFF_SECONDS)
        if not ok:
            log.warning("exchange unreachable (%d in a row); retrying in %.0f s", failures, delay)
            ctx.backoff(delay)
        sleep(delay)
    return 1 if ctx.state is BotState.ERROR and not ctx.storage_paused else 0
