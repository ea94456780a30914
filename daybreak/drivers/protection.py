"""Protective orders resting on the exchange for live positions: exchange stops and take-profits.

For every open position whose strategy's ``execution`` asks for them (``exchange_stop``
``stop_loss_limit`` or ``oco``; ``take_profit_order: resting``), :class:`Protection` keeps on the
exchange, for the position's sellable amount:

* a **stop**: a stop-loss-limit triggered at the bot's protective stop (rounded down to the
  tick), its limit ``exchange_stop_limit_offset_bps`` lower; replaced (cancel-replace) whenever
  the bot's stop moves (break-even, trailing, decaying trail);
* a **take-profit**: a limit sell at the take-profit level (rounded up to the tick), replaced as
  it eases (:func:`~daybreak.core.exits.take_profit_at`), for ``take_profit_fraction`` of the
  position when that is set;
* with ``oco`` both in one OCO list (Binance: a ``LIMIT_MAKER`` leg above, a ``STOP_LOSS_LIMIT``
  below, one quantity; re-priced by cancelling the list and placing a new one).

Each is an order record (``role`` ``stop`` / ``take_profit``, ``parent`` the position's entry
trade id) stored before it is sent, so a bot that dies leaves its stop on the exchange and finds
it again. Every cycle (:meth:`check`, before the account is read and before exits are decided) the
records are compared with the exchange's open orders: one that filled while the bot was away (or
just now) is booked as the exit, at the exchange's price and fee (reason: the stop's reason,
``stop_loss`` / ``trailing_stop``; ``take_profit``); one that is gone unfilled is placed again
(:meth:`ensure`, after the cycle's orders); a symbol whose orders could not be confirmed is left
out of the balance reconciliation meanwhile (:attr:`OrderTracker.unsettled`). A stop the exchange
refuses (filters, funds) makes the bot exit at market at once (``emergency_exit``) and say why.
A stop-limit gapped through its limit rests unfilled; the bot's own stop, at or above the
trigger, then exits at market (its sell cancels the stop first, :meth:`clear`). No protective
order is placed while another order of the position is in flight (its coins are in that order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from daybreak.core.domain import (
    Action,
    Event,
    ExitReason,
    Fill,
    Order,
    Position,
    client_order_id,
)
from daybreak.core.engine import Engine
from daybreak.core.exits import ExitHit, take_profit_at
from daybreak.core.order_record import OrderRecord, OrderStatus, Role
from daybreak.drivers.orders import NOT_PLACED_MARGIN_MS, OrderInFlight, OrderTracker
from daybreak.exchange.client import (
    Exchange,
    ExchangeFatal,
    ExchangeUnavailable,
    OrderRejected,
    OrderResult,
)
from storage.base import Store

log = logging.getLogger("daybreak")
RETRY_MS = 60_000
"""A take-profit the exchange refused is tried again this long after."""


class Protection:
    """The protective orders of one live account (module docstring)."""

    def __init__(
        self,
        tracker: OrderTracker,
        exchange: Exchange,
        engine: Engine,
        store: Store,
        clock: Callable[[], int],
        events: Callable[[Event], None],
    ):
        self.tracker, self.exchange, self.engine, self.store = tracker, exchange, engine, store
        self.clock, self.events = clock, events
        self.records: dict[str, OrderRecord] = tracker.protective  # filled by the tracker's restore
        self.retry_at: dict[tuple[tuple[str, str], str], int] = {}

    def owns(self, client_order_id: str) -> bool:
        return client_order_id in self.records or (
            (rec := self.store.get_order(client_order_id)) is not None and rec.role.protective
        )

    def _of(self, key: tuple[str, str]) -> list[OrderRecord]:
        return [r for r in self.records.values() if (r.algo, r.symbol) == key]

    # -- reading the exchange --------------------------------------------------------------------
    def check(self, now: int) -> None:
        """Confirm every protective order against the exchange; book what filled."""
        for symbol in sorted({r.symbol for r in self.records.values()}):
            self.tracker.unsettled.add(symbol)
            open_orders = {o.client_order_id: o for o in self.exchange.fetch_open_orders(symbol)}
            for rec in [r for r in self.records.values() if r.symbol == symbol]:
                self._confirm(rec, open_orders.get(rec.client_order_id), now)
            if not any(
                r.symbol == symbol and (r.status in (OrderStatus.INTENT, OrderStatus.SENT) or r.filled > 0)
                for r in self.records.values()
            ):  # a partly filled stop: its fill is not booked yet
                self.tracker.unsettled.discard(symbol)

    def _confirm(self, rec: OrderRecord, listed: OrderResult | None, now: int) -> None:
        if listed is not None and not listed.status.terminal:
            if (listed.status, listed.filled, listed.exchange_order_id) != (
                rec.status,
                rec.filled,
                rec.exchange_order_id,
            ):
                self._put(self._with(rec, listed, now))
            return
        found = listed or self.exchange.fetch_order_by_client_id(rec.symbol, rec.client_order_id)
        if found is None:
            waited = now - (rec.sent_at or rec.created_at)
            if waited > self.exchange.recv_window_ms + NOT_PLACED_MARGIN_MS:
                self._done(rec.next(now, status=OrderStatus.NOT_PLACED, error="not on the exchange"))
            return
        if not found.status.terminal:
            self._put(self._with(rec, found, now))
            return
        self._settle(self._with(rec, found, now))

    def _with(self, rec: OrderRecord, res: OrderResult, now: int) -> OrderRecord:
        return rec.next(
            now,
            status=res.status,
            exchange_order_id=res.exchange_order_id,
            filled=res.filled,
            average=res.average,
            fee=res.fee,
            fee_base=res.fee_base,
            fee_currency=res.fee_currency,
            filled_at=res.timestamp,
            sent_at=rec.sent_at or now,
        )

    def _settle(self, rec: OrderRecord) -> None:
        """A terminal protective order: book what it filled as the position's exit."""
        key = (rec.algo, rec.symbol)
        pos = self.engine.ledger.positions.get(key)
        if rec.filled <= 0 or pos is None:
            self._done(rec.next(self.clock(), booked_filled=rec.filled))
            return
        self._put(rec)
        kind = "stop_limit" if rec.role is Role.STOP else "limit"
        order = Order(
            rec.client_order_id,
            rec.algo,
            rec.symbol,
            Action.SELL,
            rec.filled,
            rec.decided_at,
            rec.reason,
            kind,
            rec.price,
            rec.stop_price or rec.price,
        )
        if rec.role is Role.TAKE_PROFIT:
            pos.partial_taken = True
        log.warning(
            "%s %s of %s filled on the exchange: %.8g @ %.8g",
            rec.symbol,
            rec.role.value,
            rec.algo,
            rec.filled,
            rec.average,
        )
        self.engine.book(Fill(order, rec.filled_at or self.clock(), rec.average, rec.filled, rec.fee))

    def mark_booked(self, client_order_id: str) -> None:
        rec = self.records.get(client_order_id) or self.store.get_order(client_order_id)
        if rec is not None:
            self._done(rec.next(self.clock(), booked_filled=rec.filled))

    # -- before a sell -----------------------------------------------------------------------------
    def clear(self, key: tuple[str, str]) -> None:
        """Cancel the position's protective orders and book what they filled. Raises
        :class:`OrderInFlight` while that is not confirmed (nothing may be sold meanwhile)."""
        active = self._of(key)
        if not active:
            return
        now = self.clock()
        try:
            for list_id in sorted({r.list_id for r in active if r.list_id}):
                self.exchange.cancel_order_list(key[1], list_id)
            for rec in active:
                if not rec.list_id and rec.status not in (OrderStatus.INTENT,):
                    self.exchange.cancel_order(key[1], rec.client_order_id)
            for rec in active:
                self._confirm(rec, None, now)
        except ExchangeUnavailable as err:
            raise OrderInFlight(f"{key[1]}: protective orders of {key[0]} not cancelled yet ({err})") from err
        left = self._of(key)
        if left:
            raise OrderInFlight(f"{key[1]}: protective orders {[r.client_order_id for r in left]} not cancelled yet")

    # -- keeping them in place ---------------------------------------------------------------------
    def ensure(self, now: int) -> None:
        """Place missing protective orders, replace moved ones, cancel those of closed positions."""
        eng = self.engine
        for rec in list(self.records.values()):
            key = (rec.algo, rec.symbol)
            if key not in eng.ledger.positions and key not in eng.pending:
                self.clear(key)
        for key, pos in list(eng.ledger.positions.items()):
            if key in eng.pending or pos.symbol in self.tracker.unsettled:
                continue
            settings = eng.execution_for(pos.algo)
            plan = eng.plans.get(key)
            wanted = {} if plan is None else self._wanted(pos, plan, settings, now)
            if wanted or self._of(key):
                self._keep(key, pos, wanted, settings, now)

    def _wanted(self, pos: Position, plan, settings, now: int) -> dict[Role, tuple[float, float | None, float]]:
        """Role -> (price, trigger, amount) each protective order should have now."""
        limits = self.engine.markets[pos.symbol]
        price = self.engine.last_price.get(pos.symbol, pos.entry_price)
        amount = self.engine.sell_amount(pos, pos.amount, price)
        out: dict[Role, tuple[float, float | None, float]] = {}
        if amount <= 0:
            return out
        if settings.exchange_stop != "off" and pos.stop_price is not None:
            trigger = limits.floor_price(pos.stop_price)
            out[Role.STOP] = (
                limits.floor_price(trigger * (1 - settings.exchange_stop_limit_offset_bps / 1e4)),
                trigger,
                amount,
            )
        if settings.take_profit_order == "resting" and plan.take_profit is not None and not pos.partial_taken:
            part = (
                amount
                if plan.take_profit_fraction is None
                else self.engine.sell_amount(pos, pos.amount * plan.take_profit_fraction, price)
            )
            if part > 0:
                tp_price = take_profit_at(plan, now)
                assert tp_price is not None  # plan.take_profit is set, so take_profit_at gives a level
                out[Role.TAKE_PROFIT] = (limits.ceil_price(tp_price), None, part)
        return out

    def _keep(self, key, pos: Position, wanted: dict, settings, now: int) -> None:
        price = self.engine.last_price.get(pos.symbol)
        tp = wanted.get(Role.TAKE_PROFIT)
        if (
            tp is not None
            and price is not None
            and price >= tp[0]
            and not any(r.role is Role.TAKE_PROFIT for r in self._of(key))
        ):
            # reached while no take-profit rested (placing it now would be refused or fill as taker)
            self.clear(key)
            plan = self.engine.plans.get(key)
            if plan is not None and plan.take_profit_fraction:
                pos.partial_taken = True
            fraction = tp[2] / pos.amount if pos.amount > 0 else 1.0
            self.engine.exit_hit(pos, ExitHit(price, ExitReason.TAKE_PROFIT, min(1.0, fraction), now))
            return
        have = {r.role: r for r in self._of(key)}
        if not wanted or set(have) - set(wanted):  # no longer wanted (config, dust, partial take-profit)
            self.clear(key)
            have = {}
        stale = [role for role, want in wanted.items() if role in have and self._differs(have[role], want)]
        missing = [role for role in wanted if role not in have]
        if settings.exchange_stop == "oco":
            if Role.STOP in wanted and Role.TAKE_PROFIT in wanted and (stale or missing):
                if have:
                    self.clear(key)
                self._place_oco(pos, wanted, now)
            return
        for role in missing + stale:
            if now < self.retry_at.get((key, role.value), 0):
                continue
            self._place(pos, role, wanted[role], have.get(role), now)

    @staticmethod
    def _differs(rec: OrderRecord, want: tuple[float, float | None, float]) -> bool:
        price, trigger, amount = want
        return (rec.price, rec.stop_price, rec.amount) != (price, trigger, amount) and rec.status is OrderStatus.OPEN

    def _record(self, pos: Position, role: Role, want, now: int, list_id: str = "") -> OrderRecord:
        price, trigger, amount = want
        reason = self._stop_reason(pos) if role is Role.STOP else ExitReason.TAKE_PROFIT
        cid = client_order_id(pos.algo, pos.symbol, Action.SELL, now, f"{role.value}|{pos.entry_trade_id}|{price!r}")
        order = Order(
            cid,
            pos.algo,
            pos.symbol,
            Action.SELL,
            amount,
            now,
            reason,
            "stop_limit" if role is Role.STOP else ("maker" if list_id else "limit"),
            price,
            trigger if trigger is not None else price,
        )
        rec = OrderRecord.intent(order, now, role=role, parent=pos.entry_trade_id, stop_price=trigger, list_id=list_id)
        self.store.put_order(rec)
        self.records[cid] = rec
        return rec

    def _stop_reason(self, pos: Position) -> ExitReason:
        plan = self.engine.plans.get(pos.key)
        if plan is None or plan.fixed_stop is None or (pos.stop_price or 0) > plan.fixed_stop:
            return ExitReason.TRAILING_STOP
        return ExitReason.STOP_LOSS

    def _place(self, pos: Position, role: Role, want, old: OrderRecord | None, now: int) -> None:
        rec = self._record(pos, role, want, now)
        replacing = old if old is not None and old.status is OrderStatus.OPEN else None
        try:
            if replacing is not None:
                res = self.exchange.replace_order(
                    rec.symbol,
                    "sell",
                    rec.amount,
                    rec.client_order_id,
                    replacing.client_order_id,
                    rec.type,
                    rec.price,
                    rec.stop_price,
                )
            else:
                res = self.exchange.create_order(
                    rec.symbol, "sell", rec.amount, rec.client_order_id, rec.type, rec.price, stop_price=rec.stop_price
                )
        except OrderRejected as err:
            if old is not None:
                self._confirm(old, None, now)
                still = self.records.get(old.client_order_id)
                if still is not None or (old.client_order_id not in self.records and self._filled(old)):
                    # the old order still rests (it protects) or it filled (booked): not unprotected
                    self._done(rec.next(now, status=OrderStatus.REJECTED, error=str(err)))
                    return
            self._refused(pos, rec, str(err), now)
            return
        except ExchangeUnavailable:
            self._put(rec.next(now, status=OrderStatus.SENT, sent_at=now))  # looked up by check()
            self.tracker.unsettled.add(rec.symbol)
            return
        except ExchangeFatal as err:
            self._done(rec.next(now, status=OrderStatus.REJECTED, error=str(err)))
            raise
        self._put(self._with(rec, res, now).next(now, sent_at=now))
        if replacing is not None:
            self._confirm(replacing, None, now)  # cancelled by the replacement (or filled just before it)

    def _place_oco(self, pos: Position, wanted: dict, now: int) -> None:
        list_id = client_order_id(pos.algo, pos.symbol, Action.SELL, now, f"oco|{pos.entry_trade_id}")
        amount = min(wanted[Role.STOP][2], wanted[Role.TAKE_PROFIT][2])
        tp = self._record(pos, Role.TAKE_PROFIT, (*wanted[Role.TAKE_PROFIT][:2], amount), now, list_id)
        stop = self._record(pos, Role.STOP, (*wanted[Role.STOP][:2], amount), now, list_id)
        # _wanted gives a take-profit its price, a stop its limit price and its trigger
        assert tp.price is not None and stop.price is not None and stop.stop_price is not None
        try:
            got_tp, got_stop = self.exchange.create_oco(
                pos.symbol,
                amount,
                list_id,
                tp.client_order_id,
                tp.price,
                stop.client_order_id,
                stop.stop_price,
                stop.price,
            )
        except OrderRejected as err:
            self._done(tp.next(now, status=OrderStatus.REJECTED, error=str(err)))
            self._refused(pos, stop, str(err), now)
            return
        except ExchangeUnavailable:
            for rec in (tp, stop):
                self._put(rec.next(now, status=OrderStatus.SENT, sent_at=now))
            self.tracker.unsettled.add(pos.symbol)
            return
        self._put(self._with(tp, got_tp, now))
        self._put(self._with(stop, got_stop, now))

    def _refused(self, pos: Position, rec: OrderRecord, why: str, now: int) -> None:
        """The exchange refused a protective order: a stop makes the bot exit at market now
        (freqtrade's emergency exit); a take-profit is tried again later."""
        self._done(rec.next(now, status=OrderStatus.REJECTED, error=why))
        if rec.role is Role.TAKE_PROFIT:
            self.retry_at[(pos.key, rec.role.value)] = now + RETRY_MS
            self._event(
                pos,
                now,
                "take_profit_refused",
                f"resting take-profit refused, tried again in {RETRY_MS // 1000} s: {why}",
                {"price": rec.price},
            )
            return
        self._event(
            pos,
            now,
            "exchange_stop_refused",
            f"exchange stop refused: exiting at market now: {why}",
            {"stop_price": rec.stop_price, "limit": rec.price},
        )
        price = self.engine.last_price.get(pos.symbol, pos.entry_price)
        self.engine.exit_hit(pos, ExitHit(price, ExitReason.EMERGENCY_EXIT, 1.0, now))

    # -- helpers -----------------------------------------------------------------------------------
    def _filled(self, rec: OrderRecord) -> bool:
        stored = self.store.get_order(rec.client_order_id)
        return stored is not None and stored.filled > 0

    def _event(self, pos: Position, now: int, rule: str, message: str, data: dict) -> None:
        log.error("%s %s: %s", pos.algo, pos.symbol, message)
        self.events(
            Event(f"{pos.entry_trade_id}-{rule}-{now}", now, "order", message, pos.algo, pos.symbol, rule, data)
        )

    def _put(self, rec: OrderRecord) -> None:
        self.records[rec.client_order_id] = rec
        self.store.put_order(rec)

    def _done(self, rec: OrderRecord) -> None:
        self.records.pop(rec.client_order_id, None)
        self.store.put_order(rec)
