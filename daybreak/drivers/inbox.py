"""The Signals inbox: rows other systems insert, taken through to a final, visible state.

Contract (README "External signals", docs/dynamodb.md "The inbox contract"):

* a row with status ``new``, no status, or ``''`` (any case) is taken up; one with any other
  status the bot does not set is ``rejected`` naming it;
* each row is checked by :func:`daybreak.core.external.parse` (the one validator, shared with
  ``bot.py signal``): a bad row is ``rejected`` with the field and the value, never a crash;
* a row older than ``external_signal_max_age_seconds`` is ``expired``; a live row stamped more
  than a minute ahead is ``rejected``; replay waits for the simulated clock;
* a valid row is claimed (``accepted``, outcome = the order's client id) before its order is
  queued, at most once per ``signal_id`` whatever its timestamp (:meth:`Store.claim_signal`),
  then ``executed`` (outcome = the trade id) once the fill is stored, or ``failed`` with the
  reason when the fill was refused; a risk rule refusing the entry makes it ``rejected``.

Storage errors leave a row as it is for the next cycle; a row the store cannot mark at all (over
DynamoDB's item size even without a reason) is skipped from then on, with one log line.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from daybreak.core import external
from daybreak.core.domain import EXTERNAL_ALGO, SignalStatus, client_order_id
from daybreak.core.external import Refusal, show
from storage.base import Claim, StorageError
from storage.records import InboxRow

if TYPE_CHECKING:
    from daybreak.drivers.services import RunContext

log = logging.getLogger("daybreak")
SCAN_SECONDS = 60.0
"""Live: wall-clock seconds between full inbox reads (DynamoDB: the filtered Scan that finds rows
without a status); rows with status ``new`` are read every poll."""
_NEW = ("", SignalStatus.NEW.value)


def _key(row: InboxRow) -> tuple:
    return (row.signal_id, row.timestamp)


def _norm(status: Any) -> Any:
    return status.strip().lower() if isinstance(status, str) else status


class SignalInbox:
    """Reads the inbox at most every ``ctx.inbox_seconds`` (a full read every
    ``ctx.inbox_scan_seconds``) and acts on each row; see the module docstring."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self._rows: dict[tuple, InboxRow] = {}
        self._accepted: dict[tuple, InboxRow] = {}
        self._read_at = self._scan_at = -float("inf")
        self._unmarkable: set[tuple] = set()

    # -- reading ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._read_at < self.ctx.inbox_seconds:
            return
        scan = now - self._scan_at >= self.ctx.inbox_scan_seconds
        rows = self.ctx.store.inbox(scan=scan)
        self._read_at = now
        if scan:
            self._scan_at = now
        fresh: dict[tuple, InboxRow] = {}
        for row in rows:
            key = _key(row)
            if key in self._unmarkable:
                continue
            if row.status == SignalStatus.ACCEPTED.value:  # exactly ours; "Accepted" is some sender's
                self._accepted.setdefault(key, row)
            else:
                fresh[key] = row
        if not scan:  # rows only a full read finds stay until it runs again
            fresh.update({k: r for k, r in self._rows.items() if k not in fresh and r.status not in _NEW})
        self._rows = fresh

    # -- the cycle -------------------------------------------------------------------------
    def process(self, now_ms: int, price_of: dict[str, float]) -> None:
        """Settle accepted rows whose order is done, then act on the rows that are due."""
        if not self.ctx.config.external_signals and not self._accepted:
            return  # off: the inbox is not read (rows accepted before it was turned off still settle)
        self._refresh()
        for key, row in list(self._accepted.items()):
            self._guarded(row, partial(self._settle, key, row, now_ms))
        if not self.ctx.config.external_signals:
            return
        for key, row in list(self._rows.items()):
            self._guarded(row, partial(self._take, key, row, now_ms, price_of))

    def _guarded(self, row: InboxRow, work) -> None:
        key = _key(row)
        try:
            work()
        except StorageError as err:
            if err.code == "ValidationException":
                self._drop(key)
                self._unmarkable.add(key)
                log.error(
                    "EXTERNAL %s cannot be marked by the store, skipped from now on: %s", show(row.signal_id), err
                )
            else:
                log.error("EXTERNAL %s not processed this cycle (storage): %s", show(row.signal_id), err)
                self.ctx.error(f"signal inbox: {err}")
        except Exception as err:
            log.exception("EXTERNAL %s could not be processed (a bug in Daybreak)", show(row.signal_id))
            self._drop(key)
            try:
                self._mark(
                    row,
                    SignalStatus.REJECTED,
                    "error",
                    f"could not be processed: {type(err).__name__}: {err}",
                    int(time.time() * 1000),
                    row.status,
                )
            except Exception:
                pass

    def _drop(self, key: tuple) -> None:
        self._rows.pop(key, None)
        self._accepted.pop(key, None)

    def _mark(self, row: InboxRow, status: SignalStatus, outcome: str, reason: str, now_ms: int, expect: Any) -> bool:
        expect = expect if expect is None or isinstance(expect, str) else str(expect)
        done = self.ctx.store.mark_signal(row.signal_id, row.timestamp, status.value, outcome, reason, now_ms, expect)
        self._drop(_key(row))
        if done:
            log.info("EXTERNAL %s %s: %s", show(row.signal_id), status.value, reason)
        return done

    # -- new rows --------------------------------------------------------------------------
    def _take(self, key: tuple, row: InboxRow, now_ms: int, price_of: dict[str, float]) -> None:
        ctx = self.ctx
        status = _norm(row.status)
        if row.status is not None and status not in _NEW:
            self._mark(
                row,
                SignalStatus.REJECTED,
                "status",
                f"status = {show(row.status)}: not one the bot reads; leave it out or write 'new'",
                now_ms,
                row.status,
            )
            return
        parsed = external.parse(row.attrs, ctx.config.symbols)
        if isinstance(parsed, Refusal):
            self._mark(row, SignalStatus.REJECTED, parsed.field, str(parsed), now_ms, row.status)
            return
        when, why = external.timing(
            parsed.timestamp, now_ms, ctx.config.external_signal_max_age_seconds, ctx.simulated_clock
        )
        if when == "wait":
            return
        if when != "due":
            self._mark(
                row, SignalStatus.EXPIRED if when == "expired" else SignalStatus.REJECTED, when, why, now_ms, row.status
            )
            return
        price = price_of.get(parsed.symbol)
        if price is None:
            return  # no price for this symbol yet: next cycle (it expires if none comes)
        engine = ctx.engine
        if (EXTERNAL_ALGO, parsed.symbol) in engine.pending:
            self._mark(
                row,
                SignalStatus.REJECTED,
                "pending",
                f"an External order on {parsed.symbol} is already pending",
                now_ms,
                row.status,
            )
            return
        signal = external.to_signal(parsed, now_ms)
        predicted = client_order_id(EXTERNAL_ALGO, parsed.symbol, parsed.action, now_ms, parsed.signal_id)
        what = f"{parsed.action.value} {parsed.symbol}" + (f" amount {parsed.amount:g}" if parsed.amount else "")
        claim, holder = ctx.store.claim_signal(
            row.signal_id, row.timestamp, row.status, predicted, f"order queued: {what}", now_ms
        )
        if claim is Claim.TAKEN:
            self._drop(key)
            return
        if claim is Claim.DUPLICATE:
            self._mark(
                row,
                SignalStatus.REJECTED,
                "duplicate",
                f"signal_id = {show(row.signal_id)}: already used by the "
                f"row with timestamp {holder}; a signal_id runs once",
                now_ms,
                row.status,
            )
            return
        accepted = InboxRow(
            row.signal_id,
            row.timestamp,
            SignalStatus.ACCEPTED.value,
            {**row.attrs, "status": "accepted", "outcome": predicted, "processed_at": now_ms},
        )
        outcome = engine.on_signal(signal, price, now_ms)
        order = outcome.order
        if order is None:
            self._mark(accepted, SignalStatus.REJECTED, "refused", outcome.describe(signal), now_ms, "accepted")
            return
        if order.client_order_id != predicted:
            ctx.store.mark_signal(
                row.signal_id,
                row.timestamp,
                SignalStatus.ACCEPTED.value,
                order.client_order_id,
                f"order queued: {what}",
                now_ms,
                "accepted",
            )
            accepted.attrs["outcome"] = order.client_order_id
        self._drop(key)
        self._accepted[key] = accepted
        log.info(
            "EXTERNAL %s %s from %s accepted [%s]",
            show(row.signal_id),
            what,
            show(parsed.source),
            order.client_order_id,
        )

    def _rejection(self, symbol: str, since_ms: int):
        """The newest rejection event of External on ``symbol`` at or after ``since_ms``."""
        for event in self.ctx.store.list_events(kind="rejection", limit=20):
            if event.algo == EXTERNAL_ALGO and event.symbol == symbol and event.timestamp >= since_ms:
                return event
        return None

    # -- accepted rows ---------------------------------------------------------------------
    def _settle(self, key: tuple, row: InboxRow, now_ms: int) -> None:
        order_id = row.attrs.get("outcome")
        engine = self.ctx.engine
        if any(o.client_order_id == order_id for o in engine.pending.values()):
            return  # not filled yet
        sink = engine.sink
        if order_id in getattr(sink, "unsaved_trade_ids", lambda: ())():
            return  # filled; the trade waits in the storage backlog
        trade = self.ctx.store.get_trade(order_id) if isinstance(order_id, str) and order_id else None
        if trade is not None:
            self._mark(
                row,
                SignalStatus.EXECUTED,
                trade.trade_id,
                f"{trade.action.value} {trade.amount:.8g} {trade.symbol} @ {trade.price:.8g}",
                now_ms,
                "accepted",
            )
            return
        processed = row.attrs.get("processed_at")
        symbol = row.attrs.get("symbol")
        event = self._rejection(symbol, processed) if isinstance(processed, int) and isinstance(symbol, str) else None
        if event is not None:
            self._mark(row, SignalStatus.FAILED, event.rule, f"{event.rule}: {event.message}", now_ms, "accepted")
        else:
            self._mark(
                row,
                SignalStatus.FAILED,
                "not_filled",
                f"order {order_id} was not filled (the position changed "
                "before the fill, or the bot restarted without it)",
                now_ms,
                "accepted",
            )
