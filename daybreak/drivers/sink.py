"""Every write of a running bot goes through :class:`StoreSink`: engine output (trades, position
changes, rejections) and the loop's own writes (prices, candle cursors, pending orders, the manual
pause), so a store that fails for a while loses none of them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak.core.domain import Event, Position, Trade
from daybreak.core.ledger import LAST_ORDER
from daybreak.drivers.alerts import Alerts
from daybreak.ops.failpoints import Failpoints
from storage.base import StorageError, Store
from storage.records import PriceRecord

if TYPE_CHECKING:
    from daybreak.drivers.services import StatsUpdater

log = logging.getLogger("daybreak")


class StoreSink:
    """Every write of a running bot -> storage, one readable log line per trade and rejection.

    Trades, positions, rejection events, prices and state (candle cursors, pending orders, the
    manual pause) go through :meth:`_write`. A write the store refuses (:class:`StorageError`,
    after the backend's own retries) is kept in order and retried by :meth:`retry_backlog` every
    cycle, never dropped; a newer write of the same state key replaces an unsaved older one in
    place of the newer (so a cursor is never stored ahead of the trades before it). While writes
    wait, :attr:`fault` says why and ``on_fault(message)`` is told (``""`` once all are stored):
    the wiring pauses new entries then. What is still unsaved at shutdown is written to a
    JSON-lines file beside the log (:meth:`dump_backlog`), or into the log when that fails too.
    """

    def __init__(
        self,
        store: Store,
        stats: StatsUpdater,
        on_fault: Callable[[str], object] | None = None,
        alerts: Alerts | None = None,
    ) -> None:
        self.store, self.stats = store, stats
        self.alerts = alerts or Alerts(None)
        self.backlog: deque[list] = deque()
        self._state_entries: dict[str, list] = {}
        self.fault = ""
        self.fault_since: int | None = None
        self.on_fault = on_fault
        self.on_booked: Callable[[str], None] | None = None
        """Live: called with a fill's client order id once its trade and position are stored
        (the order tracker marks the order booked)."""
        self.failpoints = Failpoints()
        self._written: dict[tuple[str, str], tuple] = {}

    def trade(self, trade: Trade) -> None:
        self._write("trade", trade)

    def position(self, key: tuple[str, str], position: Position | None) -> None:
        self._write("position", (key, None if position is None else position.copy()))

    def rejection(self, event: Event) -> None:
        self._write("event", event)
        if event.kind == "reconcile" and "books" in event.data:  # the account differs from the books
            self.alerts.reconciliation(
                event.symbol, float(event.data["books"]), float(event.data["exchange"]), event.message, event.timestamp
            )

    def booked(self, trade: Trade) -> None:
        """A fill's writes are done (after its trade and position): tell the order tracker, in
        order with them (also from the backlog)."""
        if self.on_booked is not None:
            self._write("booked", trade.order_id)

    def prices(self, records: list[PriceRecord]) -> None:
        if records:
            self._write("prices", list(records))

    def state(self, key: str, value: str) -> None:
        self._write("state", (key, value))

    def unsaved(self) -> int:
        """Writes waiting in the backlog."""
        return sum(1 for kind, _ in self.backlog if kind != _DEAD)

    def unsaved_trade_ids(self) -> set[str]:
        return {item.trade_id for kind, item in self.backlog if kind == "trade"}

    def _write(self, kind: str, item) -> None:
        entry = [kind, item]
        if kind == "state":
            older = self._state_entries.get(item[0])
            if older is not None:
                older[0] = _DEAD  # superseded: the newer value is written at its own place
            self._state_entries[item[0]] = entry
        if self.backlog:  # keep the order: nothing overtakes an unsaved write
            self.backlog.append(entry)
            if kind == "trade":
                self.alerts.fill(item)  # the trader hears of the fill now, not when storage is back
            return
        try:
            self._apply(entry, announce=True)
        except StorageError as err:
            self._failed(err, kind)
            self.backlog.append(entry)
            self.alerts.storage_failed(f"{kind} not stored: {err}")
            if kind == "trade":
                self.alerts.fill(item)

    def _apply(self, entry: list, announce: bool = False) -> None:
        """Write one entry. ``announce``: alert a stored trade (a trade written from the backlog
        was announced when it was made)."""
        kind, item = entry
        if kind == "trade":
            if self.store.put_trade(item):
                if announce:
                    self.alerts.fill(item)
                t = item
                pnl = "" if t.pnl is None else f" pnl={t.pnl:+.4f}"
                why = f" ({t.exit_reason.value})" if t.exit_reason else ""
                log.info(
                    "TRADE %s %s %s %.8g @ %.8g fee=%.4f%s%s [%s]",
                    t.algo,
                    t.action.value.upper(),
                    t.symbol,
                    t.amount,
                    t.price,
                    t.fee,
                    pnl,
                    why,
                    t.trade_id,
                )
                self.stats.poke()
            self.failpoints.hit("order.trade_stored")
        elif kind == "position":
            key, record = item
            if record is None:
                self.store.delete_position(*key)
                self._written.pop(key, None)
            else:  # a change of amount or entry is durable; a moved stop or high-water mark is not
                shape = (record.amount, record.entry_trade_id, record.entry_fee, record.extra.get(LAST_ORDER))
                self.store.put_position(record, durable=self._written.get(key) != shape)
                self._written[key] = shape
        elif kind == "booked":
            if self.on_booked is not None:
                self.on_booked(item)
        elif kind == "event":
            if self.store.put_event(item):
                log.info("REJECTED %s %s: %s (%s)", item.algo, item.symbol, item.message, item.rule)
        elif kind == "prices":
            self.store.put_prices(item)
        elif kind == "state":
            self.store.set_state(*item)
            if self._state_entries.get(item[0]) is entry:
                del self._state_entries[item[0]]

    def _failed(self, err: StorageError, kind: str) -> None:
        first = not self.fault
        self.fault = str(err)
        if first:
            self.fault_since = int(time.time() * 1000)
            log.error(
                "storage write failed; new entries paused, every write kept and retried each cycle: %s (%s)", err, kind
            )
            if self.on_fault is not None:
                self.on_fault(self.fault)

    def retry_backlog(self) -> bool:
        """Write what is pending, in order; True when nothing is left."""
        while self.backlog:
            entry = self.backlog[0]
            if entry[0] != _DEAD:
                try:
                    self._apply(entry)
                except StorageError as err:
                    self.fault = str(err)
                    return False
            self.backlog.popleft()
        if self.fault:
            log.info("storage is back: every kept write is stored; new entries allowed again")
            self.fault, self.fault_since = "", None
            if self.on_fault is not None:
                self.on_fault("")
        return True

    def dump_backlog(self, path: Path) -> None:
        """Last resort at shutdown: unsaved writes as JSON lines, for a person to re-import; into
        the log (stdout and the log file) when the file cannot be written either."""
        lines = [
            json.dumps({"kind": kind, "record": _jsonable(kind, item)}, default=str)
            for kind, item in self.backlog
            if kind != _DEAD
        ]
        if not lines:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as err:
            log.error(
                "%d storage write(s) could not be saved, nor written to %s (%s); here they are:",
                len(lines),
                path,
                err.strerror,
            )
            for line in lines:
                log.error("UNSAVED %s", line)
            return
        log.error("%d storage write(s) could not be saved; written to %s", len(lines), path)


_DEAD = "superseded"


def _jsonable(kind: str, item):
    if kind == "position":
        return {"key": item[0], "position": None if item[1] is None else asdict(item[1])}
    if kind == "prices":
        return [asdict(p) for p in item]
    if kind == "state":
        return {"key": item[0], "value": item[1]}
    if kind == "booked":
        return {"client_order_id": item}
    return asdict(item)
