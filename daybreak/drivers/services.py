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
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from daybreak.core import external
from daybreak.core.config import Config, ConfigError
from daybreak.core.domain import (
    Action,
    BotState,
    Control,
    Event,
    ExitReason,
    Order,
    Position,
    SignalStatus,
    Trade,
)
from daybreak.core.engine import Engine
from daybreak.core.ledger import LAST_ORDER
from daybreak.core.risk import Rejection
from daybreak.drivers.controls import Controls
from daybreak.ops.config_file import load_config
from daybreak.ops.failpoints import Failpoints
from daybreak.reporting.stats import stat_records
from storage.base import StorageError, Store
from storage.records import StatusRecord

log = logging.getLogger("daybreak")
INBOX_SECONDS = 1.0
"""Replay: wall-clock seconds between reads of the Signals and Controls inboxes (live reads
them every poll)."""


class StoreSink:
    """Engine outputs -> storage, one readable log line per trade and rejection.

    A write the store refuses (:class:`StorageError`, after the backend's own retries) is kept
    in order and retried by :meth:`retry_backlog` every cycle, never dropped; what is still
    unsaved at shutdown is written to a JSON-lines file beside the log (:meth:`dump_backlog`).
    A fill's writes come in the order the order tracker's crash recovery relies on: the trade,
    the position (durable), then ``on_booked(client_order_id)`` (live: marks the order booked).
    A position change that only moves the high-water mark or the stop is written non-durably.
    """

    def __init__(self, store: Store, stats: "StatsUpdater"):
        self.store, self.stats = store, stats
        self.backlog: list[tuple[str, object]] = []
        self.on_booked: Callable[[str], None] | None = None
        self.failpoints = Failpoints()
        self._written: dict[tuple[str, str], tuple] = {}

    def trade(self, trade: Trade) -> None:
        self._write("trade", trade)

    def position(self, key: tuple[str, str], position: Position | None) -> None:
        self._write("position", (key, None if position is None else position.copy()))

    def rejection(self, event: Event) -> None:
        self._write("event", event)

    def booked(self, trade: Trade) -> None:
        if self.on_booked is not None:
            self._write("booked", trade.order_id)

    def _write(self, kind: str, item) -> None:
        if self.backlog:  # keep the order: nothing overtakes an unsaved write
            self.backlog.append((kind, item))
            return
        try:
            self._apply(kind, item)
        except StorageError as err:
            log.error("storage write failed, kept and retried every cycle: %s (%s)", err, kind)
            self.backlog.append((kind, item))

    def _apply(self, kind: str, item) -> None:
        if kind == "trade":
            if self.store.put_trade(item):
                t = item
                pnl = "" if t.pnl is None else f" pnl={t.pnl:+.4f}"
                why = f" ({t.exit_reason})" if t.exit_reason else ""
                log.info("TRADE %s %s %s %.8g @ %.8g fee=%.4f%s%s [%s]", t.algo, t.action.upper(), t.symbol,
                         t.amount, t.price, t.fee, pnl, why, t.trade_id)
                self.stats.poke()
            self.failpoints.hit("order.trade_stored")
        elif kind == "position":
            key, record = item
            if record is None:
                self.store.delete_position(*key)
                self._written.pop(key, None)
            else:
                shape = (record.amount, record.entry_trade_id, record.entry_fee, record.extra.get(LAST_ORDER))
                self.store.put_position(record, durable=self._written.get(key) != shape)
                self._written[key] = shape
        elif kind == "booked":
            self.on_booked(item)
        elif self.store.put_event(item):
            log.info("REJECTED %s %s: %s (%s)", item.algo, item.symbol, item.message, item.rule)

    def retry_backlog(self) -> bool:
        """Write what is pending, in order; True when nothing is left."""
        while self.backlog:
            kind, item = self.backlog[0]
            try:
                self._apply(kind, item)
            except StorageError:
                return False
            self.backlog.pop(0)
        return True

    def dump_backlog(self, path: Path) -> None:
        """Last resort at shutdown: unsaved writes as JSON lines, for a person to re-import."""
        if not self.backlog:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for kind, item in self.backlog:
                if kind == "booked":
                    body = {"client_order_id": item}
                elif kind == "position":
                    body = {"key": item[0], "position": None if item[1] is None else asdict(item[1])}
                else:
                    body = asdict(item)
                fh.write(json.dumps({"kind": kind, "record": body}) + "\n")
        log.error("%d storage write(s) could not be saved; written to %s", len(self.backlog), path)


class StatsUpdater:
    """Recomputes the Stats table from stored trades in a background thread (never in the loop)."""

    def __init__(self, store: Store, clock=lambda: int(time.time() * 1000)):
        self.store, self.clock = store, clock
        self._event = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stats", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._event.set()

    def _run(self) -> None:
        while not self._stop:
            self._event.wait()
            self._event.clear()
            try:
                self.store.put_stats(stat_records(self.store.list_trades(), self.clock()))
            except Exception as err:  # noqa: BLE001 - a stats failure must never stop trading
                log.error("stats update failed: %s", err)

    def close(self) -> None:
        """Write the final stats synchronously and stop the thread."""
        self._stop = True
        self._event.set()
        self._thread.join(timeout=10)
        self.store.put_stats(stat_records(self.store.list_trades(), self.clock()))


class RunContext(Controls):
    """Services around the engine for one bot process."""

    def __init__(self, config_path: str | os.PathLike, config: Config, store: Store, engine: Engine,
                 stats: StatsUpdater):
        self.config_path = Path(config_path)
        self.config = config
        self.store = store
        self.engine = engine
        self.stats = stats
        self._mtime = self._stat()
        self.state = BotState.BOOTING
        self.reason = ""
        self.last_error = ""
        self.last_error_at: int | None = None
        self.feed_status: dict[str, dict] = {}
        self.last_now: int | None = None
        self._inbox: dict[str, tuple[float, list]] = {}
        self.inbox_seconds = 0.0
        self.keeps_pending = True
        """Pending orders are kept as State ``pending_orders`` (paper, replay); live mode keeps
        every order in the Orders table instead."""
        self.detail_extra: dict[str, Callable[[], object]] = {}
        """More status-row detail: key -> a function giving its value (live: the account)."""
        self.before_flatten: Callable[[], None] | None = None
        """Called before a flatten decides (live: gives up exits waiting for a retry)."""
        self._flattened: dict[str, list[Trade]] = {}
        self.booting = False
        """While True (live start, until the account and history are read) the state stays BOOTING."""
        self.lease = None
        """The store's one-bot lease (:class:`~daybreak.ops.run_lock.StoreLease`) when held."""

    # -- restart -------------------------------------------------------------------------------
    def restore(self) -> None:
        """Load positions, cash, risk counters, pending orders and the manual pause from storage."""
        self.engine.restore(self.store.list_trades(), self.store.list_positions())
        raw = self.store.get_state("pending_orders")
        for item in json.loads(raw) if raw else []:
            reason = item.get("reason")  # exits of risk rules and flattens carry theirs
            order = Order(item["client_order_id"], item["algo"], item["symbol"], Action(item["action"]),
                          item["amount"], item["decided_at"], ExitReason(reason) if reason else None,
                          item.get("kind", "market"), item.get("price"), item.get("ref_price"))
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
            item = {"client_order_id": o.client_order_id, "algo": o.algo, "symbol": o.symbol,
                    "action": o.action.value, "amount": o.amount, "decided_at": o.decided_at,
                    "reason": o.reason.value if o.reason else None, "kind": o.kind, "price": o.price,
                    "ref_price": o.ref_price}
            if key in resting:
                item.update(placed_at=resting[key].placed_at, deadline=resting[key].deadline)
            data.append(item)
        self.store.set_state("pending_orders", json.dumps(data))

    def cursor(self, symbol: str) -> int:
        """Close time (ms) of the last candle of ``symbol`` the bot acted on (0: none)."""
        raw = self.store.get_state(f"cursor:{symbol}")
        return int(raw) if raw else 0

    def set_cursor(self, symbol: str, close_ts: int, durable: bool = False) -> None:
        self.store.set_state(f"cursor:{symbol}", str(close_ts), durable=durable)

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
        log.info("config applied from %s", self.config_path)
        return True

    def _pending_rows(self, kind: str, fetch) -> list:
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
        """Validate and execute new Signals rows whose timestamp the clock has reached."""
        if not self.config.external_signals:
            return
        rows = self._pending_rows("signals", lambda: self.store.list_signals(status=SignalStatus.NEW.value))
        for rec in [r for r in rows if r.timestamp <= now_ms]:
            result = external.validate(rec, self.config, now_ms)
            order = None
            if not isinstance(result, str):
                price = price_of.get(rec.symbol)
                if price is None:
                    continue  # no price yet for this symbol: try again next cycle
                outcome = self.engine.on_signal(result, price, now_ms)
                order = outcome.order
                if order is None:
                    result = outcome.describe(result)
            self._inbox["signals"][1].remove(rec)  # decided: executed or rejected below
            if order is not None:
                ok = self.store.mark_signal(rec.signal_id, rec.timestamp, SignalStatus.EXECUTED.value,
                                            order.client_order_id, f"{order.action.value} {order.amount:.8g} {order.symbol}", now_ms)
                if not ok:
                    self.engine.pending.pop((order.algo, order.symbol), None)
                    continue
                log.info("EXTERNAL %s %s %s from %s accepted [%s]", rec.signal_id, rec.action, rec.symbol, rec.source,
                         order.client_order_id)
            else:
                if self.store.mark_signal(rec.signal_id, rec.timestamp, SignalStatus.REJECTED.value, "rejected",
                                          result, now_ms):
                    log.info("EXTERNAL %s rejected: %s", rec.signal_id, result)

    # -- heartbeat -----------------------------------------------------------------------------
    def error(self, message: str, now_ms: int | None = None) -> None:
        self.last_error = message
        self.last_error_at = now_ms or int(time.time() * 1000)

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
        if self.state not in (BotState.SHUTDOWN, BotState.ERROR) and not self.booting:
            blocked = gate.account_block(now_ms)
            if gate.manual_pause:
                self.state, self.reason = BotState.PAUSED_MANUAL, f"paused by {gate.manual_pause}"
            elif blocked is not None and blocked.rule in ("daily_max_loss", "max_trades_per_day", "loss_streak_pause"):
                self.state, self.reason = BotState.PAUSED_RISK_LIMIT, blocked.message
            else:
                self.state, self.reason = BotState.RUNNING, ""
        sink = self.engine.sink
        if isinstance(sink, StoreSink) and sink.backlog:
            self.error(f"{len(sink.backlog)} storage write(s) waiting to be saved (retried every cycle)", now_ms)
        detail = {"limits": gate.limits_snapshot(now_ms), "feed": self.feed_status,
                  "cash": self.engine.ledger.cash, "equity": self.engine.ledger.equity(self.engine.last_price),
                  "positions": len(self.engine.ledger.positions)}
        detail.update({k: fn() for k, fn in self.detail_extra.items()})
        try:
            self.store.put_status(StatusRecord(now_ms, self.config.mode, self.state.value, self.reason,
                                               self.last_error, self.last_error_at, detail))
        except StorageError as err:
            log.error("heartbeat not stored: %s", err)


    def shutdown(self, now_ms: int | None = None) -> None:
        """Final heartbeat (SHUTDOWN, at the last clock time the loop saw: simulated in replay;
        an ``ERROR`` state and its reason stay), final stats, flush and close the store."""
        if self.state is not BotState.ERROR:
            self.state, self.reason = BotState.SHUTDOWN, "stopped"
        try:
            sink = self.engine.sink
            if isinstance(sink, StoreSink) and not sink.retry_backlog():
                sink.dump_backlog(Path(self.config.log.path).with_name("unsaved-writes.jsonl"))
            self.save_pending()
            self.heartbeat(now_ms or self.last_now or int(time.time() * 1000))
            self.stats.close()
        finally:
            try:
                if self.lease is not None:
                    self.lease.release()
            finally:
                self.store.close()
