"""The stored life of a live order: :class:`OrderRecord` and its :class:`OrderStatus`.

An :class:`~daybreak.core.domain.Order` is a decision; an :class:`OrderRecord` is what became of
it on the exchange, written durably at every step (the Orders table) so that a bot that dies at
any point finds the truth again:

``intent`` (stored before ``create_order``) -> ``sent`` (the request went out, the reply is not
known yet) -> ``open`` (resting on the book, possibly partly filled) -> one terminal status:
``filled``, ``canceled`` / ``expired`` (possibly partly filled), ``rejected`` (refused, nothing
placed) or ``not_placed`` (the exchange never received it: its client id was unknown there after
the request could no longer be executed).

``booked_filled`` is the part of ``filled`` already booked as trades; the record is *done* once
its status is terminal and everything filled is booked. A fill is booked in this order: the
record with the exchange's numbers, the trade, the position (marked with the order's client id,
:data:`daybreak.core.ledger.LAST_ORDER`), then ``booked_filled``; so a restarted bot can tell how
far a booking got and finish it without booking anything twice. Units: ``amount``/``filled``/``fee_base`` base currency,
``price``/``average`` quote per base, ``fee`` quote currency (every fee converted), times UTC
epoch ms (``filled_at``: the exchange's time of the last fill). ``version`` grows with every write; a store never replaces a record by an older one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from daybreak.core.domain import Action, ExitReason, Mode, Order, OrderKind


class OrderStatus(str, Enum):
    INTENT = "intent"
    SENT = "sent"
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    NOT_PLACED = "not_placed"

    @property
    def terminal(self) -> bool:
        """No more fills can come (the exchange closed it, or never had it)."""
        return self not in (OrderStatus.INTENT, OrderStatus.SENT, OrderStatus.OPEN)


CCXT_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "canceling": OrderStatus.OPEN,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""ccxt's unified order status -> ours (ccxt maps Binance's NEW/PARTIALLY_FILLED to ``open``,
FILLED to ``closed``, CANCELED, EXPIRED / EXPIRED_IN_MATCH, REJECTED)."""


TYPE_OF_KIND = {
    OrderKind.MARKET.value: "market",
    OrderKind.LIMIT.value: "limit",
    OrderKind.MAKER.value: "limit_maker",
    OrderKind.STOP_LIMIT.value: "stop_loss_limit",
}
"""The engine's :class:`~daybreak.core.domain.OrderKind` -> the record's exchange order type
(Binance's names in lower case: ``limit_maker`` is a post-only limit)."""
KIND_OF_TYPE = {v: k for k, v in TYPE_OF_KIND.items()}


class Role(str, Enum):
    """What an order record is for. ``order``: an engine decision (its client id is the trade id);
    ``part``: a further exchange order carrying out the same decision (a re-priced maker order, the
    market remainder of a limit entry; ``parent`` is the decision's client id); ``stop`` and
    ``take_profit``: a position's protective order resting on the exchange (``parent`` is the
    position's entry trade id; the two legs of an OCO share ``list_id``)."""

    ORDER = "order"
    PART = "part"
    STOP = "stop"
    TAKE_PROFIT = "take_profit"

    @property
    def protective(self) -> bool:
        return self in (Role.STOP, Role.TAKE_PROFIT)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order as the Orders table keeps it (key ``client_order_id``).

    ``type`` is the exchange order type in ccxt's words (``market``, ``limit``, ...); ``price``
    the limit price and ``stop_price`` the trigger (None for a market order); ``ref_price`` the
    price the decision saw. ``error`` says why an order was rejected or not placed.
    ``exchange_order_id`` is the exchange's id once known. ``role``, ``parent`` and ``list_id``:
    see :class:`Role`.
    """

    client_order_id: str
    algo: str
    symbol: str
    side: Action
    amount: float
    decided_at: int
    created_at: int
    status: OrderStatus = OrderStatus.INTENT
    type: str = "market"
    reason: ExitReason | None = None
    mode: Mode = Mode.LIVE
    price: float | None = None
    stop_price: float | None = None
    ref_price: float | None = None
    exchange_order_id: str = ""
    filled: float = 0.0
    average: float = 0.0
    fee: float = 0.0
    fee_base: float = 0.0
    fee_currency: str = ""
    sent_at: int | None = None
    updated_at: int | None = None
    filled_at: int | None = None
    booked_filled: float = 0.0
    error: str = ""
    version: int = 1
    role: Role = Role.ORDER
    parent: str = ""
    list_id: str = ""

    def __post_init__(self) -> None:
        if self.role is None:  # a row of an older version
            object.__setattr__(self, "role", Role.ORDER)
        for name in ("parent", "list_id"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, "")
        for name, enum in (("side", Action), ("status", OrderStatus), ("mode", Mode), ("role", Role)):
            value = getattr(self, name)
            if type(value) is not enum:
                object.__setattr__(self, name, enum(value))
        if self.reason is not None and type(self.reason) is not ExitReason:
            object.__setattr__(self, "reason", ExitReason(self.reason))

    @classmethod
    def intent(
        cls,
        order: Order,
        now_ms: int,
        ref_price: float | None = None,
        mode: Mode = Mode.LIVE,
        role: Role = Role.ORDER,
        parent: str = "",
        stop_price: float | None = None,
        list_id: str = "",
    ) -> OrderRecord:
        """The record of ``order`` before it is sent: its type from ``order.kind``, its limit
        ``order.price``, its reference the decision's price (else ``ref_price``, the price when sent)."""
        kind = order.kind if order.kind in TYPE_OF_KIND else OrderKind.MARKET.value
        return cls(
            order.client_order_id,
            order.algo,
            order.symbol,
            order.action,
            order.amount,
            order.decided_at,
            now_ms,
            type=TYPE_OF_KIND[kind],
            reason=order.reason,
            mode=mode,
            price=order.price,
            stop_price=stop_price,
            ref_price=order.ref_price if order.ref_price is not None else ref_price,
            updated_at=now_ms,
            role=role,
            parent=parent,
            list_id=list_id,
        )

    def order(self) -> Order:
        """The engine's view: the decision this record carries out."""
        return Order(
            self.client_order_id,
            self.algo,
            self.symbol,
            self.side,
            self.amount,
            self.decided_at,
            self.reason,
            KIND_OF_TYPE.get(self.type, OrderKind.MARKET.value),
            self.price,
            self.ref_price,
        )

    def next(self, now_ms: int, **changes: Any) -> OrderRecord:
        """This record with ``changes``, ``updated_at`` = ``now_ms`` and the version bumped."""
        return replace(self, updated_at=now_ms, version=self.version + 1, **changes)

    @property
    def done(self) -> bool:
        """Terminal, and every filled unit booked: nothing is left to do for it."""
        return self.status.terminal and self.booked_filled >= self.filled

    @property
    def unbooked(self) -> float:
        """Filled base amount not booked yet."""
        return max(0.0, self.filled - self.booked_filled)

    @property
    def received(self) -> float:
        """Base amount that reached the account on a buy (filled minus a fee taken in base)."""
        return self.filled - self.fee_base if self.side is Action.BUY else self.filled
