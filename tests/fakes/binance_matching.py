"""Walking the fake Binance's resting orders along a price path (mixed into BinanceState).

A move is a list of segments ``(from, to, continuous, at_ms)``. A continuous segment (inside a
candle) trades every price between its ends; a gap (``set_price``, or one close to the next open)
trades only at ``to``. Resting limit orders are in the book, so a gap fills those it passes just
as a continuous move does, in the order the price reaches them; a stop triggers where the
path reaches its ``stopPrice`` (on a gap: at ``to``). Each order fills at most once per segment
(so a partial fill leaves its rest for a later move).
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.binance_orders import OPEN, PRICED, OrderEngine, stop_hit


class PriceWalk(OrderEngine):
    """Matching of resting orders when the price moves."""

    def _move(self, market_id: str, segments: list[tuple[Decimal, Decimal, bool, int | None]]) -> None:
        """Walk the price through ``segments``; resting orders of ``market_id`` fill and stops
        trigger in the order the path reaches them; fills are stamped ``at_ms`` (None: now)."""
        for a, b, continuous, at in segments:
            if not any(o["symbol"] == market_id for o in self._open.values()):
                return
            self._event_time = at
            try:
                self._segment(market_id, a, b, continuous)
            finally:
                self._event_time = None

    @staticmethod
    def _cross(a: Decimal, b: Decimal, level: Decimal, below: bool, t0: Decimal):
        """First position in [t0, 1] along a -> b where the price is strictly below (above) ``level``."""
        at_t0 = a + (b - a) * t0
        if (at_t0 < level) if below else (at_t0 > level):
            return t0
        if (b < level) if below else (b > level):
            return max(t0, (a - level) / (a - b))
        return None

    def _book_event(self, order: dict, a: Decimal, b: Decimal, t0: Decimal):
        t = self._cross(a, b, order["_price"], order["side"] == "BUY", t0)
        return None if t is None else (t, order["orderId"], "fill", order["clientOrderId"], order["_price"])

    def _segment(self, market_id: str, a: Decimal, b: Decimal, continuous: bool) -> None:
        events = []
        for order in sorted((o for o in self._open.values() if o["symbol"] == market_id), key=lambda o: o["orderId"]):
            if order["_triggered"]:
                event = self._book_event(order, a, b, Decimal(0))
            elif continuous:
                if stop_hit(order, b):
                    stop = order["_stop"]
                    t = Decimal(0) if stop_hit(order, a) else (a - stop) / (a - b)
                    event = (t, order["orderId"], "trigger", order["clientOrderId"], a if t == 0 else stop)
                else:
                    event = None
            else:
                event = (
                    (Decimal(1), order["orderId"], "trigger", order["clientOrderId"], b) if stop_hit(order, b) else None
                )
            if event is not None:
                events.append(event)
        done: set[str] = set()
        while events:
            events.sort()
            t, _, kind, cid, price = events.pop(0)
            order = self.orders[cid]
            if cid in done or order["status"] not in OPEN:
                continue
            if kind == "trigger":
                self._trigger(order, price)
                if order["status"] in OPEN and order["type"] in PRICED and continuous and not order["_filled"]:
                    event = self._book_event(order, a, b, t)
                    if event is not None:
                        events.append(event)
                        continue
            else:
                self._fill(order, self._portion(order), price, maker=True)
            done.add(cid)
