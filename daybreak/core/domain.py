"""The domain: enums and the records that flow through the engine (signal -> order -> fill ->
trade / position), each defined once. Values are frozen dataclasses; :class:`Position` is the one
mutable entity (the ledger updates it). ``storage/records.py`` maps them to table rows. The values
made per order are built by :func:`~daybreak.core.values.built_unfrozen` (the same frozen
dataclasses, built without ``object.__setattr__`` per field).

Units everywhere: ``amount`` in base currency, ``price`` in quote per base, ``cost``/``fee``/``pnl``
in quote currency, timestamps in UTC epoch milliseconds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import lru_cache
from hashlib import sha256
from typing import Any

from daybreak.core.values import built_unfrozen

EXTERNAL_ALGO = "External"
"""Strategy name under which external signals (the Signals table) trade."""


class Action(str, Enum):
    """Order side for a spot long-only bot: ``buy`` opens a position, ``sell`` closes it."""

    BUY = "buy"
    SELL = "sell"


class ExitReason(str, Enum):
    """Why a position (or part of it) was closed; stored on the closing trade."""

    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    TIME_STOP = "time_stop"
    EXTERNAL = "external"
    FLATTEN = "flatten"
    EXTERNAL_CLOSE = "external_close"  # live: the exchange holds less than the bot did (a manual sell ...)
    EMERGENCY_EXIT = "emergency_exit"  # live: the exchange refused the protective stop, so the bot sold at once


class OrderKind(str, Enum):
    """How an order executes (:mod:`daybreak.core.execution`): ``market`` (taker, at once),
    ``limit`` (rests at its price, maker fee when the price trades through it), ``maker``
    (post-only limit at the touch, re-priced as the book moves), ``stop_limit`` (a stop-loss-limit
    on the exchange: taker once triggered, never below its limit)."""

    MARKET = "market"
    LIMIT = "limit"
    MAKER = "maker"
    STOP_LIMIT = "stop_limit"


class Mode(str, Enum):
    """Where orders go: ``paper`` (simulated fills) or ``live`` (the exchange)."""

    PAPER = "paper"
    LIVE = "live"


class BotState(str, Enum):
    """Lifecycle of the bot process, stored with a reason and shown on the dashboard."""

    BOOTING = "BOOTING"
    RUNNING = "RUNNING"
    PAUSED_MANUAL = "PAUSED_MANUAL"
    PAUSED_RISK_LIMIT = "PAUSED_RISK_LIMIT"
    ERROR = "ERROR"
    SHUTDOWN = "SHUTDOWN"


class SignalStatus(str, Enum):
    """Processing state of a row of the Signals table (docs/dynamodb.md, "The inbox contract").

    ``new`` (or no status) waits for the bot; ``accepted``: its order is queued; then one final
    state: ``executed`` (filled, ``outcome`` = trade id), ``failed`` (the order was refused),
    ``rejected`` (a bad row, or a rule refused it) or ``expired`` (older than the age limit)."""

    NEW = "new"
    ACCEPTED = "accepted"
    EXECUTED = "executed"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"


FINAL_SIGNAL_STATUSES = frozenset(
    {SignalStatus.EXECUTED.value, SignalStatus.FAILED.value, SignalStatus.REJECTED.value, SignalStatus.EXPIRED.value}
)
"""Statuses a Signals row never leaves."""


@built_unfrozen
@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's (or an external system's) wish to buy or sell, decided at a candle close.

    ``timestamp`` is the close time of the deciding candle (ms). ``amount`` (base) overrides the
    configured order size when given (external signals may carry one).
    """

    algo: str
    symbol: str
    action: Action
    timestamp: int
    reason: ExitReason | None = None
    amount: float | None = None
    ref: str = ""


@built_unfrozen
@dataclass(frozen=True, slots=True)
class Order:
    """An order that passed the risk check, waiting for its fill.

    ``client_order_id`` is deterministic (see :func:`client_order_id`) so that a retried or
    replayed decision never produces a second order or a second stored trade. ``amount`` in base
    currency; ``decided_at`` UTC epoch ms. ``kind`` is an :class:`OrderKind` value; ``price`` its
    limit (quote per base; None for a market order); ``ref_price`` the price the decision saw
    (the deciding candle's close, a stop's trigger), against which slippage is measured.
    """

    client_order_id: str
    algo: str
    symbol: str
    action: Action
    amount: float
    decided_at: int
    reason: ExitReason | None = None
    kind: str = "market"
    price: float | None = None
    ref_price: float | None = None


@built_unfrozen
@dataclass(frozen=True, slots=True)
class Fill:
    """The execution of an :class:`Order`: price after slippage (quote per base), ``amount``
    (base) that filled, ``fee`` in quote currency, ``timestamp`` UTC epoch ms."""

    order: Order
    timestamp: int
    price: float
    amount: float
    fee: float

    @property
    def cost(self) -> float:
        """Notional in quote currency: ``amount * price``."""
        return self.amount * self.price


@built_unfrozen
@dataclass(frozen=True, slots=True)
class Trade:
    """One fill as booked: the Trades table's row (key ``trade_id`` + ``timestamp``).

    ``pnl`` (quote) is the realized P&L of a closing (sell) trade, fees of both legs included;
    ``None`` on an opening trade. ``exit_reason`` is set on closing trades. ``amount`` base,
    ``price`` quote per base, ``fee`` quote, ``timestamp`` UTC epoch ms. ``order_type``: the
    :class:`OrderKind` that filled (live, several kinds joined by ``+``, e.g. ``limit+market``
    for a limit entry finished at market); ``ref_price``: the decision's price (None: unknown,
    e.g. a trade of an older version), see :attr:`slippage_bps`.
    """

    trade_id: str
    timestamp: int
    symbol: str
    action: Action
    amount: float
    price: float
    fee: float
    algo: str
    pnl: float | None = None
    order_id: str = ""
    exit_reason: ExitReason | None = None
    mode: Mode = Mode.PAPER
    order_type: str = "market"
    ref_price: float | None = None

    @property
    def cost(self) -> float:
        """Notional in quote currency: ``amount * price``."""
        return self.amount * self.price

    @property
    def slippage_bps(self) -> float | None:
        """Realized slippage against ``ref_price``, basis points, positive when it cost the trader:
        ``(price / ref - 1) * 10,000`` for a buy, ``(1 - price / ref) * 10,000`` for a sell (a
        limit filled better than the decision's price is negative). None without a reference."""
        ref = self.ref_price
        if not ref:
            return None
        move = (self.price / ref - 1.0) * 10_000.0
        return move if self.action is Action.BUY else -move

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: enums as their string values."""
        return {
            "trade_id": self.trade_id,
            "timestamp": self.timestamp,
            "symbol": self.symbol,
            "action": self.action.value,
            "amount": self.amount,
            "price": self.price,
            "fee": self.fee,
            "algo": self.algo,
            "pnl": self.pnl,
            "order_id": self.order_id,
            "exit_reason": None if self.exit_reason is None else self.exit_reason.value,
            "mode": self.mode.value,
            "order_type": self.order_type,
            "ref_price": self.ref_price,
            "slippage_bps": self.slippage_bps,
        }


@dataclass(slots=True)
class Position:
    """An open long position of one strategy on one symbol (key ``algo`` + ``symbol``); the
    Positions table stores it so that a restart resumes it.

    ``amount`` base, ``entry_price`` quote per base, ``entry_fee`` quote: the part of the opening
    fee not yet charged to a closing trade (partial exits consume it pro rata).
    ``high_watermark`` is the highest price seen since entry, kept for trailing stops;
    ``stop_price`` is the current protective stop (``None``: no stop). The ledger mutates it;
    :meth:`copy` is the snapshot handed to storage.
    """

    algo: str
    symbol: str
    amount: float
    entry_price: float
    entry_timestamp: int
    entry_fee: float
    entry_trade_id: str
    high_watermark: float = 0.0
    stop_price: float | None = None
    partial_taken: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.algo, self.symbol)

    def copy(self) -> Position:
        """An independent snapshot (``extra`` copied too)."""
        return replace(self, extra=dict(self.extra))


@dataclass(frozen=True, slots=True)
class Event:
    """Something the trader should be able to see later: a rejected order or signal (``kind``
    ``rejection``), a control acknowledgement, an error. ``rule`` names the rule that fired;
    ``data`` holds its numbers. ``timestamp`` UTC epoch ms."""

    event_id: str
    timestamp: int
    kind: str
    message: str
    algo: str = ""
    symbol: str = ""
    rule: str = ""
    data: dict = field(default_factory=dict)


class ControlAction(str, Enum):
    """A manual command for the running bot."""

    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"


@dataclass(frozen=True, slots=True)
class Control:
    """A manual command for the bot (``pause``, ``resume``, ``flatten``) written by the CLI or
    the dashboard. The bot sets ``status`` to ``done``, ``refused`` or ``expired`` and ``acked_at``
    (UTC epoch ms). ``source`` says who asked (``cli``, ``dashboard:<user>``)."""

    control_id: str
    timestamp: int
    action: str
    source: str
    status: str = "pending"
    acked_at: int | None = None
    result: str = ""


def new_control(action: str, source: str, now_ms: int) -> Control:
    """A pending control record with a unique id (``ctl-<ms>-<8 hex>``). Raises ValueError for an
    action that is not a :class:`ControlAction`."""
    ControlAction(action)
    return Control(f"ctl-{now_ms}-{uuid.uuid4().hex[:8]}", now_ms, action, source)


def client_order_id(algo: str, symbol: str, action: Action, decided_at: int, salt: str = "") -> str:
    """Deterministic client order id: the same decision always yields the same id.

    ``db-`` + 16 hex characters of a SHA-256 over ``algo|symbol|action|salt`` + ``decided_at``
    (ms) in hex, e.g. ``db-5c0f8a1e2b3d4c6f18bcfe56800`` (30 characters until the year 2527).
    Binance accepts ``newClientOrderId`` matching ``^[a-zA-Z0-9-_]{1,36}$``. Two decisions of one
    strategy, symbol, side and salt differ in the time part, so they never share an id; others
    would need a 64-bit hash collision at the same millisecond. The hash is remembered per
    identity (a backtest makes an id per order; hashing each cost more than its fill).
    """
    return f"db-{_identity_hash(algo, symbol, action, salt)}{decided_at:x}"


@lru_cache(maxsize=4096)
def _identity_hash(algo: str, symbol: str, action: Action, salt: str) -> str:
    return sha256(f"{algo}|{symbol}|{action.value}|{salt}".encode()).hexdigest()[:16]
