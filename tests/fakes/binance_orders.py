"""Orders of the fake Binance: placement, balance locks, fills, the ledger (mixed into BinanceState).

Order types (``POST /api/v3/order``): ``MARKET`` (``quantity`` or ``quoteOrderQty``), ``LIMIT``
(``timeInForce`` GTC/IOC/FOK), ``LIMIT_MAKER`` (post-only), ``STOP_LOSS_LIMIT`` /
``TAKE_PROFIT_LIMIT`` (``stopPrice`` + ``price`` + ``timeInForce``) and ``STOP_LOSS`` /
``TAKE_PROFIT`` (``stopPrice``; a market order once triggered). Execution model:

* a taker fill (market order, marketable limit) is at the best price: the ask for a buy, the bid
  for a sell (both the last price unless a spread is set), taker fee;
* a resting buy (sell) limit fills at its own price, maker fee, once the price path goes strictly
  below (above) it;
* a stop triggers once the path reaches ``stopPrice`` (``STOP_LOSS`` sell / ``TAKE_PROFIT`` buy: at
  or below it; the others at or above); a ``*_LIMIT`` then becomes a limit order at ``price``: if that
  is marketable at the trigger price it fills at once, at ``price`` (never better), taker fee;
  otherwise (the price gapped past the limit) it rests, triggered, until the path comes back;
* fees (0.1 % by default) are taken from what the order receives: base currency on buys, quote on
  sells, as Binance does without BNB.

Resting orders lock what they may spend (quantity of base on sells; ``price * quantity`` of quote on
buys); an OCO locks once for both legs. Every fill is recorded in :meth:`OrderEngine.ledger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tests.fakes.binance_errors import BinanceError, d, s

E8 = Decimal("1e-8")
OPEN = ("NEW", "PARTIALLY_FILLED")
STOPS = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
PRICED = ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
TYPES = ("MARKET", "LIMIT", "LIMIT_MAKER") + STOPS
NEEDS_TIF = ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")


@dataclass(frozen=True)
class Fill:
    """One execution, as the exchange recorded it. ``amount``: base; ``price``: quote per base;
    ``quote``: amount * price (8 decimals); ``fee`` in ``fee_asset``; ``time``: exchange ms."""

    client_order_id: str
    order_id: int
    symbol: str
    side: str  # "buy" | "sell"
    type: str  # Binance order type, e.g. "LIMIT"
    amount: Decimal
    price: Decimal
    quote: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    time: int
    trade_id: int


def _mandatory(name: str) -> BinanceError:
    return BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _num(p: dict[str, str], name: str) -> Decimal | None:
    if not p.get(name):
        return None
    try:
        value = Decimal(p[name])
    except Exception:
        raise _mandatory(name) from None
    if not value.is_finite() or value <= 0:
        raise _mandatory(name)
    return value


def stop_hit(order: dict, price: Decimal) -> bool:
    """Whether ``price`` triggers the stop ``order``."""
    falling = (order["type"].startswith("STOP_LOSS")) == (order["side"] == "SELL")
    return price <= order["_stop"] if falling else price >= order["_stop"]


class OrderEngine:
    """Order state and execution; needs BinanceState's markets, prices, clock and balances."""

    maker_fee = Decimal("0.001")
    taker_fee = Decimal("0.001")

    def _init_orders(self) -> None:
        self.orders: dict[str, dict] = {}  # clientOrderId -> order
        self._open: dict[str, dict] = {}  # the NEW / PARTIALLY_FILLED ones
        self._fills: list[Fill] = []
        self._free: dict = {"USDT": Decimal("10000")}
        self._locked: dict = {}
        self._ids = {"order": 0, "trade": 0, "list": -1}
        self._expire_market = 0
        self._refuse: list[tuple[str, int, str]] = []  # (order type, code, msg) of refusals to come
        self._partial: Decimal | None = None
        self._event_time: int | None = None

    # -- hooks ------------------------------------------------------------------------------------
    def set_fees(self, maker: float | str = "0.001", taker: float | str = "0.001") -> None:
        """Commission rates (fractions) on maker and taker fills."""
        self.maker_fee, self.taker_fee = d(maker), d(taker)

    def refuse_next_order(
        self, order_type: str, code: int = -1013, msg: str = "Filter failure: PERCENT_PRICE_BY_SIDE"
    ) -> None:
        """The next order of Binance type ``order_type`` (e.g. ``STOP_LOSS_LIMIT``) is refused with
        HTTP 400 ``{"code": code, "msg": msg}``, as Binance refuses one its filters reject."""
        with self._lock:
            self._refuse.append((order_type, code, msg))

    def expire_next_market_order(self, count: int = 1) -> None:
        """The next ``count`` MARKET orders find no liquidity: ``EXPIRED``, nothing filled."""
        self._expire_market += count

    def partial_fill_next(self, fraction: float | str) -> None:
        """The next order's first fill executes only ``fraction`` of its quantity (rounded down to
        the step). The rest: a MARKET order expires, IOC expires, GTC rests (``PARTIALLY_FILLED``)
        and fills on a later price move; a FOK order expires unfilled."""
        self._partial = d(fraction)

    def ledger(self) -> list[Fill]:
        """Every fill so far, in execution order."""
        with self._lock:
            return list(self._fills)

    def balances(self) -> dict[str, dict[str, Decimal]]:
        """``{asset: {"free": ..., "locked": ..., "total": ...}}`` of every asset the account holds."""
        with self._lock:
            out = {}
            for asset in sorted(set(self._free) | set(self._locked)):
                free = self._free.get(asset) or Decimal(0)
                locked = self._locked.get(asset) or Decimal(0)
                out[asset] = {"free": free, "locked": locked, "total": free + locked}
            return out

    # -- building an order ------------------------------------------------------------------------
    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _build(self, p: dict[str, str], list_id: int = -1) -> dict:
        """A validated order from request params (not yet registered, nothing locked)."""
        market_id = self._market(p)
        base, quote = self._markets[market_id]
        kind, side = p.get("type"), p.get("side")
        if kind not in TYPES:
            raise BinanceError(400, -1116, "Invalid orderType.")
        refusal = next((r for r in self._refuse if r[0] == kind), None)
        if refusal is not None:
            self._refuse.remove(refusal)
            raise BinanceError(400, refusal[1], refusal[2])
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1117, "Invalid side.")
        lim = self.limits(f"{base}/{quote}")
        tick, step, min_qty = d(lim.price_tick), d(lim.amount_step), d(lim.min_amount)
        price = _num(p, "price") if kind in PRICED else None
        stop = _num(p, "stopPrice") if kind in STOPS else None
        if kind in PRICED and price is None:
            raise _mandatory("price")
        if kind in STOPS and stop is None:
            raise _mandatory("stopPrice")
        tif = p.get("timeInForce")
        if kind in NEEDS_TIF and not tif:
            raise _mandatory("timeInForce")
        if tif and kind not in NEEDS_TIF:
            raise BinanceError(400, -1106, "Parameter 'timeInForce' sent when not required.")
        if tif and tif not in ("GTC", "IOC", "FOK"):
            raise BinanceError(400, -1115, "Invalid timeInForce.")
        last = self.last_price(market_id)
        qty = _num(p, "quantity")
        quote_qty = _num(p, "quoteOrderQty") if kind == "MARKET" and qty is None else None
        if quote_qty is not None:
            best = self.book(market_id)[1 if side == "BUY" else 0]
            qty = ((quote_qty / best) // step * step) if step else quote_qty / best
        if qty is None:
            raise _mandatory("quantity")
        cid = p.get("newClientOrderId") or f"fake-{self._ids['order'] + 1}"
        if cid in self.orders:
            raise BinanceError(400, -2010, "Duplicate order sent.")
        if (
            qty < min_qty
            or (lim.max_amount is not None and qty > d(lim.max_amount))
            or (step and (qty - min_qty) % step)
        ):
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        for value in (price, stop):
            if value is not None and ((tick and value % tick) or value < tick or value > 1_000_000):
                raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        if qty * (price or stop or last) < d(lim.min_notional):
            raise BinanceError(400, -1013, f"Filter failure: {self.notional_filter}")
        now = self._event_time or self.now()
        order = {
            "symbol": market_id,
            "orderId": 0,
            "orderListId": list_id,
            "clientOrderId": cid,
            "price": s(price or 0),
            "origQty": s(qty),
            "executedQty": s(0),
            "cummulativeQuoteQty": s(0),
            "status": "NEW",
            "timeInForce": tif or "GTC",
            "type": kind,
            "side": side,
            "workingTime": -1 if kind in STOPS else now,
            "selfTradePreventionMode": "NONE",
            "_time": now,
            "_update": now,
            "_qty": qty,
            "_filled": Decimal(0),
            "_quote": Decimal(0),
            "_price": price,
            "_stop": stop,
            "_triggered": kind not in STOPS,
            "_fills": [],
            "_lock": (quote if side == "BUY" else base, Decimal(0)),
            "_step": step,
        }
        if stop is not None:
            order["stopPrice"] = s(stop)
            if stop_hit(order, last):
                raise BinanceError(400, -2010, "Order would trigger immediately.")
        if quote_qty is not None:
            order["origQuoteOrderQty"] = s(quote_qty)
        return order

    def _lock_need(self, order: dict) -> Decimal:
        """What a resting ``order`` must keep locked for its unfilled quantity."""
        if order["status"] not in OPEN or order["type"] == "MARKET":
            return Decimal(0)
        rest = order["_qty"] - order["_filled"]
        if order["side"] == "SELL":
            return rest
        return (rest * (order["_price"] or order["_stop"])).quantize(E8, ROUND_HALF_UP)

    def _reserve(self, order: dict, amount: Decimal) -> None:
        asset = order["_lock"][0]
        if self._free.get(asset, Decimal(0)) < amount:
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
        self._free[asset] -= amount
        self._locked[asset] = self._locked.get(asset, Decimal(0)) + amount
        order["_lock"] = (asset, order["_lock"][1] + amount)

    def _relock(self, order: dict, need: Decimal | None = None) -> None:
        """Release what ``order`` holds beyond ``need`` (default: what its rest needs)."""
        asset, held = order["_lock"]
        need = self._lock_need(order) if need is None else need
        if held > need:
            self._locked[asset] -= held - need
            self._free[asset] = self._free.get(asset, Decimal(0)) + held - need
            order["_lock"] = (asset, need)

    def _register(self, order: dict) -> None:
        order["orderId"] = self._next("order")
        if self._partial is not None:
            order["_part"] = self._partial
        self.orders[order["clientOrderId"]] = order
        self._open[order["clientOrderId"]] = order

    # -- execution --------------------------------------------------------------------------------
    def _portion(self, order: dict) -> Decimal:
        """The quantity the next fill of ``order`` executes (the partial-fill hook's fraction once)."""
        rest = order["_qty"] - order["_filled"]
        part = order.pop("_part", None)
        if part is None or part >= 1:
            return rest
        step = order["_step"]
        amount = order["_qty"] * part
        return min(rest, (amount // step * step) if step else amount)

    def _fill(self, order: dict, qty: Decimal, price: Decimal, maker: bool) -> None:
        if qty <= 0:
            return
        self._activated(order)  # an OCO's other leg expires first
        base, quote = self._markets[order["symbol"]]
        cost = (qty * price).quantize(E8, ROUND_HALF_UP)
        rate = self.maker_fee if maker else self.taker_fee
        buy = order["side"] == "BUY"
        spend_asset, spend, get_asset, get = (quote, cost, base, qty) if buy else (base, qty, quote, cost)
        fee = (get * rate).quantize(E8, ROUND_HALF_UP)
        asset, held = order["_lock"]
        used = min(held, spend) if asset == spend_asset else Decimal(0)
        if used:
            self._locked[asset] -= used
            order["_lock"] = (asset, held - used)
        self._free[spend_asset] = self._free.get(spend_asset, Decimal(0)) - (spend - used)
        self._free[get_asset] = self._free.get(get_asset, Decimal(0)) + get - fee
        now = self._event_time or self.now()
        trade_id = self._next("trade")
        fill = {
            "price": s(price),
            "qty": s(qty),
            "commission": s(fee),
            "commissionAsset": get_asset,
            "tradeId": trade_id,
        }
        order["_fills"].append(fill)
        order.setdefault("_fill", fill)
        order["_filled"] += qty
        order["_quote"] += cost
        order["_update"] = now
        order["status"] = "FILLED" if order["_filled"] >= order["_qty"] else "PARTIALLY_FILLED"
        order["executedQty"], order["cummulativeQuoteQty"] = s(order["_filled"]), s(order["_quote"])
        self._fills.append(
            Fill(
                order["clientOrderId"],
                order["orderId"],
                f"{base}/{quote}",
                order["side"].lower(),
                order["type"],
                qty,
                price,
                cost,
                fee,
                get_asset,
                maker,
                now,
                trade_id,
            )
        )
        if order["status"] == "FILLED":
            self._finish(order, "FILLED")
        else:
            self._relock(order)

    def _finish(self, order: dict, status: str) -> None:
        order["status"] = status
        order["_update"] = self._event_time or self.now()
        self._open.pop(order["clientOrderId"], None)
        self._relock(order, Decimal(0))
        self._list_done(order)

    def _take(self, order: dict, marketable: bool, price: Decimal) -> None:
        """A limit order arriving (placed, or its stop triggered): fill what is marketable at
        ``price`` (taker), then apply its time in force."""
        tif = order["timeInForce"]
        if tif == "FOK" and (not marketable or order.get("_part", 1) < 1):
            order.pop("_part", None)
            return self._finish(order, "EXPIRED")
        if marketable:
            self._fill(order, self._portion(order), price, maker=False)
        if tif != "GTC" and order["status"] in OPEN:
            self._finish(order, "EXPIRED")

    def _execute(self, order: dict) -> None:
        """What happens to a newly placed, registered order."""
        bid, ask = self.book(order["symbol"])
        buy = order["side"] == "BUY"
        if order["type"] == "MARKET":
            if self._expire_market:
                self._expire_market -= 1
                order.pop("_part", None)
            else:
                self._fill(order, self._portion(order), ask if buy else bid, maker=False)
            if order["status"] in OPEN:
                order["expiryReason"] = "INSUFFICIENT_LIQUIDITY"
                self._finish(order, "EXPIRED")
        elif order["type"] == "LIMIT":
            limit = order["_price"]
            self._take(order, limit >= ask if buy else limit <= bid, ask if buy else bid)

    def _trigger(self, order: dict, price: Decimal) -> None:
        """The stop of ``order`` is reached at ``price``."""
        order["_triggered"] = True
        order["workingTime"] = order["_update"] = self._event_time or self.now()
        self._activated(order)
        if order["type"] in ("STOP_LOSS", "TAKE_PROFIT"):  # a market order now
            self._fill(order, self._portion(order), price, maker=False)
            if order["status"] in OPEN:
                self._finish(order, "EXPIRED")
        else:
            limit = order["_price"]
            self._take(order, price <= limit if order["side"] == "BUY" else price >= limit, limit)

    # -- order lists (OCO) ------------------------------------------------------------------------
    def _activated(self, order: dict) -> None:
        """One leg of an OCO filled or triggered: the other expires, its lock passes to this one."""
        if order["orderListId"] == -1:
            return
        for other in self._list_legs(order["orderListId"]):
            if other is not order and other["status"] in OPEN:
                asset, held = other["_lock"]
                other["_lock"] = (asset, Decimal(0))
                order["_lock"] = (asset, order["_lock"][1] + held)
                self._finish(other, "EXPIRED")
                self._relock(order)

    def _list_legs(self, list_id: int) -> list[dict]:
        return [o for o in self.orders.values() if o["orderListId"] == list_id]

    def _list_done(self, order: dict) -> None:
        lists = getattr(self, "order_lists", {})
        entry = lists.get(order["orderListId"])
        if entry is not None and all(o["status"] not in OPEN for o in self._list_legs(order["orderListId"])):
            entry["listStatusType"] = entry["listOrderStatus"] = "ALL_DONE"
