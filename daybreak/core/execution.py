"""Orders that rest, simulated along the intrabar path: the one model of paper, replay and backtest.

The execution settings (:mod:`daybreak.core.execution_settings`) pick an order kind per decision
(:class:`~daybreak.core.domain.OrderKind`); this module says what each does when no exchange is
there. A candle's path is the documented one (:mod:`daybreak.core.exits`:
``open -> low -> high -> close`` when it closed up, else ``open -> high -> low -> close``).
Candles carry no order book, so the simulated book at any point of the path is one price: the
best bid and the best ask both equal it.

* **Queue assumption.** A resting limit order joins the back of the queue at its price, so it
  fills only when the path trades *through* it (strictly below a buy, strictly above a sell);
  touching it fills nothing. It then fills completely, at its own price (also when a gap jumped
  past it), paying the maker fee, with no slippage.
* **Limit entry** (``entry_order: limit``): placed when a market order would fill (the open of
  the candle after the decision) at ``open * (1 - entry_offset_bps / 10,000)`` rounded down to
  the tick. At the end of the candle in which ``entry_timeout_seconds`` elapsed unfilled it is
  cancelled and, with ``entry_on_timeout: market``, bought at market at that candle's close
  (taker fee plus ``slippage_bps``); ``cancel`` records the rejection ``entry_timeout``. A limit
  filled inside a candle opens the position there: its exits are walked from that point on.
* **Maker exit** (``exit_order: maker``, signal exits only; stops always exit at once): a
  post-only sell at the best ask (the open) placed like a market order would fill, re-priced at
  each candle's open to that open while it is lower (the cancel-replace of live), filled at its
  price when the path trades above it. The position's stop keeps watching during the chase and,
  when hit first, sells at market instead. At the end of the candle in which
  ``exit_chase_seconds`` elapsed it crosses at market at the close. A post-only order would be
  rejected only if it crossed the book (Binance's -2010): priced at the touch it never does here.
* **Resting take-profit** and **exchange stops** change the position's exit walk
  (:func:`plan_for`, rules in :mod:`daybreak.core.exits`).

Fee rates (:func:`fee_rates`): ``paper.fee_rate`` / ``paper.maker_fee_rate`` when the config sets
them, else the market's ``taker`` / ``maker`` from ccxt, else 0.1 % (ccxt's ``binanceus`` table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from daybreak.core.domain import Action, Order, OrderKind
from daybreak.core.execution_settings import ExecutionSettings
from daybreak.core.exits import ExitPlan, walk
from daybreak.core.markets import MarketLimits
from daybreak.core.risk import Rejection

if TYPE_CHECKING:
    from daybreak.core.config import Config
    from daybreak.core.engine import Engine

RESTING_KINDS = (OrderKind.LIMIT.value, OrderKind.MAKER.value)
DEFAULT_FEE_RATE = 0.001
"""Binance.US spot maker and taker fee in ccxt's ``binanceus`` fee table."""


@dataclass(slots=True)
class Resting:
    """A simulated resting order: the engine's pending ``order`` (its ``price`` the limit in
    force), when it was first placed (UTC ms) and when it times out (``deadline``, UTC ms)."""

    order: Order
    placed_at: int
    deadline: int


def fee_rates(config: Config, limits: MarketLimits | None) -> tuple[float, float]:
    """(taker, maker) fee rates of simulated fills on ``limits``' market (module docstring)."""
    paper, given = config.paper, config.paper.model_fields_set
    taker = paper.fee_rate if "fee_rate" in given or limits is None or limits.taker_fee is None else limits.taker_fee
    if paper.maker_fee_rate is not None:
        maker = paper.maker_fee_rate
    elif limits is not None and limits.maker_fee is not None and "fee_rate" not in given:
        maker = limits.maker_fee
    else:
        maker = taker
    return taker, maker


def entry_price(bid: float, offset_bps: float, limits: MarketLimits) -> float:
    """Price of a limit entry: ``bid * (1 - offset_bps / 10,000)`` rounded down to the tick."""
    return limits.floor_price(bid * (1.0 - offset_bps / 10_000.0))


def maker_sell_price(bid: float, ask: float, limits: MarketLimits) -> float:
    """Price of a post-only sell: the best ask, or one tick above the bid when the book shows
    none between (a sell at the bid would take liquidity and be rejected)."""
    return limits.ceil_price(ask if ask > bid else bid + limits.price_tick)


def spread_rejection(quote: tuple[float, float] | None, settings: ExecutionSettings) -> Rejection | None:
    """The ``max_spread`` rejection when the book ``quote`` (bid, ask) is wider than allowed:
    spread = (ask - bid) / mid, mid = (ask + bid) / 2, in bps. None when allowed or unknown."""
    limit = settings.max_spread_bps
    if limit is None or quote is None:
        return None
    bid, ask = quote
    if not (bid > 0 and ask >= bid):
        return None
    spread = (ask - bid) / ((ask + bid) / 2.0) * 10_000.0
    if spread <= limit:
        return None
    return Rejection(
        "max_spread",
        f"spread {spread:.1f} bps (bid {bid:.8g}, ask {ask:.8g}) above max_spread_bps {limit:g}",
        {"bid": bid, "ask": ask, "spread_bps": spread, "max_spread_bps": limit},
    )


def plan_for(
    plan: ExitPlan, settings: ExecutionSettings, entry_cost_per_unit: float, maker_fee: float, live: bool
) -> ExitPlan:
    """``plan`` with the execution variants of ``settings``: a resting take-profit (held by the
    exchange when ``live``), eased down to its floor ``entry_cost_per_unit / (1 - maker_fee)`` (the
    price at which selling covers the entry price, its fee and the exit's maker fee), and in a
    simulation the exchange stop's stop-limit semantics (live, the exchange holds it)."""
    changes: dict = {}
    if settings.take_profit_order == "resting" and plan.take_profit is not None:
        changes.update(tp_resting=True, tp_on_exchange=live)
        if settings.take_profit_ease_seconds and settings.take_profit_ease_bps:
            changes.update(
                tp_ease_ratio=settings.take_profit_ease_bps / 10_000.0,
                tp_ease_ms=int(settings.take_profit_ease_seconds * 1000),
                tp_floor=entry_cost_per_unit / (1.0 - maker_fee),
            )
    if settings.exchange_stop != "off" and not live:
        changes["stop_limit_offset"] = settings.exchange_stop_limit_offset_bps / 10_000.0
    return replace(plan, **changes) if changes else plan


def stops_only(plan: ExitPlan) -> ExitPlan:
    """``plan`` without take-profit and time stop: what watches a position whose exit is resting."""
    return replace(plan, take_profit=None, time_stop_ms=None)


def _first(path, price: float, below: bool) -> int | None:
    """Index of the first point of ``path`` strictly below (above) ``price``; the path is linear
    between points, so no point in between is lower (higher) than its ends."""
    for i, p in enumerate(path):
        if (p < price) if below else (p > price):
            return i
    return None


class SimulatedOrders:
    """The resting orders of a simulated account, by (strategy, symbol); each is also the
    engine's pending order of that key (so nothing else is decided for it meanwhile)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.orders: dict[tuple[str, str], Resting] = {}

    def clear(self) -> None:
        self.orders.clear()

    def restore(self, key: tuple[str, str], order: Order, placed_at: int, deadline: int) -> None:
        self.orders[key] = Resting(order, placed_at, deadline)

    def place(self, key: tuple[str, str], order: Order, price: float, timestamp: int) -> None:
        """Rest the pending ``order`` from ``timestamp`` on, the book at ``price`` (module docstring)."""
        eng = self.engine
        settings = eng.execution_for(order.algo)
        pos = eng.ledger.positions.get(key)
        limits = eng.markets[order.symbol]
        if order.action is Action.BUY:
            if pos is not None:
                eng.pending.pop(key, None)
                return
            limit = entry_price(price, settings.entry_offset_bps, limits)
            cost = order.amount * limit * (1.0 + fee_rates(eng.config, limits)[1])
            if cost > eng.ledger.available:
                eng.pending.pop(key, None)
                eng._reject(
                    order.algo,
                    order.symbol,
                    timestamp,
                    Rejection(
                        "insufficient_balance",
                        f"needs {cost:.2f}, cash {eng.ledger.available:.2f}",
                        {"cost": cost, "cash": eng.ledger.available},
                    ),
                )
                return
            order = replace(order, price=limit)
            deadline = timestamp + int(settings.entry_timeout_seconds * 1000)
        else:
            amount = eng.sell_amount(pos, order.amount, price) if pos is not None else 0.0
            if amount <= 0:  # nothing (sellable) held: the market path books the dust
                eng.pending.pop(key, None)
                eng._execute(order, price, timestamp)
                return
            order = replace(order, amount=amount, price=price)
            deadline = timestamp + int(settings.exit_chase_seconds * 1000)
        eng.pending[key] = order
        self.orders[key] = Resting(order, timestamp, deadline)

    def walk(
        self, symbol: str, path: Sequence[float], start_timestamp: int | None, end_timestamp: int
    ) -> set[tuple[str, str]]:
        """Walk the resting orders of ``symbol`` along ``path`` (the candle from its open,
        ``end_timestamp`` its close). Returns the keys of positions opened here (their exits are
        walked already, from the fill on)."""
        opened = set()
        for key in [k for k in self.orders if k[1] == symbol]:
            rest = self.orders[key]
            if rest.order.action is Action.BUY:
                if self._entry(key, rest, path, start_timestamp, end_timestamp):
                    opened.add(key)
            else:
                self._exit(key, rest, path, end_timestamp)
        return opened

    def _drop(self, key: tuple[str, str]) -> None:
        self.orders.pop(key, None)
        self.engine.pending.pop(key, None)

    def _entry(self, key, rest: Resting, path, start_timestamp, end_timestamp) -> bool:
        eng, order = self.engine, rest.order
        assert order.price is not None, "a resting order carries its limit price"
        i = _first(path, order.price, below=True)
        if i is None:
            if end_timestamp < rest.deadline:
                return False
            self._drop(key)
            settings = eng.execution_for(order.algo)
            if settings.entry_on_timeout == "cancel":
                eng._reject(
                    order.algo,
                    order.symbol,
                    end_timestamp,
                    Rejection(
                        "entry_timeout",
                        f"limit buy {order.amount:.8g} at {order.price:.8g} not filled in "
                        f"{settings.entry_timeout_seconds:g} s: cancelled",
                        {"price": order.price, "amount": order.amount},
                    ),
                )
            else:
                eng._execute(replace(order, kind=OrderKind.MARKET.value, price=None), path[-1], end_timestamp)
            return False
        self._drop(key)
        eng._execute(order, order.price, end_timestamp)
        pos = eng.ledger.positions.get(key)
        plan = eng.plans.get(key)
        if pos is not None and plan is not None:
            eng.exit_along(pos, plan, (order.price, *path[i:]), end_timestamp, start_timestamp)
        return True

    def _exit(self, key, rest: Resting, path, end_timestamp: int) -> None:
        eng = self.engine
        pos = eng.ledger.positions.get(key)
        if pos is None:
            self._drop(key)
            return
        if path[0] < rest.order.price:  # the book moved down: re-priced at the new ask
            rest.order = replace(rest.order, price=path[0])
            eng.pending[key] = rest.order
        order = rest.order
        assert order.price is not None, "a resting order carries its limit price"
        i = _first(path, order.price, below=False)
        plan = eng.plans.get(key)
        watched = path if i is None else path[:i]
        if plan is not None and watched:
            hits = walk(pos, stops_only(plan), watched, end_timestamp)
            if hits:
                self._drop(key)
                eng.exit_hit(pos, hits[0])
                return
        if i is not None:
            self._drop(key)
            eng._execute(order, order.price, end_timestamp)
        elif end_timestamp >= rest.deadline:
            self._drop(key)
            eng._execute(replace(order, kind=OrderKind.MARKET.value, price=None), path[-1], end_timestamp)
