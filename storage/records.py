"""Storage rows: the storage-only records (stats, prices, signals, status) and the mapping of
the domain types (:mod:`daybreak.core.domain`: Trade, Position, Event, Control) to and from
table rows. Table shapes follow the DynamoDB design (README "Storage").

All timestamps are UTC epoch milliseconds; ``expiry`` is epoch *seconds* (DynamoDB TTL).
Amounts are base currency; price, fee, pnl, value (for money stats) are quote currency.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

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


@dataclass(frozen=True, slots=True)
class StatRecord:
    """Table Stats: key ``stat_type`` + ``algo`` (a strategy name or ``total``).

    ``stat_type`` is one of ``pnl`` (quote), ``fees`` (quote), ``trades``, ``wins``, ``losses``,
    ``win_rate`` (fraction). ``date`` is the UTC day (YYYY-MM-DD) the value was computed on.
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
    ``executed`` or ``rejected`` with ``outcome`` (trade id or rule) and a human ``reason``.
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

JSON_FIELDS = ("data", "extra", "detail")
"""Dict fields, stored as JSON text."""

_ENUM_FIELDS: dict[type, dict[str, type[Enum]]] = {
    Trade: {"action": Action, "exit_reason": ExitReason, "mode": Mode},
    OrderRecord: {"side": Action, "status": OrderStatus, "reason": ExitReason, "mode": Mode, "role": Role},
}


def to_row(record) -> dict[str, Any]:
    """A record (domain or storage type) as a flat dict of plain values: enums become their
    string values; dict fields stay dicts (each backend encodes them)."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = value.value if isinstance(value, Enum) else value
    return out


def record_from_dict(cls, data: dict[str, Any]):
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


def trade_from_row(row: tuple) -> Trade:
    """A Trade from a tuple of its columns in field order (SQLite reads them so)."""
    tid, ts, symbol, action, amount, price, fee, algo, pnl, order_id, reason, mode, order_type, ref_price = row
    return Trade(tid, ts, symbol, Action(action), amount, price, fee, algo, pnl, order_id,
                 None if reason is None else ExitReason(reason), Mode(mode), order_type or "market", ref_price)
