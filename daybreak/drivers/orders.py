"""The life of every live order, stored at each step: the engine's broker in live mode.

:class:`OrderTracker` carries a decided :class:`~daybreak.core.domain.Order` through
:class:`~daybreak.core.order_record.OrderStatus` (module docstring there), writing the
:class:`~daybreak.core.order_record.OrderRecord` durably (:meth:`storage.base.Store.put_order`):

1. the intent, before ``create_order`` (an entry whose intent cannot be stored is not sent; an
   exit is sent anyway: a stop must not wait for the database);
2. the exchange's answer, read back in full: status, filled amount, average price, fees and the
   currency they were charged in. Exactly what filled is booked: a partial fill as partial, an
   EXPIRED or CANCELED order with nothing filled as no trade (a rejection event with the reason),
   a buy's fee taken in base currency net of the amount;
3. when the engine has stored the trade and the position (:meth:`booked`, called by the
   :class:`~daybreak.drivers.services.StoreSink` in write order), ``booked_filled``.

An order whose outcome is unknown (a lost reply, a timeout, a crash) stays pending in the engine
(no second exit is decided meanwhile) and is looked up by its client id every cycle until the
exchange answers. One the exchange does not know once its request can no longer execute (signed
Binance requests are refused ``recvWindow`` after their timestamp; we wait that plus
:data:`NOT_PLACED_MARGIN_MS`) is ``not_placed``: never sent again under that id. A restarted bot
resumes each stored order that is not done: it looks it up, or, when its fill is stored, tells
from the stored trade and position how far its booking got and finishes it
(:meth:`OrderTracker.booking_done`), so no order is sent twice and no fill is booked twice.

Any order type the record names is sent (``market``, ``limit``, ``limit_maker``,
``stop_loss_limit``; :func:`daybreak.exchange.orders.ccxt_order`); a resting one stays in flight
while it rests. Records of other roles (the further parts of a decision, a position's protective
orders; :class:`~daybreak.core.order_record.Role`) are restored here but handed to
:mod:`daybreak.drivers.resting`, not to the engine.

Refusals: a market exit the exchange refuses is never dropped and never re-sent in a loop: it is
retried under its id at a bounded back-off (5 s doubling to 5 min), for what the account really
holds free when the refusal was for insufficient balance (which also asks for an account
re-sync, :attr:`OrderTracker.resync_wanted`); a fatal error (authentication, permission, unknown symbol) is re-raised for
the driver (state ``ERROR``) while the exit keeps being retried at the same back-off; entries are
refused from then on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from daybreak.core.domain import Action, Event, ExitReason, Fill, Order
from daybreak.core.ledger import LAST_ORDER, Ledger
from daybreak.core.markets import MarketLimits
from daybreak.core.order_record import OrderRecord, OrderStatus, Role
from daybreak.core.risk import Rejection
from daybreak.exchange.client import (
    Exchange,
    ExchangeFatal,
    ExchangeUnavailable,
    OrderRejected,
    OrderResult,
)
from daybreak.ops.failpoints import Failpoints
from storage.base import StorageError, Store

log = logging.getLogger("daybreak")

NOT_PLACED_MARGIN_MS = 5_000
"""Slack on top of the exchange's ``recvWindow`` (clock offsets, a slow network) before an order
the exchange does not know counts as never placed."""
RETRY_BASE_MS, RETRY_MAX_MS = 5_000, 300_000
"""Back-off of an exit the exchange refused (insufficient balance, a fatal error): 5 s doubling,
at most 5 minutes apart."""


class OrderInFlight(Exception):
    """The order's outcome is not known yet, or it waits for its next attempt: keep it pending."""


class OrderTracker:
    """Every live order not done, by client id, and the exchange calls that move it on.

    ``ledger`` is the engine's (read to tell whether a restored fill's position was stored);
    ``markets`` round a re-sized exit; ``events`` receives what the trader should see (partial
    fills, orders never placed); ``clock`` is exchange time in UTC ms.
    """

    def __init__(
        self,
        store: Store,
        exchange: Exchange,
        ledger: Ledger,
        markets: dict[str, MarketLimits],
        clock: Callable[[], int],
        events: Callable[[Event], None],
        failpoints: Failpoints | None = None,
    ):
        self.store, self.exchange, self.ledger, self.markets = store, exchange, ledger, markets
        self.clock, self.events = clock, events
        self.failpoints = failpoints or Failpoints()
        self.open: dict[str, OrderRecord] = {}
        self.retry_at: dict[str, tuple[int, int]] = {}  # client id -> (next attempt ms, failures)
        self._not_sent: set[str] = set()  # ids the exchange refused: surely not there
        self.resync_wanted = False
        self.free: dict[str, float] = {}  # asset -> free balance, from the last sync
        self.halted: str | None = None  # state ERROR: entries are refused
        self.protective: dict[str, OrderRecord] = {}  # restored stops / take-profits (drivers.resting)
        self.unsettled: set[str] = set()  # symbols whose resting orders are not confirmed

    # -- restart -------------------------------------------------------------------------------
    def restore(self, legacy: Sequence[Order] = ()) -> list[OrderRecord]:
        """Load the stored orders not done (and adopt ``legacy`` pending orders of a bot that kept
        them as plain state: they may have been sent). Returns them; the driver hands each to the
        engine as pending and in flight."""
        decisions = []
        for rec in self.store.list_orders(open_only=True):
            if rec.role.protective:
                self.protective[rec.client_order_id] = rec
                self.unsettled.add(rec.symbol)  # until the exchange confirms it
                continue
            self.open[rec.client_order_id] = rec
            if rec.role is Role.ORDER:
                decisions.append(rec)
        for parent in sorted({r.parent for r in self.open.values() if r.role is Role.PART}):
            if parent not in self.open:  # its first order is done, a further one is not: resume the decision
                first = self.store.get_order(parent)
                if first is not None:
                    decisions.append(first)
        for order in legacy:
            if order.client_order_id not in self.open and self.store.get_order(order.client_order_id) is None:
                rec = OrderRecord.intent(order, order.decided_at)
                self.store.put_order(rec)
                self.open[rec.client_order_id] = rec
                decisions.append(rec)
        return decisions

    # -- the broker ----------------------------------------------------------------------------
    def execute(
        self, order: Order, reference_price: float, timestamp: int, role: Role = Role.ORDER, parent: str = ""
    ) -> Fill | Rejection | None:
        """The engine's :class:`~daybreak.core.engine.Broker` call (see the module docstring).
        Raises :class:`OrderInFlight` while the outcome is unknown or the order rests,
        :class:`ExchangeFatal` when the exchange refuses for good (the order stays pending when
        it is an exit). ``role`` / ``parent``: of a new record (a part of the decision ``parent``)."""
        cid = order.client_order_id
        rec = self.open.get(cid)
        if rec is None:
            try:
                stored = self.store.get_order(cid)
            except StorageError as err:  # an exit goes out anyway; an entry is refused in _new
                log.error("order %s not looked up in the store (%s)", cid, err)
                stored = None
            if stored is not None and stored.done:  # carried out already: never again
                return None if stored.filled > 0 else Rejection(f"order_{stored.status.value}", stored.error)
            rec = stored
        if rec is None:
            return self._new(order, reference_price, role, parent)
        self.open[cid] = rec
        if rec.status.terminal:
            return None if self.booking_done(rec) and self._mark_booked(rec) else self._fill(rec)
        if cid in self._not_sent:
            return self._retry(rec)
        return self._lookup(rec)

    def _new(self, order: Order, reference_price: float, role: Role = Role.ORDER, parent: str = "") -> Fill | Rejection:
        if self.halted and order.action is Action.BUY:
            return Rejection("error_state", f"entry not sent: the bot is in state ERROR ({self.halted})")
        rec = OrderRecord.intent(order, self.clock(), reference_price, role=role, parent=parent)
        self.failpoints.hit("order.decided")
        try:
            self.store.put_order(rec)
        except StorageError as err:
            if order.action is Action.BUY:
                return Rejection("storage_unavailable", f"entry not sent: its order could not be stored first ({err})")
            log.error("exit %s not stored before sending (%s); sending it anyway", order.client_order_id, err)
        self.open[rec.client_order_id] = rec
        self.failpoints.hit("order.intent_stored")
        return self._send(rec)

    def _send(self, rec: OrderRecord, replaces: str | None = None) -> Fill | Rejection:
        cid, now = rec.client_order_id, self.clock()
        self._not_sent.discard(cid)
        try:
            if replaces:
                res = self.exchange.replace_order(
                    rec.symbol, rec.side.value, rec.amount, cid, replaces, rec.type, rec.price, rec.stop_price
                )
            else:
                res = self.exchange.create_order(
                    rec.symbol, rec.side.value, rec.amount, cid, rec.type, rec.price, stop_price=rec.stop_price
                )
        except OrderRejected as err:
            if (
                rec.side is Action.SELL and rec.type == "market"
            ):  # an exit is never dropped: retried at a bounded back-off
                self.resync_wanted = self.resync_wanted or err.insufficient_funds
                raise self._defer(rec, str(err)) from err
            return self._end(rec, OrderStatus.REJECTED, str(err), "exchange_rejected")
        except ExchangeFatal as err:
            if rec.side is Action.SELL and rec.type == "market":
                self._defer(rec, str(err))
                raise
            self._end(rec, OrderStatus.REJECTED, str(err), "exchange_rejected")
            raise
        except ExchangeUnavailable as err:
            self.failpoints.hit("order.outcome_unknown")
            self.open[cid] = rec.next(now, status=OrderStatus.SENT, sent_at=now, error=str(err))
            raise OrderInFlight(f"{rec.symbol} order {cid}: outcome unknown, looked up next cycle ({err})") from err
        self.failpoints.hit("order.reply")
        return self._apply(rec.next(now, sent_at=now), res)

    def _retry(self, rec: OrderRecord) -> Fill | Rejection:
        """An order the exchange refused (not placed): send it again once its back-off is over,
        a sell for no more than the account holds free."""
        due, _ = self.retry_at.get(rec.client_order_id, (0, 0))
        if self.clock() < due:
            raise OrderInFlight(f"{rec.symbol} order {rec.client_order_id}: next attempt at {due}")
        if rec.side is Action.SELL:
            base = rec.symbol.partition("/")[0]
            free = self.free.get(base)
            if free is not None and free < rec.amount:
                amount = self.markets[rec.symbol].round_amount(free)
                if amount <= 0:
                    raise self._defer(rec, f"nothing of {base} is free to sell (free {free:.8g})")
                rec = rec.next(self.clock(), amount=amount)
                self.open[rec.client_order_id] = rec
                log.warning("%s exit %s re-sized to the free balance %.8g", rec.symbol, rec.client_order_id, amount)
        return self._send(rec)

    def _defer(self, rec: OrderRecord, why: str) -> OrderInFlight:
        cid = rec.client_order_id
        _, failures = self.retry_at.get(cid, (0, 0))
        wait = min(RETRY_MAX_MS, RETRY_BASE_MS * 2**failures)
        self.retry_at[cid] = (self.clock() + wait, failures + 1)
        self._not_sent.add(cid)
        self.open[cid] = rec.next(self.clock(), error=why)
        log.error("%s order %s refused (%s); retrying in %.0f s", rec.symbol, cid, why, wait / 1000)
        return OrderInFlight(f"{rec.symbol} order {cid} refused, retrying in {wait / 1000:.0f} s: {why}")

    def _lookup(self, rec: OrderRecord) -> Fill | Rejection:
        try:
            res = self.exchange.fetch_order_by_client_id(rec.symbol, rec.client_order_id)
        except ExchangeUnavailable as err:
            raise OrderInFlight(f"{rec.symbol} order {rec.client_order_id}: look-up failed ({err})") from err
        if res is not None:
            return self._apply(rec, res)
        waited = self.clock() - (rec.sent_at or rec.created_at)
        if waited <= self.exchange.recv_window_ms + NOT_PLACED_MARGIN_MS:
            raise OrderInFlight(f"{rec.symbol} order {rec.client_order_id}: not on the exchange yet")
        why = (
            f"not placed: the exchange does not know client id {rec.client_order_id} "
            f"{waited / 1000:.0f} s after it was sent (recvWindow {self.exchange.recv_window_ms / 1000:g} s)"
        )
        return self._end(rec, OrderStatus.NOT_PLACED, why, "not_placed")

    def _apply(self, rec: OrderRecord, res: OrderResult) -> Fill | Rejection:
        """Store what the exchange says of the order; the fill to book, or why there is none."""
        now = self.clock()
        before = (rec.status, rec.exchange_order_id, rec.filled)
        rec = rec.next(
            now,
            status=res.status,
            exchange_order_id=res.exchange_order_id,
            filled=res.filled,
            average=res.average,
            fee=res.fee,
            fee_base=res.fee_base,
            fee_currency=res.fee_currency,
            filled_at=res.timestamp,
            error="",
        )
        if not res.status.terminal:
            if (rec.status, rec.exchange_order_id, rec.filled) != before:  # a resting order: written when it changes
                self._put(rec)
            else:
                self.open[rec.client_order_id] = rec
            raise OrderInFlight(f"{rec.symbol} order {rec.client_order_id} is {res.status.value} on the exchange")
        if res.filled <= 0:
            why = (
                f"{rec.side.value} {rec.amount:.8g} {rec.symbol} {res.status.value} on the exchange with nothing filled"
            )
            return self._end(rec, res.status, why, f"order_{res.status.value}")
        self._put(rec)
        self.failpoints.hit("order.result_stored")
        if res.filled < rec.amount:
            self._event(
                rec,
                "partial_fill",
                f"{rec.side.value} {rec.symbol}: {res.filled:.8g} of {rec.amount:.8g} "
                f"filled ({res.status.value}); booked as filled",
                {"ordered": rec.amount, "filled": res.filled, "status": res.status.value},
            )
        return self._fill(rec)

    def _fill(self, rec: OrderRecord) -> Fill:
        self.open[rec.client_order_id] = rec
        order = replace(rec.order(), amount=rec.filled)
        return Fill(order, rec.filled_at or rec.updated_at or self.clock(), rec.average, rec.received, rec.fee)

    def _end(self, rec: OrderRecord, status: OrderStatus, why: str, rule: str) -> Rejection:
        """A terminal order with nothing to book: stored, forgotten here, a rejection for the engine."""
        rec = rec.next(self.clock(), status=status, error=why)
        self._put(rec)
        self._forget(rec.client_order_id)
        return Rejection(rule, why, {"client_order_id": rec.client_order_id, "status": status.value})

    # -- booking -------------------------------------------------------------------------------
    def booking_done(self, rec: OrderRecord) -> bool:
        """Whether the position write of ``rec``'s fill is stored (so its trade is too: it is
        written first): a buy's position exists and carries its id, a sell's is gone or does."""
        pos = self.ledger.positions.get((rec.algo, rec.symbol))
        if rec.side is Action.BUY:
            return pos is not None and rec.client_order_id in (pos.extra.get(LAST_ORDER), pos.entry_trade_id)
        return pos is None or pos.extra.get(LAST_ORDER) == rec.client_order_id

    def booked(self, client_order_id: str) -> None:
        """The engine's trade and position of this order are stored: mark it booked (durably).
        Raises StorageError (the sink keeps the call and retries it, in order)."""
        rec = self.open.get(client_order_id)
        if rec is None:
            return
        self.failpoints.hit("order.position_stored")
        self._mark_booked(rec)
        self.failpoints.hit("order.booked")

    def mark_booked(self, client_order_id: str) -> None:
        """Mark a part of a decision booked with its decision (durably)."""
        rec = self.open.get(client_order_id)
        if rec is not None:
            self._mark_booked(rec)

    def send_replacement(self, order: Order, reference_price: float, replaces: str, parent: str) -> Fill | Rejection:
        """A new part of decision ``parent`` that replaces the open order ``replaces`` in one
        cancel-replace request (stored as intent first, then as :meth:`execute` would)."""
        rec = OrderRecord.intent(order, self.clock(), reference_price, role=Role.PART, parent=parent)
        try:
            self.store.put_order(rec)
        except StorageError as err:
            log.error("replacement %s not stored before sending (%s); sending it anyway", order.client_order_id, err)
        self.open[rec.client_order_id] = rec
        return self._send(rec, replaces)

    def _mark_booked(self, rec: OrderRecord) -> bool:
        self.store.put_order(rec.next(self.clock(), booked_filled=rec.filled))
        self._forget(rec.client_order_id)
        self.resync_wanted = True  # the balance moved: read it again
        return True

    # -- helpers ---------------------------------------------------------------------------------
    def _put(self, rec: OrderRecord) -> None:
        self.open[rec.client_order_id] = rec
        try:
            self.store.put_order(rec)
        except StorageError as err:  # the exchange's answer is kept here; a restart looks it up again
            log.error("order %s not stored (%s): kept in memory", rec.client_order_id, err)

    def _forget(self, client_order_id: str) -> None:
        self.open.pop(client_order_id, None)
        self.retry_at.pop(client_order_id, None)
        self._not_sent.discard(client_order_id)

    def _event(self, rec: OrderRecord, rule: str, message: str, data: dict) -> None:
        self.events(
            Event(f"{rec.client_order_id}-{rule}", self.clock(), "order", message, rec.algo, rec.symbol, rule, data)
        )

    def drop_unsent(self) -> list[OrderRecord]:
        """Give up the exit-rule sells waiting for a retry (the exchange refused them, so none is
        there): ``not_placed``. Returns them (a flatten then decides afresh what to sell). A
        flatten's own refused sells are kept: they are retried at their back-off, never re-decided
        every cycle."""
        dropped = []
        for cid in list(self._not_sent):
            rec = self.open.get(cid)
            if rec is not None and rec.reason is not ExitReason.FLATTEN:
                self._end(rec, OrderStatus.NOT_PLACED, f"superseded: {rec.error}", "superseded")
                dropped.append(rec)
        return dropped

    def in_flight_symbols(self) -> set[str]:
        """Symbols with an order whose outcome is not known, that rests or waits for a retry, or
        whose protective orders are not confirmed this cycle (:attr:`unsettled`)."""
        return {r.symbol for r in self.open.values()} | self.unsettled
