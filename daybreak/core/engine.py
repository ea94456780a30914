"""The trading engine: signal -> risk -> order -> fill -> trade/position, for one account.

The same :class:`Engine` runs live, replay and backtest; the drivers only differ in how they feed
it (polled ccxt candles, a simulated clock over files, or a fast-forward over arrays) and in the
broker (paper fills or ccxt orders). Per base candle of a symbol the driver calls, in order:

1. :meth:`Engine.fill_pending` at the candle's open (orders decided on the previous close; a
   limit or maker order starts resting there, :mod:`daybreak.core.execution`);
2. :meth:`Engine.check_exits` along the candle's intrabar path: resting orders, then exits (see
   :mod:`daybreak.core.exits`);
3. :meth:`Engine.on_signal` for each strategy / external signal decided at the candle's close.

Outputs (trades, position changes, rejections) go to a :class:`Sink`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Protocol

from daybreak.core.brokers import ListSink, PaperBroker  # noqa: F401 - re-exported: drivers and tests build them from here
from daybreak.core.config import Config
from daybreak.core.domain import (
    EXTERNAL_ALGO,
    Action,
    Event,
    ExitReason,
    Fill,
    Order,
    OrderKind,
    Position,
    Signal,
    Trade,
    client_order_id,
)
from daybreak.core.execution import (
    SimulatedOrders,
    fee_rates,
    plan_for,
    spread_rejection,
)
from daybreak.core.execution_settings import ExecutionSettings
from daybreak.core.exits import ExitHit, ExitPlan, candle_path, make_plan, walk
from daybreak.core.ledger import Ledger
from daybreak.core.markets import MarketLimits
from daybreak.core.risk import Rejection, RiskGate
from daybreak.core.values import built_unfrozen

RESTING = (OrderKind.LIMIT.value, OrderKind.MAKER.value)


class Declined(str, Enum):
    """Why a signal made no order (:attr:`SignalOutcome.declined`)."""

    ALREADY_PENDING = "already_pending"  # an order of this strategy on this symbol is in flight
    NOT_HELD = "not_held"  # a sell with no open position
    ALREADY_HELD = "already_held"  # a buy while the position is open
    BLOCKED = "blocked"  # a protection refused the entry (see ``rejection``)
    NO_SIZE = "no_size"  # sizing or the market's limits gave no valid amount


@built_unfrozen
@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """What :meth:`Engine.on_signal` did: ``order`` (now pending), or ``declined`` with, for
    ``BLOCKED`` and ``NO_SIZE``, the gate's :class:`~daybreak.core.risk.Rejection` (rule, message,
    numbers)."""

    order: Order | None = None
    declined: Declined | None = None
    rejection: Rejection | None = None

    def describe(self, signal: Signal) -> str:
        """One line for a person: the order, or why there is none."""
        if self.order is not None:
            o = self.order
            return f"{o.action.value} {o.amount:.8g} {o.symbol} [{o.client_order_id}]"
        if self.rejection is not None:
            return f"{self.rejection.rule}: {self.rejection.message}"
        assert self.declined is not None  # an outcome is an order or a reason
        return {
            Declined.ALREADY_PENDING: f"an {signal.algo} order on {signal.symbol} is already pending",
            Declined.NOT_HELD: f"no open {signal.algo} position on {signal.symbol} to sell",
            Declined.ALREADY_HELD: f"{signal.algo} already holds {signal.symbol}",
        }[self.declined]


_DECLINED = {reason: SignalOutcome(declined=reason) for reason in Declined}
"""The outcome of each reason without a rejection: a value, so one of each is enough."""


class Sink(Protocol):
    """Where the engine reports what happened (storage in live/replay, lists in backtest)."""

    def trade(self, trade: Trade) -> None: ...
    def position(self, key: tuple[str, str], position: Position | None) -> None: ...
    def rejection(self, event: Event) -> None: ...
    def booked(self, trade: Trade) -> None:
        """The fill of ``trade.order_id`` is booked: its trade and position were handed over."""


class Broker(Protocol):
    """Executes orders. ``reference_price`` is the open or trigger price (paper). A broker whose
    ``rests_orders`` is true (live) carries out limit and maker orders on the exchange itself;
    otherwise the engine simulates them (:class:`~daybreak.core.execution.SimulatedOrders`).

    Returns the :class:`Fill` (what really filled: possibly less than ordered), a
    :class:`Rejection` (nothing filled: refused, expired), or ``None`` when the order's fill was
    already booked (a restarted bot finishing a booking it had stored). Raises while the outcome
    is not known yet; the engine then keeps the order pending and asks again next time."""

    def execute(self, order: Order, reference_price: float, timestamp: int) -> Fill | Rejection | None: ...


class Engine:
    """One account's trading state machine. Not thread-safe; one driver calls it."""

    def __init__(
        self,
        config: Config,
        markets: dict[str, MarketLimits],
        broker: Broker,
        sink: Sink,
        ledger: Ledger | None = None,
        gate: RiskGate | None = None,
    ):
        self.config = config
        self.markets = markets
        self.broker = broker
        self.sink = sink
        self.ledger = ledger or Ledger(config.paper.starting_balance, config.mode)
        self.gate = gate or RiskGate(config, markets)
        self.pending: dict[tuple[str, str], Order] = {}
        self.in_flight: set[tuple[str, str]] = set()
        """Keys of pending orders handed to the broker whose outcome is not known (it raised);
        a live restart marks the restored pending orders so (they may have been sent)."""
        self.plans: dict[tuple[str, str], ExitPlan] = {}
        self.sim = SimulatedOrders(self)
        self.resting = self.sim.orders
        """Simulated resting orders by key (each also in :attr:`pending`)."""
        self.quotes: dict[str, tuple[float, float]] = {}
        """Best (bid, ask) per symbol when the feed has a book (live polling); the spread check reads it."""
        self._execution: dict[str, ExecutionSettings] = {}
        self._market_only: dict[str, bool] = {}
        self.last_price: dict[str, float] = {}
        self.atr: dict[str, float | None] = {}
        self._exit_rules: dict[str, bool] = {}
        self._restored_ids: set[str] = set()

    # -- configuration ---------------------------------------------------------------------
    @property
    def broker(self) -> Broker:
        return self._broker

    @broker.setter
    def broker(self, broker: Broker) -> None:
        before = getattr(self, "broker_rests", None)
        self._broker = broker
        self.broker_rests: bool = getattr(broker, "rests_orders", False)
        """Whether the broker rests limit and maker orders on an exchange (live)."""
        if before is not None and before != self.broker_rests:  # plans differ live (the exchange holds orders)
            for key, pos in self.ledger.positions.items():
                self._set_plan(key, pos)

    def execution_for(self, algo: str) -> ExecutionSettings:
        """``config.execution_for(algo)``, merged once per config."""
        found = self._execution.get(algo)
        if found is None:
            found = self._execution[algo] = self.config.execution_for(algo)
            self._market_only[algo] = found.market_only
        return found

    def apply_config(self, config: Config) -> None:
        """Use a new config from now on; open positions keep their plans, rebuilt for new risk."""
        self.config = config
        self.gate.config = config
        self._exit_rules = {}
        self._execution, self._market_only = {}, {}
        for key, pos in self.ledger.positions.items():
            self._set_plan(key, pos)

    def _set_plan(self, key: tuple[str, str], pos: Position) -> None:
        """Keep the exit plan of ``pos`` when it has any exit rule (``plans`` holds active plans only)."""
        may_exit = self._exit_rules.get(pos.algo)
        if may_exit is False:  # no exit rule configured for this strategy
            self.plans.pop(key, None)
            return
        risk = self.gate.risk_for(pos.algo)
        if may_exit is None:  # with an ATR known every configured rule is armed
            may_exit = self._exit_rules[pos.algo] = make_plan(risk, 1.0, 0, 1.0).active
        plan = make_plan(risk, pos.entry_price, pos.entry_timestamp, pos.extra.get("atr")) if may_exit else None
        if plan is not None and plan.active:
            settings = self.execution_for(pos.algo)
            if not self._market_only[pos.algo]:
                unit = pos.entry_price + (pos.entry_fee / pos.amount if pos.amount > 0 else 0.0)
                maker = fee_rates(self.config, self.markets.get(pos.symbol))[1]
                plan = plan_for(plan, settings, unit, maker, self.broker_rests)
            self.plans[key] = plan
        else:
            self.plans.pop(key, None)

    def restore(self, trades: list[Trade], positions: Iterable[Position]) -> None:
        """Rebuild cash, positions, exit plans and risk counters from storage."""
        self.ledger.restore(trades, positions)
        self.gate.replay_trades(trades)
        self._restored_ids = {t.trade_id for t in trades}  # counted already if booked again
        self.plans = {}
        for key, pos in self.ledger.positions.items():
            self._set_plan(key, pos)

    # -- step 1: fills ---------------------------------------------------------------------
    def fill_pending(self, symbol: str, open_price: float, timestamp: int) -> None:
        """Fill every pending order of ``symbol`` at ``open_price`` (candle open at ``timestamp``)."""
        if not self.pending:
            return
        resting = self.resting
        for key in [k for k in self.pending if k[1] == symbol]:
            if resting and key in resting:
                continue
            order = self.pending[key]
            if order.kind != OrderKind.MARKET.value and order.kind in RESTING and not self.broker_rests:
                self.sim.place(key, order, open_price, timestamp)
                continue
            del self.pending[key]
            try:
                self._execute(order, open_price, timestamp)
            except Exception:
                self.pending[key] = order  # outcome unknown: keep it (in flight) for the next attempt
                self.in_flight.add(key)
                raise
            self.in_flight.discard(key)

    def _execute(self, order: Order, ref_price: float, timestamp: int) -> Trade | None:
        key = (order.algo, order.symbol)
        pos = self.ledger.positions.get(key)
        if key in self.in_flight:  # it may be at the exchange already: only the broker can say
            pass
        elif order.action is Action.BUY:
            if pos is not None:
                return None
            paper = self.config.paper
            cost = order.amount * ref_price * (1 + paper.fee_rate + paper.slippage_bps / 1e4)
            if cost > self.ledger.available:
                self._reject(
                    order.algo,
                    order.symbol,
                    timestamp,
                    Rejection(
                        "insufficient_balance",
                        f"needs {cost:.2f}, cash {self.ledger.available:.2f}",
                        {"cost": cost, "cash": self.ledger.available},
                    ),
                )
                return None
        elif pos is None:
            return None
        else:
            amount = self.sell_amount(pos, order.amount, ref_price)
            if amount <= 0:  # the position cannot be sold at all: it is dust now
                self.ledger.to_dust(key)
                self.plans.pop(key, None)
                self.sink.position(key, None)
                return None
            if amount != order.amount:
                order = replace(order, amount=amount)
        result = self._broker.execute(order, ref_price, timestamp)
        if result is None:  # booked before a restart: the restored ledger has it
            return None
        if isinstance(result, Rejection):
            self._reject(order.algo, order.symbol, timestamp, result)
            return None
        return self.book(result)

    def sell_amount(self, pos: Position, wanted: float, price: float) -> float:
        """Base amount a sell of ``wanted`` from ``pos`` sends: rounded down to the market step;
        the whole position plus the symbol's dust when what would be left, or the part itself, is
        dust (:meth:`~daybreak.core.markets.MarketLimits.is_dust`); 0.0 when nothing is sellable."""
        dust = self.ledger.dust.get(pos.symbol, 0.0)
        return self.markets[pos.symbol].sell_amount(pos.amount, wanted, price, dust)

    def book(self, result: Fill) -> Trade:
        """Book a fill (what the broker or the exchange says filled): the trade, the position,
        its exit plan, the risk counters, and both to the sink."""
        order = result.order
        key = (order.algo, order.symbol)
        trade_id = order.client_order_id
        if order.action is Action.BUY:
            trade = self.ledger.open(result, trade_id, {"atr": self.atr.get(order.symbol)})
            self._set_plan(key, self.ledger.positions[key])
        else:
            trade = self.ledger.close(result, trade_id, order.reason or ExitReason.SIGNAL, self.markets[order.symbol])
        if trade.trade_id not in self._restored_ids:
            self.gate.record_trade(trade)
        self.sink.trade(trade)
        still = self.ledger.positions.get(key)
        if still is None:
            self.plans.pop(key, None)
        self.sink.position(key, still)
        self.sink.booked(trade)
        return trade

    # -- step 2: exits ---------------------------------------------------------------------
    def check_exits(
        self, symbol: str, path: Sequence[float], end_timestamp: int, start_timestamp: int | None = None
    ) -> None:
        """Walk ``path`` (prices in time order, from ``start_timestamp`` to ``end_timestamp``) for
        the resting orders and every position on ``symbol`` with exit rules."""
        if path:
            self.last_price[symbol] = path[-1]
        opened = self.sim.walk(symbol, path, start_timestamp, end_timestamp) if self.resting else ()
        for pos, plan in self.planned(symbol):
            if pos.key not in opened:
                self.exit_along(pos, plan, path, end_timestamp, start_timestamp)

    def check_candle_exits(
        self, symbol: str, o: float, h: float, l: float, c: float, close_ts: int, open_ts: int | None = None
    ) -> None:
        """:meth:`check_exits` along one candle's intrabar path."""
        self.check_exits(symbol, candle_path(o, h, l, c), close_ts, open_ts)

    def planned(self, symbol: str) -> list[tuple[Position, ExitPlan]]:
        """Open positions on ``symbol`` that have exit rules, with their plans (ledger order).
        A position with an order in flight (pending) is left out: while an exit's outcome is
        unknown no second exit is decided (a resting maker exit watches the stop itself:
        :mod:`daybreak.core.execution`, live :mod:`daybreak.drivers.resting`)."""
        if not self.plans:
            return []
        plans, pending = self.plans, self.pending
        return [
            (p, plans[p.key])
            for p in self.ledger.positions.values()
            if p.symbol == symbol and p.key in plans and p.key not in pending
        ]

    def exit_along(
        self,
        pos: Position,
        plan: ExitPlan,
        path: Sequence[float],
        end_timestamp: int,
        start_timestamp: int | None = None,
    ) -> None:
        before = (pos.high_watermark, pos.stop_price, pos.partial_taken)
        for hit in walk(pos, plan, path, end_timestamp, start_timestamp):
            self.exit_hit(pos, hit)  # replaces a pending signal order
            if pos.key not in self.ledger.positions:
                return
        if (pos.high_watermark, pos.stop_price, pos.partial_taken) != before:
            self.sink.position(pos.key, pos)

    def exit_hit(self, pos: Position, hit: ExitHit) -> Trade | None:
        """Sell ``hit.fraction`` of ``pos`` now, as the exit rule ``hit`` says."""
        amount = pos.amount * hit.fraction
        salt = f"{hit.reason.value}|{pos.entry_trade_id}|{pos.amount:.12g}"
        order = Order(
            client_order_id(pos.algo, pos.symbol, Action.SELL, hit.timestamp, salt),
            pos.algo,
            pos.symbol,
            Action.SELL,
            amount,
            hit.timestamp,
            hit.reason,
            hit.kind,
            hit.limit,
            hit.price,
        )
        return self._send_now(order, hit.price, hit.timestamp)

    # -- step 3: signals -------------------------------------------------------------------
    def on_signal(self, signal: Signal, price: float, now_ms: int, data_age_ms: int = 0) -> SignalOutcome:
        """Turn a signal decided at ``now_ms`` (a candle close, price ``price``) into a pending order.

        A buy when flat opens, a sell when long closes. Entries pass the risk gate; a refused
        entry is recorded as a rejection event. Returns the outcome: the pending order, or why
        there is none (:class:`Declined`, with the rule and its numbers when the gate refused).
        """
        algo, symbol, action = signal.algo, signal.symbol, signal.action
        key = (algo, symbol)
        self.last_price.setdefault(symbol, price)
        if key in self.pending:
            return _DECLINED[Declined.ALREADY_PENDING]
        pos = self.ledger.positions.get(key)
        if action is Action.SELL:
            if pos is None:
                return _DECLINED[Declined.NOT_HELD]
            settings = self._execution.get(algo) or self.execution_for(algo)
            reason = signal.reason or (ExitReason.EXTERNAL if algo == EXTERNAL_ALGO else ExitReason.SIGNAL)
            amount = pos.amount if signal.amount is None else min(signal.amount, pos.amount)
            kind = OrderKind.MAKER.value if settings.exit_order == "maker" else OrderKind.MARKET.value
        else:
            if pos is not None:
                return _DECLINED[Declined.ALREADY_HELD]
            settings = self._execution.get(algo) or self.execution_for(algo)
            blocked = self.gate.blocking_rule(algo, symbol, now_ms, self.ledger, data_age_ms)
            if blocked is None and settings.max_spread_bps is not None:
                blocked = spread_rejection(self.quotes.get(symbol), settings)
            if blocked is not None:
                self._reject(algo, symbol, now_ms, blocked)
                return SignalOutcome(declined=Declined.BLOCKED, rejection=blocked)
            size = self.gate.size_entry(signal, price, self.atr.get(symbol), self.ledger, self.last_price)
            if isinstance(size, Rejection):
                self._reject(algo, symbol, now_ms, size)
                return SignalOutcome(declined=Declined.NO_SIZE, rejection=size)
            reason, amount = None, size
            kind = OrderKind.LIMIT.value if settings.entry_order == "limit" else OrderKind.MARKET.value
        order = Order(
            client_order_id(algo, symbol, action, signal.timestamp, signal.ref),
            algo,
            symbol,
            action,
            amount,
            signal.timestamp,
            reason,
            kind,
            None,
            price,
        )
        self.pending[key] = order
        return SignalOutcome(order=order)

    # -- manual ----------------------------------------------------------------------------
    def flatten(self, price_of: dict[str, float], timestamp: int, ref: str = "") -> list[Trade] | None:
        """Close every position at market now (``price_of[symbol]`` as reference) and drop the
        pending orders not sent yet. Returns the closing trades (what really filled), or None
        without doing anything while an order is in flight (:attr:`in_flight`): its outcome
        decides what is held, so the caller resolves it and asks again.

        The client ids derive from ``ref`` (the control record's id), the position and
        ``timestamp``: a retry after an order that was never placed does not reuse its id."""
        if self.in_flight:
            return None
        self.pending.clear()
        self.sim.clear()
        trades = []
        for pos in list(self.ledger.positions.values()):
            price = price_of.get(pos.symbol)
            if price is None or not math.isfinite(price):
                continue
            salt = f"flatten|{ref}|{pos.entry_trade_id}"
            order = Order(
                client_order_id(pos.algo, pos.symbol, Action.SELL, timestamp, salt),
                pos.algo,
                pos.symbol,
                Action.SELL,
                pos.amount,
                timestamp,
                ExitReason.FLATTEN,
                ref_price=price,
            )
            trade = self._send_now(order, price, timestamp)
            if trade is not None:
                trades.append(trade)
        return trades

    def _send_now(self, order: Order, ref_price: float, timestamp: int) -> Trade | None:
        """Execute ``order`` at once. It is pending while in flight and left pending when the
        broker raises, so the next attempt (:meth:`fill_pending`) reuses its client id instead of a
        new decision making a new order (the live broker stores the order before sending it)."""
        key = (order.algo, order.symbol)
        self.pending[key] = order
        try:
            trade = self._execute(order, ref_price, timestamp)
        except Exception:
            self.in_flight.add(key)
            raise
        self.pending.pop(key, None)
        self.in_flight.discard(key)
        return trade

    def _reject(self, algo: str, symbol: str, timestamp: int, rej: Rejection) -> None:
        event_id = client_order_id(algo, symbol, Action.BUY, timestamp, "reject|" + rej.rule)
        self.sink.rejection(Event(event_id, timestamp, "rejection", rej.message, algo, symbol, rej.rule, rej.data))
