"""One cycle of the live loop (:class:`LiveLoop`); :func:`daybreak.drivers.live.run_live` runs it.

The cycle's steps are listed in :mod:`daybreak.drivers.live`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from daybreak.core.domain import Action, BotState
from daybreak.core.risk import Rejection
from daybreak.drivers.account import Account, written_off
from daybreak.drivers.live_feed import STEP, LiveFeed, decision_arrays, history_needed
from daybreak.drivers.orders import OrderInFlight, OrderTracker
from daybreak.drivers.protection import Protection
from daybreak.drivers.replay import strategies_for
from daybreak.drivers.resting import LiveExecution
from daybreak.drivers.services import RunContext
from daybreak.drivers.sink import StoreSink
from daybreak.drivers.stepper import Stepper, needs_atr
from daybreak.drivers.wiring import market_limits
from daybreak.exchange.client import Exchange, ExchangeFatal, ExchangeUnavailable
from daybreak.ops.failpoints import Failpoints
from storage.records import PriceRecord

log = logging.getLogger("daybreak")
CLOSE_DELAY_MS = 100
"""Wake this long after a candle boundary (the exchange needs a moment to close the candle)."""
LATE_RETRY_SECONDS, LATE_WINDOW_MS = 0.5, 5_000
"""A candle the exchange has not closed yet this soon after its boundary is asked for again
after half a second (within 5 s of the boundary; then at the normal poll)."""
DEFAULT_STALE_SECONDS = 30.0
"""Oldest price a fill or exit may use when ``risk.stale_data_seconds`` is off."""


class LiveLoop:
    """One poll cycle over every configured symbol (module docstring)."""

    def __init__(self, ctx: RunContext, exchange: Exchange, clock: Callable[[], int]):
        self.ctx, self.exchange, self.clock = ctx, exchange, clock
        self.live = ctx.config.mode == "live"
        self.fresh: dict[str, float] = {}
        self.cursors: dict[str, int] = {}
        self.last_price_save = 0
        # live mode only (set by _setup_live; the mode never changes while the bot runs)
        self.tracker: OrderTracker | None = None
        self.account: Account | None = None
        self.execution: LiveExecution | None = None
        now = clock()
        ctx.booting = True
        ctx.announce(BotState.BOOTING, "starting: reading the account and the candle history", now)
        ctx.expire_controls(int(time.time() * 1000))
        if self.live:
            self._setup_live(now)
        self._setup()

    def _setup(self) -> None:
        config = self.ctx.config
        markets = self.ctx.engine.markets  # a symbol added by a config change needs its limits
        for symbol, limits in market_limits(config, self.exchange.limits).items():
            markets.setdefault(symbol, limits)
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
        assert isinstance(sink, StoreSink)  # build_context gives every bot process a StoreSink
        self.tracker = tracker = OrderTracker(
            ctx.store, self.exchange, eng.ledger, eng.markets, self.clock, sink.rejection, Failpoints.from_env()
        )
        protection = Protection(tracker, self.exchange, eng, ctx.store, self.clock, sink.rejection)
        self.execution = execution = LiveExecution(tracker, self.exchange, eng, self.clock, protection)
        sink.on_booked, sink.failpoints = execution.booked, tracker.failpoints
        eng.broker = execution
        legacy = list(eng.pending.values())  # a bot of an older version kept them as state
        eng.pending.clear()
        eng.sim.clear()  # live orders rest on the exchange, never in the simulation
        for rec in tracker.restore(legacy):
            key = (rec.algo, rec.symbol)
            eng.pending[key] = rec.order()
            eng.in_flight.add(key)
        ctx.store.set_state("pending_orders", "[]")
        for symbol in eng.markets:
            off = written_off(ctx.store, symbol)
            if off and symbol in eng.ledger.dust:
                eng.ledger.dust[symbol] = max(0.0, eng.ledger.dust[symbol] - off)
        quote = ctx.config.symbols[0].partition("/")[2]
        self.account = account = Account(self.exchange, eng, ctx.store, tracker, quote, self.clock, sink.rejection)
        eng.gate.halt = Rejection("account_unknown", "the exchange balance has not been read yet")
        eng.ledger.set_account(0.0)  # not paper.starting_balance: nothing is known until the first read
        ctx.detail_extra["account"] = account.detail
        ctx.before_flatten = self._before_flatten

    # -- the cycle -----------------------------------------------------------------------------
    def cycle(self) -> bool:
        """Poll once. Returns False when the exchange could not be reached for something."""
        ctx, eng = self.ctx, self.ctx.engine
        if ctx.reload_config():
            self._setup()
        now = self.clock()
        if isinstance(eng.sink, StoreSink):
            eng.sink.retry_backlog()
        ok = True
        # set in live mode only (self.live)
        tracker, account, execution = self.tracker, self.account, self.execution
        if execution is not None:  # protective orders first: one that filled is the exit, before anything decides
            ok &= self._guard(lambda: execution.protection.check(now), now)
        if self.live and eng.in_flight:  # before anything decides: resolve what is in flight
            ok &= self._send({k[1] for k in eng.in_flight}, now)
        if account is not None and account.synced_at is None:
            ok &= self._sync(now)
        ok &= self._poll_candles(now)  # first: a closed candle is acted on at once
        ok &= self._poll_prices(now)
        if account is not None and account.due(now, ctx.config.account_sync_seconds):
            ok &= self._sync(now)
        prices = eng.last_price
        ctx.process_external(now, prices)
        ctx.process_controls(now, prices)
        ok &= self._send({k[1] for k in eng.pending if k not in eng.in_flight}, now)
        ok &= self._exits(now)
        if execution is not None:
            ok &= self._guard(lambda: execution.protection.ensure(now), now)
        if tracker is not None and tracker.resync_wanted:
            ok &= self._sync(now)
        if now - self.last_price_save >= ctx.config.price_save_seconds * 1000:
            self._save_prices()
            self.last_price_save = now
        if ctx.booting and ok and (account is None or account.synced_at):
            ctx.booting = False
        ctx.heartbeat(now)
        return ok

    def next_delay(self) -> float:
        """Seconds until the next cycle: ``poll_seconds``, or less to wake at the next close (or
        to ask again for a candle the exchange had not closed yet)."""
        now = self.clock()
        if now % STEP < LATE_WINDOW_MS and self.feed.due(now):
            return LATE_RETRY_SECONDS
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
        self.ctx.engine.quotes = {s: (t.bid, t.ask) for s, t in tickers.items() if s in self.fresh and t.bid and t.ask}
        return True

    def _poll_candles(self, now: int) -> bool:
        """Klines of the symbols whose candle closed; each symbol decided as its reply arrives."""
        ctx, feed = self.ctx, self.feed
        for symbol, n_new in feed.poll(now):
            if n_new or symbol not in self.started:
                self._decide(symbol, n_new, now)
        for symbol in ctx.config.symbols:
            error = feed.errors.get(symbol)
            ctx.feed_status[symbol] = {"last_candle": feed.last_close(symbol), "error": str(error or "")}
            if isinstance(error, ExchangeFatal):  # e.g. a delisted symbol: a person has to act
                self._fatal(str(error), now)
            elif error is not None:
                self._outage(str(error), now)
        return not [e for e in feed.errors.values() if not isinstance(e, ExchangeFatal)]

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
        oldest = now - self._stale_ms() - STEP
        stale = [k for k in rows if closes[k] < oldest]
        if stale:  # closed while no bot ran, or during an outage: history now, not decisions
            log.warning(
                "%s: %d candle(s) closed more than %.0f s ago are not acted on",
                symbol,
                len(stale),
                (now - oldest) / 1000,
            )
            rows = rows[len(stale) :]
            self.cursors[symbol] = int(closes[stale[-1]])
        if not rows:
            if stale:
                ctx.set_cursor(symbol, self.cursors[symbol], durable=self.live)
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
        assert self.account is not None  # _sync runs in live mode only, which has an account
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
        assert self.execution is not None and self.tracker is not None  # set by _setup_live, which hooks this
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
            records.append(
                PriceRecord(
                    symbol,
                    ts,
                    float(row["close"]),
                    float(row["open"]),
                    float(row["high"]),
                    float(row["low"]),
                    float(row["volume"]),
                    ts // 1000 + retention,
                )
            )
        self.ctx.put_prices(records)  # through the sink's backlog: kept while storage fails
