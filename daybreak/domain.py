"""Shared trading types: enums and small immutable records that cross module boundaries.

:class:`Signal`, :class:`OrderRequest` and :class:`Fill` are named tuples (immutable, and about
four times cheaper to create than frozen dataclasses: the engine makes them per signal, order and
fill); :class:`Position` is the one mutable record.

Units everywhere: ``amount`` in base currency, ``price`` in quote per base, ``cost``/``fee``/``pnl``
in quote currency, timestamps in UTC epoch milliseconds.
"""
from __future__ import annotations

from functools import lru_cache
from hashlib import sha256
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

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


class BotState(str, Enum):
    """Lifecycle of the bot process, stored with a reason and shown on the dashboard."""

    BOOTING = "BOOTING"
    RUNNING = "RUNNING"
    PAUSED_MANUAL = "PAUSED_MANUAL"
    PAUSED_RISK_LIMIT = "PAUSED_RISK_LIMIT"
    ERROR = "ERROR"
    SHUTDOWN = "SHUTDOWN"


class SignalStatus(str, Enum):
    """Processing state of a row of the Signals table."""

    NEW = "new"
    EXECUTED = "executed"
    REJECTED = "rejected"


class Signal(NamedTuple):
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


class OrderRequest(NamedTuple):
    """A market order that passed the risk check, waiting for its fill.

    ``client_order_id`` is deterministic (see :func:`client_order_id`) so that a retried or
    replayed decision never produces a second order or a second stored trade.
    """

    client_order_id: str
    algo: str
    symbol: str
    action: Action
    amount: float
    decided_at: int
    reason: ExitReason | None = None


class Fill(NamedTuple):
    """The execution of an :class:`OrderRequest`: price after slippage, fee in quote currency."""

    order: OrderRequest
    timestamp: int
    price: float
    amount: float
    fee: float

    @property
    def cost(self) -> float:
        """Notional in quote currency: ``amount * price``."""
        return self.amount * self.price


@dataclass(slots=True)
class Position:
    """An open long position of one strategy on one symbol.

    ``entry_fee`` is the part of the opening fee not yet charged to a closing trade (partial
    exits consume it pro rata). ``high_watermark`` is the highest price seen since entry, kept
    for trailing stops; ``stop_price`` is the current protective stop (``None``: no stop).
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


def client_order_id(algo: str, symbol: str, action: Action, decided_at: int, salt: str = "") -> str:
    """Deterministic client order id: the same decision always yields the same id.

    ``db-`` + 16 hex characters of a SHA-256 over ``algo|symbol|action|salt`` + ``decided_at``
    (ms) in hex, e.g. ``db-5c0f8a1e2b3d4c6f18bcfe56800`` (30 characters until the year 2527).
    Binance accepts ``newClientOrderId`` matching ``^[a-zA-Z0-9-_]{1,36}$``. Two decisions of one
    strategy, symbol, side and salt differ in the time part, so they never share an id; others
    would need a 64-bit hash collision at the same millisecond. The hash is remembered per
    identity (a backtest makes an id per order; hashing each cost more than its fill).
    """
    return f"db-{_identity_hash(algo, symbol, action._value_, salt)}{decided_at:x}"


@lru_cache(maxsize=4096)
def _identity_hash(algo: str, symbol: str, action: str, salt: str) -> str:
    return sha256(f"{algo}|{symbol}|{action}|{salt}".encode()).hexdigest()[:16]
