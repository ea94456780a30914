"""What every driver of the bot loop shares: persistence of engine output, config hot-reload,
manual controls, external signals, the heartbeat and the stats updater.

The replay driver (:mod:`daybreak.drivers.replay`) and the live driver (:mod:`daybreak.drivers.live`) call these
between candles; neither holds trading rules of its own.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.core.config import Config, ConfigError
from daybreak.core.domain import (
    Action,
    BotState,
    ExitReason,
    Order,
)
from daybreak.core.engine import Engine
from daybreak.core.risk import Rejection
from daybreak.drivers.alerts import Alerts
from daybreak.drivers.controls import Controls
from daybreak.drivers.inbox import SCAN_SECONDS, SignalInbox
from daybreak.drivers.sink import StoreSink
from daybreak.ops import config_versions
from daybreak.ops.config_file import load_config
from daybreak.reporting.stats import daily_stat_records, stat_records
from storage.base import StorageError, Store
from storage.records import PriceRecord, StatusRecord

if TYPE_CHECKING:
    from daybreak.ops.run_lock import StoreLease

log = logging.getLogger("daybreak")
INBOX_SECONDS = 1.0
"""Replay: wall-clock seconds between reads of the Signals and Controls inboxes (live reads
them every poll)."""


class StatsUpdater:
    """Recomputes the Stats table from stored trades in a background thread (never in the loop):
    the totals per strategy and the daily aggregates (trading days in ``day_timezone``, which
    :meth:`RunContext.reload_config` keeps current)."""

    def __init__(
        self, store: Store, clock: Callable[[], int] = lambda: int(time.time() * 1000), day_timezone: str = "UTC"
    ) -> None:
        self.store, self.clock = store, clock
        self.day_timezone = day_timezone
        self._event = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stats", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._event.set()

    def _records(self):
        trades, now = self.store.list_trades(), self.clock()
        return stat_records(trades, now) + daily_stat_records(trades, self.day_timezone, now)

    def _run(self) -> None:
        while not self._stop:
            self._event.wait()
            self._event.clear()
            try:
                self.store.put_stats(self._records())
            except Exception as err:
                log.error("stats update failed: %s", err)

    def close(self) -> None:
        """Write the final stats synchronously (logged when storage refuses) and stop the thread."""
        self._stop = True
        self._event.set()
        self._thread.join(timeout=10)
        try:
            self.store.put_stats(self._records())
        except StorageError as err:
            log.error("final stats not stored: %s", err)


class RunContext(Controls):
    """Services around the engine for one bot process."""

    def __init__(
        self,
        config_path: str | os.PathLike,
        config: Config,
        store: Store,
        engine: Engine,
        stats: StatsUpdater,
        alerts: Alerts | None = None,
    ):
        self.config_path = Path(config_path)
        self.config = config
        self.store = store
        self.engine = engine
        self.stats = stats
        self.alerts = alerts or Alerts(None)
        self._mtime = self._stat()
        self.state = BotState.BOOTING
        self.reason = ""
        self.last_error = ""
        self.last_error_at: int | None = None
        self.feed_status: dict[str, dict] = {}
        self.last_now: int | None = None
        self.run_kind = "live"
        """``replay`` when the clock is simulated (set by the replay driver): the dashboard then
        ages the heartbeat by its wall time and labels the market time as a replay's."""
        self.retry_at: int | None = None
        """Wall time (ms) of the next attempt while the live loop backs off (None otherwise)."""
        self._inbox: dict[str, tuple[float, list]] = {}
        self.inbox_seconds = 0.0
        self.config_version: int | None = None
        """Number of the stored config version in force (:mod:`daybreak.ops.config_versions`)."""
        self.inbox_scan_seconds = SCAN_SECONDS
        self.simulated_clock = False
        """Replay: rows stamped after the simulated clock wait for it (live refuses far-future rows)."""
        self.signals = SignalInbox(self)
        self._cursors: dict[str, int] = {}
        self._storage_paused = False
        self.keeps_pending = True
        """Pending orders are kept as State ``pending_orders`` (paper, replay); live mode keeps
        every order in the Orders table instead."""
        self.detail_extra: dict[str, Callable[[], object]] = {}
        """More status-row detail: key -> a function giving its value (live: the account)."""
        self.before_flatten: Callable[[], None] | None = None
        """Called before a flatten decides (live: gives up exits waiting for a retry)."""
        self._flattened: dict[str, int] = {}  # flatten control id -> its first attempt (ms)
        self.booting = False
        """While True (live start, until the account and history are read) the state stays BOOTING."""
        self.lease: StoreLease | None = None
        """The store's one-bot lease (:class:`~daybreak.ops.run_lock.StoreLease`) when held."""

    # -- restart -------------------------------------------------------------------------------
    def restore(self) -> None:
        """Load positions, cash, risk counters, pending orders and the manual pause from storage."""
        self.engine.restore(self.store.list_trades(), self.store.list_positions())
        raw = self.store.get_state("pending_orders")
        for item in json.loads(raw) if raw else []:
            reason = item.get("reason")  # exits of risk rules and flattens carry theirs
            order = Order(
                item["client_order_id"],
                item["algo"],
                item["symbol"],
                Action(item["action"]),
                item["amount"],
                item["decided_at"],
                ExitReason(reason) if reason else None,
                item.get("kind", "market"),
                item.get("price"),
                item.get("ref_price"),
            )
            self.engine.pending[(order.algo, order.symbol)] = order
            if "placed_at" in item:  # a simulated order resting when the run stopped
                self.engine.sim.restore((order.algo, order.symbol), order, item["placed_at"], item["deadline"])
        pause = self.store.get_state("manual_pause")
        self.engine.gate.manual_pause = pause or None

    def save_pending(self) -> None:
        if not self.keeps_pending:
            return
        resting = self.engine.resting
        data = []
        for key, o in self.engine.pending.items():
            item = {
                "client_order_id": o.client_order_id,
                "algo": o.algo,
                "symbol": o.symbol,
                "action": o.action.value,
                "amount": o.amount,
                "decided_at": o.decided_at,
                "reason": o.reason.value if o.reason else None,
                "kind": o.kind,
                "price": o.price,
                "ref_price": o.ref_price,
            }
            if key in resting:
                item.update(placed_at=resting[key].placed_at, deadline=resting[key].deadline)
            data.append(item)
        self.set_state("pending_orders", json.dumps(data))

    def set_state(self, key: str, value: str) -> None:
        """Store a piece of state through the sink's backlog (kept and retried when storage fails)."""
        sink = self.engine.sink
        if isinstance(sink, StoreSink):
            sink.state(key, value)
        else:
            self.store.set_state(key, value)

    def put_prices(self, records: list[PriceRecord]) -> None:
        """Store prices through the sink's backlog (kept and retried when storage fails)."""
        sink = self.engine.sink
        if isinstance(sink, StoreSink):
            sink.prices(records)
        else:
            self.store.put_prices(records)

    def cursor(self, symbol: str) -> int:
        """Close time (ms) of the last candle of ``symbol`` the bot acted on (0: none): the last
        value this process set (stored or still in the backlog), else the stored one."""
        if symbol not in self._cursors:
            raw = self.store.get_state(f"cursor:{symbol}")
            self._cursors[symbol] = int(raw) if raw else 0
        return self._cursors[symbol]

    def set_cursor(self, symbol: str, close_ts: int, durable: bool = False) -> None:
        """Remember the last candle acted on. ``durable`` (live): written synchronously; otherwise
        through the sink's backlog (kept in order and retried when storage fails)."""
        self._cursors[symbol] = close_ts
        if durable:
            self.store.set_state(f"cursor:{symbol}", str(close_ts), durable=True)
        else:
            self.set_state(f"cursor:{symbol}", str(close_ts))

    # -- config --------------------------------------------------------------------------------
    def _stat(self) -> float:
        try:
            return self.config_path.stat().st_mtime_ns
        except OSError:
            return 0

    def reload_config(self) -> bool:
        """Apply ``config.json`` if it changed and is valid; keep the last good one otherwise."""
        mtime = self._stat()
        if mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            cfg = load_config(self.config_path)
        except ConfigError as err:
            log.error("config change refused, keeping the last good config: %s", err)
            self.error(str(err))
            return False
        if cfg.storage != self.config.storage or cfg.mode != self.config.mode or cfg.exchange != self.config.exchange:
            log.error("config change refused: storage, mode and exchange need a restart")
            self.error("storage/mode/exchange changes need a restart")
            return False
        self.config = cfg
        self.engine.apply_config(cfg)
        if self.alerts.notifier is not None:
            self.alerts.notifier.settings = cfg.notify
        self.stats.day_timezone = cfg.risk.day_timezone
        log.info("config applied from %s", self.config_path)
        self.track_config()
        return True

    @property
    def storage_paused(self) -> bool:
        """State ERROR only because writes wait to be stored (it lifts by itself when they are)."""
        return self._storage_paused

    def track_config(self) -> None:
        """Store the config in force as a version (``file edit``, unless the dashboard or the CLI
        stored it before writing the file) and log its number. Never raises."""
        try:
            doc = config_versions.read_document(self.config_path)
            rec = config_versions.track(self.store, doc, config_versions.FILE_EDIT, int(time.time() * 1000))
        except (ConfigError, StorageError, RuntimeError) as err:
            log.error("config version not recorded: %s", err)
            return
        self.config_version = rec.version
        log.info("config version %d in force (by %s%s)", rec.version, rec.author, f", {rec.note}" if rec.note else "")

    def _pending_rows(self, kind: str, fetch: Callable[[], Iterable]) -> list:
        """New signals / pending controls, read from the store at most once per
        ``inbox_seconds`` of wall time (replay sets :data:`INBOX_SECONDS`: it runs many candles a
        second); rows acted on leave the cache, rows inserted meanwhile are seen at the next read."""
        now = time.monotonic()
        cached = self._inbox.get(kind)
        if cached is None or now - cached[0] >= self.inbox_seconds:
            cached = (now, list(fetch()))
            self._inbox[kind] = cached
        return list(cached[1])

    # -- external signals ------------------------------------------------------------------------
    def process_external(self, now_ms: int, price_of: dict[str, float]) -> None:
        """Act on the Signals inbox (:mod:`daybreak.drivers.inbox`): rows the clock has reached. A
        storage failure is logged and leaves the rows for the next cycle."""
        try:
            self.signals.process(now_ms, price_of)
        except StorageError as err:
            log.error("signal inbox not read this cycle (storage): %s", err)
            self.error(f"signal inbox: {err}", now_ms)

    # -- heartbeat -----------------------------------------------------------------------------
    def error(self, message: str, now_ms: int | None = None) -> None:
        self.last_error = message
        self.last_error_at = now_ms or int(time.time() * 1000)

    def backoff(self, delay_seconds: float) -> None:
        """The loop waits ``delay_seconds`` before its next attempt: say so in one heartbeat
        (``detail.retry_at``), so the dashboard shows "exchange unreachable, next retry in N s"
        instead of a missing heartbeat."""
        self.retry_at = int(time.time() * 1000 + delay_seconds * 1000)
        self.heartbeat(self.last_now or int(time.time() * 1000))

    def announce(self, state: BotState, reason: str, now_ms: int) -> None:
        """Store ``state`` now (e.g. ``BOOTING`` at start), without waiting for the next beat."""
        self.state, self.reason = state, reason
        self.heartbeat(now_ms)

    def fatal(self, reason: str, now_ms: int) -> None:
        """State ``ERROR`` with ``reason``, stored and kept (shutdown does not replace it): no new
        entry from now on; exits go on."""
        if self.state is not BotState.ERROR:
            log.error("STATE ERROR: %s (no new entries; exits continue)", reason)
        self.engine.gate.halt = Rejection("error_state", f"state ERROR: {reason}")
        self.error(reason, now_ms)
        self.announce(BotState.ERROR, reason, now_ms)

    def heartbeat(self, now_ms: int) -> None:
        self.last_now = now_ms
        gate = self.engine.gate
        sink = self.engine.sink if isinstance(self.engine.sink, StoreSink) else None
        fault = sink.fault if sink is not None else ""  # only a StoreSink keeps a backlog
        if (
            self.state is not BotState.SHUTDOWN
            and not self.booting
            and (self.state is not BotState.ERROR or self._storage_paused)
        ):
            blocked = gate.account_block(now_ms)
            self._storage_paused = bool(fault)
            if fault and sink is not None:
                self.state = BotState.ERROR
                self.reason = f"storage failing; new entries paused until {sink.unsaved()} write(s) are stored"
            elif gate.manual_pause:
                self.state, self.reason = BotState.PAUSED_MANUAL, f"paused by {gate.manual_pause}"
            elif blocked is not None and blocked.rule in ("daily_max_loss", "max_trades_per_day", "loss_streak_pause"):
                self.state, self.reason = BotState.PAUSED_RISK_LIMIT, blocked.message
            else:
                self.state, self.reason = BotState.RUNNING, ""
        if fault and sink is not None:
            self.error(f"{sink.unsaved()} storage write(s) waiting to be saved (retried every cycle): {fault}", now_ms)
        self.watch(now_ms)
        detail = {
            "limits": gate.limits_snapshot(now_ms),
            "feed": self.feed_status,
            "cash": self.engine.ledger.cash,
            "equity": self.engine.ledger.equity(self.engine.last_price),
            "positions": len(self.engine.ledger.positions),
            "notify": self.alerts.status(),
            "run": self.run_kind,
            "wall_ms": int(time.time() * 1000),
            "retry_at": self.retry_at,
        }
        if self.config_version is not None:
            detail["config_version"] = self.config_version
        if fault and sink is not None:
            detail["storage"] = {"unsaved": sink.unsaved(), "error": fault, "since": sink.fault_since}
        detail.update({k: fn() for k, fn in self.detail_extra.items()})
        try:
            self.store.put_status(
                StatusRecord(
                    now_ms, self.config.mode, self.state.value, self.reason, self.last_error, self.last_error_at, detail
                )
            )
        except StorageError as err:
            log.error("heartbeat not stored: %s", err)
            self.alerts.storage_failed(f"heartbeat not stored: {err}", now_ms)
        else:
            if not fault:
                self.alerts.storage_ok(now_ms)

    def watch(self, now_ms: int) -> None:
        """Alerts for risk limits, the feed and the day boundary (every heartbeat; replay: every candle)."""
        if self.alerts.on:
            self.alerts.watch(now_ms, self.engine, self.store, self.feed_status)

    def shutdown(self, now_ms: int | None = None) -> int:
        """Final heartbeat (SHUTDOWN, at the last clock time the loop saw: simulated in replay),
        final stats, flush and close the store. Returns the number of writes that could not be
        stored (written to ``unsaved-writes.jsonl`` beside the log); raises StorageError when the
        store fails to close (DynamoDB: queued writes left)."""
        if self.state is BotState.ERROR:
            self.alerts.state_error(self.last_error or self.reason or "fatal error", now_ms)
        if self.state is not BotState.ERROR or self._storage_paused:  # a fatal ERROR and its reason stay
            self.state, self.reason = BotState.SHUTDOWN, "stopped"
        unsaved = 0
        try:
            self.save_pending()
            sink = self.engine.sink
            if isinstance(sink, StoreSink) and not sink.retry_backlog():
                unsaved = sink.unsaved()
                sink.dump_backlog(Path(self.config.log.path).with_name("unsaved-writes.jsonl"))
            self.heartbeat(now_ms or self.last_now or int(time.time() * 1000))
            self.stats.close()
        finally:
            self.alerts.close()
            try:
                if self.lease is not None:
                    self.lease.release()
            finally:
                self.store.close()
        return unsaved
