"""The live account: the exchange's balances as the bot's cash, reconciled with its positions.

:class:`Account` reads ``fetch_balance`` at start, after every fill (the order tracker asks for
it) and every ``account_sync_seconds``:

* cash = free + locked quote currency, so equity = that + the bot's positions and dust at the
  last prices; sizing, the caps, the daily loss limit and the funds check use it. The equity at
  the first sync of each trading day is stored (State ``day_start_equity``) and is the day-start
  equity of the daily loss limit.
* Reconciliation, per base asset, against the bot's positions plus dust (skipped for a base
  with an order in flight: its balance may hold a fill not booked yet):

  - the exchange holds *less* (a manual sell, an exchange-side stop that filled, a lost write):
    the symbol's dust is written off first, then positions are closed, newest first, by the
    difference with reason ``external_close``, at the average price of the account's sells the
    bot did not make (``fetch_my_trades``) or, without any, the last price; an event says so;
  - the exchange holds *more*: the difference is "not managed" (coins the bot did not buy). The
    bot never sells them (a flatten sells its own positions only) and the dashboard lists them.

* Open orders with the bot's client-id prefix on the configured symbols that the store does not
  know are cancelled, not adopted: the store holds no decision, strategy or exit plan for them, so a resting buy could
  fill into coins no stop protects; cancelling leaves the account in a state the books explain
  (any part it filled shows as "not managed"). Each is recorded as a done order with the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from daybreak.core.domain import Action, Event, ExitReason, Fill, Order, client_order_id
from daybreak.core.engine import Engine
from daybreak.core.order_record import OrderRecord, OrderStatus
from daybreak.core.timeframes import trading_day
from daybreak.drivers.orders import OrderTracker
from daybreak.exchange.client import Balance, Exchange
from daybreak.exchange.orders import CLIENT_ID_PREFIX
from storage.base import Store

log = logging.getLogger("daybreak")

TOLERANCE = 2e-8
"""Base amounts closer than this agree (Binance books balances to 8 decimals)."""
DAY_START_KEY = "day_start_equity"
WRITTEN_OFF_KEY = "dust_written_off:"


def written_off(store: Store, symbol: str) -> float:
    """Dust of ``symbol`` that left the account without a trade (e.g. Binance's dust conversion)."""
    raw = store.get_state(WRITTEN_OFF_KEY + symbol)
    return float(raw) if raw else 0.0


class Account:
    """Balances, reconciliation and the day-start equity of one live account (quote ``quote``)."""

    def __init__(
        self,
        exchange: Exchange,
        engine: Engine,
        store: Store,
        tracker: OrderTracker,
        quote: str,
        clock: Callable[[], int],
        events: Callable[[Event], None],
    ):
        self.exchange, self.engine, self.store, self.tracker = exchange, engine, store, tracker
        self.quote, self.clock, self.events = quote, clock, events
        self.balances: dict[str, Balance] = {}
        self.synced_at: int | None = None
        self.unmanaged: dict[str, float] = {}
        self.last_reconcile = ""

    def due(self, now_ms: int, every_seconds: float) -> bool:
        return self.synced_at is None or self.tracker.resync_wanted or now_ms - self.synced_at >= every_seconds * 1000

    def sync(self, now_ms: int) -> None:
        """Read the balances, set the ledger's cash, reconcile, check open orders, and keep the
        day-start equity. Raises ExchangeUnavailable / ExchangeFatal (nothing changed then)."""
        balances = self.exchange.fetch_balance()
        quote = balances.get(self.quote) or Balance(self.quote, 0.0, 0.0)
        self.engine.ledger.set_account(quote.total, quote.used)
        self.tracker.free = {a: b.free for a, b in balances.items()}
        self.balances = balances
        self.reconcile(now_ms)
        self.cancel_unknown_orders(now_ms)
        self.day_start(now_ms)
        self.synced_at = now_ms  # only now: a sync cut short is tried again next cycle
        self.tracker.resync_wanted = False

    # -- reconciliation ---------------------------------------------------------------------------
    def reconcile(self, now_ms: int) -> None:
        eng = self.engine
        bases: dict[str, list[str]] = {}
        for symbol in eng.markets:
            bases.setdefault(symbol.partition("/")[0], []).append(symbol)
        busy = self.tracker.in_flight_symbols() | {k[1] for k in eng.pending}
        for base, symbols in sorted(bases.items()):
            if busy & set(symbols):
                continue
            have = self.balances[base].total if base in self.balances else 0.0
            held = sum(eng.ledger.held(s) for s in symbols)
            if have < held - TOLERANCE:
                self._missing(base, symbols, held - have, now_ms, held, have)
                held = sum(eng.ledger.held(s) for s in symbols)
            extra = have - held
            if extra > TOLERANCE:
                self.unmanaged[base] = extra
            else:
                self.unmanaged.pop(base, None)

    def _missing(
        self, base: str, symbols: list[str], missing: float, now_ms: int, books: float = 0.0, exchange: float = 0.0
    ) -> None:
        eng, done = self.engine, []
        for symbol in symbols:
            dust = eng.ledger.dust.get(symbol, 0.0)
            take = min(dust, missing)
            if take > 0:
                eng.ledger.dust[symbol] = dust - take
                if eng.ledger.dust[symbol] <= TOLERANCE:
                    eng.ledger.dust.pop(symbol)
                self.store.set_state(
                    WRITTEN_OFF_KEY + symbol, repr(written_off(self.store, symbol) + take), durable=True
                )
                missing -= take
                done.append(f"{take:.8g} {base} of dust written off")
        held = sorted(
            (p for p in eng.ledger.positions.values() if p.symbol in symbols),
            key=lambda p: p.entry_timestamp,
            reverse=True,
        )
        for pos in held:
            if missing <= TOLERANCE:
                break
            take = min(pos.amount, missing)
            price, source = self._external_price(pos.symbol, pos.entry_timestamp)
            cid = client_order_id(pos.algo, pos.symbol, Action.SELL, now_ms, f"external_close|{pos.entry_trade_id}")
            order = Order(
                "xc-" + cid.removeprefix(CLIENT_ID_PREFIX),
                pos.algo,
                pos.symbol,
                Action.SELL,
                take,
                now_ms,
                ExitReason.EXTERNAL_CLOSE,
            )
            eng.book(Fill(order, now_ms, price, take, 0.0))
            missing -= take
            done.append(f"closed {take:.8g} of {pos.algo}'s {pos.symbol} position at {price:.8g} ({source})")
        self.last_reconcile = (f"the exchange holds less {base} than the bot: " + "; ".join(done)) if done else ""
        if done:
            log.warning("RECONCILE %s", self.last_reconcile)
            self.events(
                Event(
                    f"reconcile-{base}-{now_ms}",
                    now_ms,
                    "reconcile",
                    self.last_reconcile,
                    "",
                    symbols[0],
                    "external_close",
                    {"base": base, "books": books, "exchange": exchange},
                )
            )

    def _external_price(self, symbol: str, since: int) -> tuple[float, str]:
        """Average price of the account's sells of ``symbol`` since ``since`` that are no order of
        the bot's, else the last price."""
        ours = {r.exchange_order_id for r in self.store.list_orders(limit=1000) if r.exchange_order_id}
        fills = [f for f in self.exchange.fetch_my_trades(symbol, since) if f.side == "sell" and f.order_id not in ours]
        amount = sum(f.amount for f in fills)
        if amount > 0:
            ids = ",".join(f.trade_id for f in fills)
            return sum(f.amount * f.price for f in fills) / amount, f"the exchange's fill(s) {ids}"
        price = self.engine.last_price.get(symbol)
        if price is None:
            price = self.exchange.fetch_last_price(symbol)
        return price, "no exchange fill found: valued at the last price"

    def cancel_unknown_orders(self, now_ms: int) -> None:
        """Cancel open orders with the bot's prefix the store does not know (module docstring)."""
        for res in self.exchange.fetch_open_orders():
            cid = res.client_order_id
            if (
                not cid.startswith(CLIENT_ID_PREFIX)
                or cid in self.tracker.open
                or res.symbol not in self.engine.markets
            ):
                continue  # the trader's own orders, ours in flight, and other markets are left alone
            stored = self.store.get_order(cid)
            if stored is not None and not stored.done:
                continue
            final = self.exchange.cancel_order(res.symbol, cid) or res
            why = "unknown to this store: cancelled at reconciliation (any fill shows as not managed)"
            status = final.status if final.status.terminal else OrderStatus.CANCELED
            self.store.put_order(
                OrderRecord(
                    cid,
                    "",
                    res.symbol,
                    Action(res.side or "buy"),
                    res.amount,
                    res.timestamp,
                    now_ms,
                    status=status,
                    type=res.type or "market",
                    price=res.price,
                    exchange_order_id=res.exchange_order_id,
                    filled=final.filled,
                    average=final.average,
                    fee=final.fee,
                    fee_base=final.fee_base,
                    fee_currency=final.fee_currency,
                    updated_at=now_ms,
                    booked_filled=final.filled,
                    error=why,
                )
            )
            log.warning("RECONCILE cancelled %s order %s: %s", res.symbol, cid, why)
            self.events(
                Event(
                    f"reconcile-{cid}",
                    now_ms,
                    "reconcile",
                    f"{res.symbol} order {cid} {why}",
                    "",
                    res.symbol,
                    "unknown_order",
                    {"filled": final.filled},
                )
            )

    # -- day start ----------------------------------------------------------------------------------
    def day_start(self, now_ms: int) -> None:
        """The day-start equity of the daily loss limit: stored at the first sync of each day."""
        eng = self.engine
        day, _, _ = trading_day(now_ms, eng.config.risk.day_timezone)
        raw = self.store.get_state(DAY_START_KEY)
        known = json.loads(raw) if raw else {}
        if known.get("day") == day:
            equity = float(known["equity"])
        else:
            equity = eng.ledger.equity(eng.last_price)
            self.store.set_state(DAY_START_KEY, json.dumps({"day": day, "equity": equity, "at": now_ms}), durable=True)
        eng.gate.set_day_start_equity(day, equity)

    def detail(self) -> dict:
        """For the status row and the dashboard."""
        quote = self.balances.get(self.quote)
        return {
            "quote": self.quote,
            "free": quote.free if quote else 0.0,
            "locked": quote.used if quote else 0.0,
            "synced_at": self.synced_at,
            "unmanaged": dict(self.unmanaged),
            "dust": dict(self.engine.ledger.dust),
            "reconciled": self.last_reconcile,
            "day_start_equity": self.engine.gate.c.day_start_equity,
        }
