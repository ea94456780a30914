"""Live execution: limit entries and maker exits on the exchange, and the engine's broker in live mode.

:class:`LiveExecution` wraps the :class:`~daybreak.drivers.orders.OrderTracker` (which stores
every order before it is sent and reads each back). A decision whose kind is ``market`` goes
straight to the tracker. A ``limit`` entry or a ``maker`` exit is carried out by one or more
exchange orders, each an order record (the decision's own client id first, then *parts* with
``role = part`` and ``parent`` = the decision's id, :class:`~daybreak.core.order_record.Role`):

* **Limit entry**: a GTC limit buy ``entry_offset_bps`` below the best bid
  (:func:`~daybreak.core.execution.entry_price`). Once ``entry_timeout_seconds`` have passed
  since it was sent it is cancelled; with ``entry_on_timeout: market`` what did not fill is bought
  at market (a part), with ``cancel`` the decision ends with what filled (nothing: the rejection
  ``entry_timeout``).
* **Maker exit**: a post-only sell at the best ask (one tick above the bid when the book shows no
  gap, :func:`~daybreak.core.execution.maker_sell_price`), re-priced each cycle the ask moved, by
  cancel-replace (:meth:`~daybreak.exchange.resting.RestingOrderApi.replace_order`): one order per
  position at a time. A post-only order refused because it would take liquidity (Binance
  -2010) is priced again at the new ask. After ``exit_chase_seconds``, or at once when the
  position's stop is reached meanwhile (stops are never chased), it is cancelled and the rest is
  sold at market.

The decision stays in flight (pending in the engine) until its last part is done; then its fills
are booked as one trade under the decision's id (amount-weighted price, fees summed, order type
e.g. ``limit+market``). Every part is marked booked with it. A restarted bot resumes a decision
from its stored parts. A flatten (:meth:`LiveExecution.abandon_all`) cancels what rests and
finishes each decision with what filled.

Before any sell, the position's protective orders on the exchange are cancelled and their fills
booked (:meth:`daybreak.drivers.protection.Protection.clear`): coins locked in a stop are never
sold twice; when the exchange's stop has already sold them, the bot's exit sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from daybreak.core.domain import Action, ExitReason, Fill, Order, OrderKind
from daybreak.core.engine import Engine
from daybreak.core.execution import entry_price, maker_sell_price
from daybreak.core.exits import stop_level
from daybreak.core.order_record import OrderRecord, Role
from daybreak.core.risk import Rejection
from daybreak.drivers.orders import OrderInFlight, OrderTracker
from daybreak.drivers.protection import Protection
from daybreak.exchange.client import Exchange, ExchangeUnavailable

log = logging.getLogger("daybreak")
STEPS_PER_CALL = 6
"""Parts resolved or sent in one call at most (a cancel, its look-up, the next part)."""


@dataclass
class Work:
    """A decision being carried out: its parts (client ids, oldest first) and, for each part that
    is done, what it filled (None: nothing) and its gross filled amount."""

    order: Order
    started: int
    parts: list[str] = field(default_factory=list)
    fills: dict[str, Fill | None] = field(default_factory=dict)
    gross: dict[str, float] = field(default_factory=dict)
    abandon: bool = False
    stop: ExitReason | None = None
    rejection: Rejection | None = None


def part_id(decision_id: str, now_ms: int) -> str:
    """Client id of a new part: the decision's id and 5 base-36 digits of the time (100 ms),
    at most 36 characters (Binance's limit)."""
    n, digits = (now_ms // 100) % 36**5, ""
    for _ in range(5):
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return f"{decision_id[:30]}-{digits}"


class LiveExecution:
    """The live broker (module docstring)."""

    rests_orders = True

    def __init__(
        self,
        tracker: OrderTracker,
        exchange: Exchange,
        engine: Engine,
        clock: Callable[[], int],
        protection: Protection,
    ):
        self.tracker, self.exchange, self.engine, self.clock = tracker, exchange, engine, clock
        self.protection = protection
        self.work: dict[str, Work] = {}

    # -- the broker ------------------------------------------------------------------------------
    def execute(self, order: Order, reference_price: float, timestamp: int) -> Fill | Rejection | None:
        key = (order.algo, order.symbol)
        if order.action is Action.SELL and self._is_new(order.client_order_id):
            self.protection.clear(key)  # raises OrderInFlight until the coins are free
            pos = self.engine.ledger.positions.get(key)
            if pos is None:
                log.info(
                    "%s exit %s not sent: the exchange's order sold the position first", key, order.client_order_id
                )
                return None
            amount = min(order.amount, self.engine.sell_amount(pos, order.amount, reference_price))
            if amount <= 0:
                return None
            order = replace(order, amount=amount)
        wanted = OrderKind.LIMIT.value if order.action is Action.BUY else OrderKind.MAKER.value
        if order.kind != wanted:  # a market order (a stop, a take-profit, a flatten: the exchange's own
            if order.kind != OrderKind.MARKET.value:  # stop-limits and take-profits rest in Protection)
                order = replace(order, kind=OrderKind.MARKET.value, price=None)
            return self.tracker.execute(order, reference_price, timestamp)
        return self._carry_out(order, reference_price, timestamp)

    def _is_new(self, client_order_id: str) -> bool:
        return (
            client_order_id not in self.tracker.open
            and client_order_id not in self.work
            and self.tracker.store.get_order(client_order_id) is None
        )

    def booked(self, client_order_id: str) -> None:
        """The trade and position of ``client_order_id`` are stored: mark its records booked
        (the decision, its parts, or a protective order)."""
        if self.protection.owns(client_order_id):
            self.protection.mark_booked(client_order_id)
            return
        self.tracker.booked(client_order_id)
        w = self.work.pop(client_order_id, None)
        for part in w.parts[1:] if w else self._stored_parts(client_order_id):
            self.tracker.mark_booked(part)

    def abandon_all(self) -> None:
        """A flatten: cancel every resting part; each decision then ends with what filled."""
        for w in self.work.values():
            w.abandon = True
            active = self._active(w)
            if active is not None:
                self._cancel(w, active)

    # -- decisions -------------------------------------------------------------------------------
    def _carry_out(self, order: Order, ref: float, timestamp: int) -> Fill | Rejection | None:
        cid = order.client_order_id
        w = self.work.get(cid)
        if w is None:
            w = self._resume(order)
            if w is None:
                w = self.work[cid] = Work(order, self.clock())
            elif self.tracker.booking_done(OrderRecord.intent(order, 0)):
                self.booked(cid)  # booked before a restart: finish marking its records
                return None
        for _ in range(STEPS_PER_CALL):
            active = self._active(w)
            if active is None:
                part = self._next_part(w)
                if part is None:
                    return self._finish(w)
                w.parts.append(part.client_order_id)
                sent = self._settle(
                    w,
                    part.client_order_id,
                    lambda p=part: self.tracker.execute(
                        p,
                        ref,
                        timestamp,
                        Role.ORDER if p.client_order_id == cid else Role.PART,
                        "" if p.client_order_id == cid else cid,
                    ),
                )
                if not sent:
                    raise OrderInFlight(
                        f"{order.symbol} {order.action.value} {cid}: {part.client_order_id} sent, resting"
                    )
                if w.fills.get(part.client_order_id) is None and part.kind == OrderKind.MAKER.value:
                    raise OrderInFlight(
                        f"{order.symbol} sell {cid}: post-only {part.client_order_id} refused "
                        f"({w.rejection.message if w.rejection else 'nothing filled'}); re-priced next cycle"
                    )
                continue
            if not self._settle(
                w, active, lambda a=active: self.tracker.execute(self._part_order(w, a), ref, timestamp)
            ):
                if not self._move(w, active, ref, timestamp):
                    raise OrderInFlight(f"{order.symbol} {order.action.value} {cid}: {active} rests on the exchange")
        raise OrderInFlight(f"{order.symbol} {order.action.value} {cid}: in progress")

    def _settle(self, w: Work, part: str, call) -> bool:
        """Run ``call`` (send or look up ``part``); True when the part is done (what it filled kept)."""
        try:
            res = call()
        except OrderInFlight:
            return False
        rec = self.tracker.open.get(part) or self.tracker.store.get_order(part)
        w.fills[part] = res if isinstance(res, Fill) else None
        w.gross[part] = rec.filled if rec is not None else 0.0
        if isinstance(res, Rejection):
            w.rejection = res
        return True

    def _active(self, w: Work) -> str | None:
        for part in w.parts:
            if part not in w.fills:
                return part
        return None

    def _remaining(self, w: Work) -> float:
        limits = self.engine.markets[w.order.symbol]
        return limits.round_amount(max(0.0, w.order.amount - sum(w.gross.values())))

    def _quote(self, symbol: str) -> tuple[float, float]:
        quote = self.engine.quotes.get(symbol)
        if quote is not None:
            return quote
        last = self.engine.last_price.get(symbol) or self.exchange.fetch_last_price(symbol)
        return last, last

    def _next_part(self, w: Work) -> Order | None:
        """The next exchange order of the decision, or None when it is finished."""
        order, now = w.order, self.clock()
        settings = self.engine.execution_for(order.algo)
        limits = self.engine.markets[order.symbol]
        bid, ask = self._quote(order.symbol)
        if not w.parts:
            price = (
                entry_price(bid, settings.entry_offset_bps, limits)
                if order.action is Action.BUY
                else maker_sell_price(bid, ask, limits)
            )
            return replace(order, price=price)
        remaining = self._remaining(w)
        if w.abandon or limits.is_dust(remaining, bid) or remaining <= 0:
            return None
        market = replace(
            order,
            client_order_id=part_id(order.client_order_id, now),
            amount=remaining,
            kind=OrderKind.MARKET.value,
            price=None,
        )
        if order.action is Action.BUY:
            timed_out = now >= w.started + settings.entry_timeout_seconds * 1000
            return market if timed_out and settings.entry_on_timeout == "market" else None
        if w.stop is not None or now >= w.started + settings.exit_chase_seconds * 1000:
            return market
        return replace(
            order,
            client_order_id=part_id(order.client_order_id, now),
            amount=remaining,
            price=maker_sell_price(bid, ask, limits),
        )

    def _part_order(self, w: Work, part: str) -> Order:
        rec = self.tracker.open.get(part) or self.tracker.store.get_order(part)
        return rec.order() if rec is not None else w.order

    def _move(self, w: Work, active: str, ref: float, timestamp: int) -> bool:
        """The active part rests: cancel it when its time is up (or a stop, or a flatten), re-price
        a maker exit whose ask moved. True when something was done (look again)."""
        order, now = w.order, self.clock()
        settings = self.engine.execution_for(order.algo)
        rec = self.tracker.open.get(active)
        if rec is None or rec.type == "market":
            return False
        if order.action is Action.BUY:
            if w.abandon or now >= w.started + settings.entry_timeout_seconds * 1000:
                return self._cancel(w, active)
            return False
        w.stop = w.stop or self._stop_reached(order)
        if w.abandon or w.stop is not None or now >= w.started + settings.exit_chase_seconds * 1000:
            return self._cancel(w, active)
        limits = self.engine.markets[order.symbol]
        bid, ask = self._quote(order.symbol)
        target = maker_sell_price(bid, ask, limits)
        if rec.price is not None and abs(target - rec.price) < limits.price_tick / 2:
            return False
        new = replace(
            order,
            client_order_id=part_id(order.client_order_id, now),
            amount=limits.round_amount(rec.amount - rec.filled),
            price=target,
        )
        if new.client_order_id == active or new.amount <= 0:
            return False
        w.parts.append(new.client_order_id)
        self._settle(
            w, new.client_order_id, lambda: self.tracker.send_replacement(new, ref, active, order.client_order_id)
        )
        return True

    def _cancel(self, w: Work, part: str) -> bool:
        try:
            self.exchange.cancel_order(w.order.symbol, part)
        except ExchangeUnavailable as err:  # it may have been cancelled: the look-up tells
            log.warning("cancel of %s not confirmed (%s); looked up", part, err)
        return True

    def _stop_reached(self, order: Order) -> ExitReason | None:
        """The stop reason when the position's protective stop is at or above the price now."""
        key = (order.algo, order.symbol)
        pos, plan = self.engine.ledger.positions.get(key), self.engine.plans.get(key)
        price = self.engine.last_price.get(order.symbol)
        if pos is None or plan is None or price is None:
            return None
        stop, reason = stop_level(plan, max(pos.high_watermark, price))
        return reason if stop is not None and price <= stop else None

    def _finish(self, w: Work) -> Fill | Rejection:
        order = w.order
        fills = [f for f in w.fills.values() if f is not None]
        if not fills:
            self.work.pop(order.client_order_id, None)
            for part in w.parts[1:]:
                self.tracker.mark_booked(part)
            timed_out = self.clock() >= w.started + self.engine.execution_for(order.algo).entry_timeout_seconds * 1000
            if w.rejection is not None and not (w.abandon or timed_out):
                return w.rejection  # the exchange refused it (filters, funds): its reason
            rule = "entry_timeout" if order.action is Action.BUY else "exit_not_filled"
            return Rejection(
                rule,
                f"{order.action.value} {order.amount:.8g} {order.symbol}: nothing filled "
                f"({len(w.parts)} order(s){', flatten' if w.abandon else ''})",
                {"client_order_id": order.client_order_id, "orders": len(w.parts)},
            )
        gross = sum(w.gross.get(p, 0.0) for p, f in w.fills.items() if f is not None) or sum(f.amount for f in fills)
        price = sum(w.gross.get(p, f.amount) * f.price for p, f in w.fills.items() if f is not None) / gross
        kinds = "+".join(dict.fromkeys(f.order.kind for f in fills))
        done = replace(order, amount=sum(f.amount for f in fills), kind=kinds, reason=w.stop or order.reason)
        return Fill(done, max(f.timestamp for f in fills), price, done.amount, sum(f.fee for f in fills))

    def _resume(self, order: Order) -> Work | None:
        """The decision's work from its stored records after a restart (None: never sent)."""
        cid = order.client_order_id
        first = self.tracker.open.get(cid) or self.tracker.store.get_order(cid)
        if first is None:
            return None
        w = Work(order, first.sent_at or first.created_at, [cid])
        parts = sorted((r for r in self.tracker.open.values() if r.parent == cid), key=lambda r: r.created_at)
        w.parts += [r.client_order_id for r in parts]
        self.work[cid] = w
        return w

    def _stored_parts(self, decision_id: str) -> list[str]:
        return [cid for cid, r in self.tracker.open.items() if r.parent == decision_id]
