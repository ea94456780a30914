"""Typed storage records. Table shapes follow the DynamoDB design (README "Storage").

All timestamps are UTC epoch milliseconds; ``expiry`` is epoch *seconds* (DynamoDB TTL).
Amounts are base currency; price, fee, pnl, value (for money stats) are quote currency.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class TradeRecord:
    """One fill. Table Trades: key ``trade_id`` + ``timestamp``.

    ``pnl`` is the realized P&L of a closing (sell) trade, fees of both legs included; ``None``
    on an opening trade. ``exit_reason`` is set on closing trades (see ExitReason).

    A value like the other records, but not declared frozen: the engine makes one per fill, and
    a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs eight times as
    much. Nothing assigns to a TradeRecord's fields; use ``dataclasses.replace``.
    """

    trade_id: str
    timestamp: int
    symbol: str
    action: str
    amount: float
    price: float
    fee: float
    algo: str
    pnl: float | None = None
    order_id: str = ""
    exit_reason: str | None = None
    mode: str = "paper"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
class PositionRecord:
    """An open position, kept so that a restart resumes it. Key ``algo`` + ``symbol``."""

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


@dataclass(frozen=True, slots=True)
class EventRecord:
    """Something the trader should be able to see later: a rejected order or signal (``kind``
    ``rejection``), a control acknowledgement, an error. ``rule`` names the rule that fired;
    ``data`` holds its numbers."""

    event_id: str
    timestamp: int
    kind: str
    message: str
    algo: str = ""
    symbol: str = ""
    rule: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ControlRecord:
    """A manual command for the bot (``pause``, ``resume``, ``flatten``) written by the CLI or
    the dashboard. The bot sets ``status`` to ``done`` or ``refused`` and ``acked_at``."""

    control_id: str
    timestamp: int
    action: str
    source: str
    status: str = "pending"
    acked_at: int | None = None
    result: str = ""


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


def record_from_dict(cls, data: dict[str, Any]):
    """Build record ``cls`` from a mapping, ignoring unknown keys and decoding JSON dict fields."""
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    for k in ("data", "extra", "detail"):
        if k in kwargs and isinstance(kwargs[k], str):
            kwargs[k] = json.loads(kwargs[k] or "{}")
    return cls(**kwargs)
