"""External signals: the one validator of rows other systems insert into the Signals table.

A row (README "External signals", docs/dynamodb.md) has ``signal_id`` (text, 1-200 characters),
``timestamp`` (UTC epoch ms, an integer), ``symbol`` (ccxt ``BASE/QUOTE``, one of the config's
``symbols``), ``action`` (``buy`` or ``sell``, any case), optional ``source`` (text, at most 200
characters) and optional ``amount`` (base currency, a finite number > 0). Other attributes
(``status``, ``outcome``, ...) are ignored here.

:func:`parse` turns a row as stored (a mapping of plain values) into an :class:`ExternalSignal`
or a :class:`Refusal` naming the field and the value; :func:`timing` says whether a valid one is
due, not due yet, stale or in the future. The bot (``daybreak.drivers.inbox``) and ``bot.py
signal`` both use them, so a row the CLI inserts is one the bot accepts. Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from daybreak.core.config import symbol_problem
from daybreak.core.domain import EXTERNAL_ALGO, Action, Signal
from daybreak.core.timeframes import epoch_ms_problem

FUTURE_TOLERANCE_MS = 60_000
"""Live: a row stamped more than this far ahead of the bot's clock is refused (clock skew bound)."""
MAX_TEXT_CHARS = 200
MAX_AMOUNT = 1e9
SHOWN_CHARS = 60


def show(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 300 KB symbol must not become a 300 KB reason)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a row cannot be used: its ``field``, the ``value`` found and the ``problem``."""

    field: str
    value: Any
    problem: str

    def __str__(self) -> str:
        return f"{self.field} = {show(self.value)}: {self.problem}"


@dataclass(frozen=True, slots=True)
class ExternalSignal:
    """A valid row: ``timestamp`` UTC epoch ms, ``amount`` base currency (None: configured size)."""

    signal_id: str
    timestamp: int
    symbol: str
    action: Action
    source: str = ""
    amount: float | None = None


def _text(row: Mapping[str, Any], name: str, required: bool) -> str | Refusal:
    value = row.get(name)
    if value is None:
        return Refusal(name, value, "is required") if required else ""
    if not isinstance(value, str):
        return Refusal(name, value, f"must be text, not {type(value).__name__}")
    if required and not value.strip():
        return Refusal(name, value, "must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        return Refusal(name, value, f"is {len(value)} characters long; at most {MAX_TEXT_CHARS}")
    if not value.isprintable():
        return Refusal(name, value, "contains control characters")
    return value


def _number(value: Any) -> float | int | Decimal | None:
    """``value`` when it is a finite Python number (bool is not; a NaN or infinite Decimal is
    returned as float NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return math.nan
    return value


def _timestamp(row: Mapping[str, Any]) -> int | Refusal:
    raw = row.get("timestamp")
    value = _number(raw)
    if value is None:
        return Refusal("timestamp", raw, "must be a number of UTC epoch milliseconds")
    if isinstance(value, (float, Decimal)):
        if not math.isfinite(value) or value != int(value):
            return Refusal("timestamp", raw, "must be a whole number of UTC epoch milliseconds")
        value = int(value)
    problem = epoch_ms_problem(value)
    return Refusal("timestamp", raw, problem) if problem else value


def _amount(row: Mapping[str, Any]) -> float | Refusal | None:
    raw = row.get("amount")
    if raw is None:
        return None
    value = _number(raw)
    if value is None:
        return Refusal("amount", raw, "is not a number")
    value = float(value)
    if not math.isfinite(value) or not 0 < value <= MAX_AMOUNT:
        return Refusal("amount", raw, f"must be a positive number of base currency (at most {MAX_AMOUNT:g})")
    return value


def parse(row: Mapping[str, Any], symbols: Collection[str]) -> ExternalSignal | Refusal:
    """The :class:`ExternalSignal` of ``row`` (attribute name -> plain value as stored), or the
    :class:`Refusal` of its first bad field, checked in the order signal_id, timestamp, symbol,
    action, source, amount. ``symbols``: the symbols the bot trades."""
    signal_id = _text(row, "signal_id", True)
    if isinstance(signal_id, Refusal):
        return signal_id
    timestamp = _timestamp(row)
    if isinstance(timestamp, Refusal):
        return timestamp
    symbol = row.get("symbol")
    if not isinstance(symbol, str):
        return Refusal("symbol", symbol, "must be text such as 'BTC/USDT'")
    problem = symbol_problem(symbol)
    if problem:
        return Refusal("symbol", symbol, problem)
    if symbol not in symbols:
        return Refusal("symbol", symbol, f"is not traded (config symbols: {', '.join(symbols)})")
    action = row.get("action")
    try:
        side = Action(action.lower()) if isinstance(action, str) else None
    except ValueError:
        side = None
    if side is None:
        return Refusal("action", action, "is not 'buy' or 'sell'")
    source = _text(row, "source", False)
    if isinstance(source, Refusal):
        return source
    amount = _amount(row)
    if isinstance(amount, Refusal):
        return amount
    return ExternalSignal(signal_id, timestamp, symbol, side, source, amount)


Timing = Literal["due", "wait", "expired", "future"]


def timing(timestamp: int, now_ms: int, max_age_seconds: float, simulated: bool) -> tuple[Timing, str]:
    """When a row stamped ``timestamp`` (ms) may run at ``now_ms``: ``due``; ``wait`` (its time
    has not come: replay waits for the simulated clock, live tolerates
    :data:`FUTURE_TOLERANCE_MS` of clock skew); ``expired`` (older than ``max_age_seconds``);
    ``future`` (live, stamped beyond the tolerance). The text is the reason for the last two."""
    age_ms = now_ms - timestamp
    if age_ms > max_age_seconds * 1000:
        return "expired", f"timestamp = {timestamp}: stale, {age_ms / 1000:.0f} s old, limit {max_age_seconds:g} s"
    if age_ms >= 0:
        return "due", ""
    if simulated or -age_ms <= FUTURE_TOLERANCE_MS:
        return "wait", ""
    return (
        "future",
        f"timestamp = {timestamp}: {-age_ms / 1000:.0f} s in the future (tolerance {FUTURE_TOLERANCE_MS // 1000} s)",
    )


def to_signal(sig: ExternalSignal, now_ms: int) -> Signal:
    """The engine's :class:`Signal` for ``sig``, decided at ``now_ms`` (strategy ``External``)."""
    return Signal(EXTERNAL_ALGO, sig.symbol, sig.action, now_ms, amount=sig.amount, ref=sig.signal_id)
