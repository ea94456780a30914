"""Storage rows: the storage-only records (stats, prices, signals, status) and the mapping of
the domain types (:mod:`daybreak.core.domain`: Trade, Position, Event, Control) to and from
table rows. Table shapes follow the DynamoDB design (README "Storage").

All timestamps are UTC epoch milliseconds; ``expiry`` is epoch *seconds* (DynamoDB TTL).
Amounts are base currency; price, fee, pnl, value (for money stats) are quote currency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from daybreak.core.domain import (
    Action,
    Control,
    Event,
    ExitReason,
    Mode,
    Position,
    Trade,
)
from daybreak.core.order_record import OrderRecord, OrderStatus, Role

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")

DAILY_STAT_PREFIX = "day:"
"""``stat_type`` prefix of the daily aggregates in the Stats table."""


@dataclass(frozen=True, slots=True)
class StatRecord:
    """Table Stats: key ``stat_type`` + ``algo`` (a strategy name or ``total``).

    ``stat_type`` is one of ``pnl`` (quote), ``fees`` (quote), ``trades``, ``wins``, ``losses``,
    ``win_rate`` (fraction), or a daily aggregate ``day:<YYYY-MM-DD>:<stat>``
    (:data:`DAILY_STAT_PREFIX`; :meth:`storage.base.Store.list_stats` lists those apart). ``date``
    is the UTC day (YYYY-MM-DD) the value was computed on.
    """

    stat_type: str
    algo: str
    value: float
    date: str


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """Table HistoricalPrices: key ``symbol`` + ``timestamp`` (candle open, ms); ``price`` is the
    close. ``expiry`` (epoch seconds) lets DynamoDB's TTL delete old rows."""

    symbol: str
    timestamp: int
    price: float
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None
    expiry: int | None = None


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """Table Signals: key ``signal_id`` + ``timestamp`` (ms, when the signal was issued).

    Written by other systems with ``status`` ``new`` (or absent); the bot sets ``status`` to
    ``accepted`` (order queued, ``outcome`` = its client order id), then ``executed`` (``outcome``
    = the trade id), ``failed``, ``rejected`` or ``expired``, with a human ``reason`` naming the
    field and value or the rule (:class:`daybreak.core.domain.SignalStatus`).
    """

    signal_id: str
    timestamp: int
    symbol: str
    action: str
    source: str = ""
    amount: float | None = None
    status: str = "new"
    outcome: str = ""
    reason: str = ""
    processed_at: int | None = None


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A Signals row as stored, before any validation (the inbox may hold anything another system
    wrote). ``signal_id`` and ``timestamp`` are the row's key values exactly as stored (hand
    them back unchanged to ``claim_signal`` / ``mark_signal``); ``status`` is the stored status
    (None: the row has none); ``attrs`` maps every attribute to its plain value (text, int,
    float or Decimal, bool, bytes, lists, dicts; None for a SQL NULL)."""

    signal_id: Any
    timestamp: Any
    status: Any
    attrs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """The bot's heartbeat and state (one row). ``state`` is a BotState value."""

    timestamp: int
    mode: str
    state: str
    reason: str = ""
    last_error: str = ""
    last_error_at: int | None = None
    detail: dict = field(default_factory=dict)

    def bot_running(self, now_ms: int, poll_seconds: float, polls: float = 3.0) -> bool:
        """Whether a bot is running by this row: not stopped (``SHUTDOWN``, or ``ERROR`` of a
        stopped process) and a heartbeat within ``polls`` polls (plus 10 s) of ``now_ms``
        (wall-clock UTC ms; ``detail["wall_ms"]``, when the bot wrote it, dates a replay's beat)."""
        if self.state == "SHUTDOWN":
            return False
        beat = (self.detail or {}).get("wall_ms") or self.timestamp
        return now_ms - beat <= polls * max(poll_seconds, 1.0) * 1000 + 10_000


@dataclass(frozen=True, slots=True)
class ConfigVersionRecord:
    """Table ConfigVersions: key ``version`` (1, 2, ... in the order accepted). ``document`` is the
    whole ``config.json`` as accepted (a JSON object); ``timestamp`` UTC epoch ms; ``author`` who:
    ``dashboard:<user>``, ``cli``, or ``file edit`` (a change the running bot picked up);
    ``note`` e.g. ``rollback to version 3``."""

    version: int
    timestamp: int
    author: str
    document: dict = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True, slots=True)
class Lease:
    """The store's one-bot lease (State item ``lease``): ``owner`` (a unique id per bot process),
    where it runs (``host``, ``pid``, ``folder``), ``expires_at`` (UTC ms; the holder renews it)."""

    owner: str
    host: str
    pid: int
    folder: str
    acquired_at: int
    expires_at: int


DOMAIN_ROWS = (Trade, Position, Event, Control, OrderRecord)
"""Domain types stored as rows of their own table."""

JSON_FIELDS = ("data", "extra", "detail", "document")
"""Dict fields of records, stored as JSON text."""

_ENUM_FIELDS: dict[type, dict[str, type[Enum]]] = {
    Trade: {"action": Action, "exit_reason": ExitReason, "mode": Mode},
    OrderRecord: {"side": Action, "status": OrderStatus, "reason": ExitReason, "mode": Mode, "role": Role},
}


def to_row(record: DataclassInstance) -> dict[str, Any]:
    """A record (domain or storage type) as a flat dict of plain values: enums become their
    string values; dict fields stay dicts (each backend encodes them)."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = value.value if isinstance(value, Enum) else value
    return out


def record_from_dict(cls: type[R], data: dict[str, Any]) -> R:
    """Build record ``cls`` from a row mapping: unknown keys ignored, JSON dict fields decoded,
    enum fields of domain types parsed (``"buy"`` -> ``Action.BUY``). Raises ValueError for a
    value that is not one of the enum's."""
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    for k in JSON_FIELDS:
        if k in kwargs and isinstance(kwargs[k], str):
            kwargs[k] = json.loads(kwargs[k] or "{}")
    for k, enum in _ENUM_FIELDS.get(cls, {}).items():
        if kwargs.get(k) is not None:
            kwargs[k] = enum(kwargs[k])
    return cls(**kwargs)


def trade_from_row(row: Sequence[Any]) -> Trade:
    """A Trade from a tuple of its columns in field order (SQLite reads them so)."""
    tid, ts, symbol, action, amount, price, fee, algo, pnl, order_id, reason, mode, order_type, ref_price = row
    return Trade(
        tid,
        ts,
        symbol,
        Action(action),
        amount,
        price,
        fee,
        algo,
        pnl,
        order_id,
        None if reason is None else ExitReason(reason),
        Mode(mode),
        order_type or "market",
        ref_price,
    )
