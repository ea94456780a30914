"""External signals: rows other systems insert into the Signals table.

A row is ``signal_id``, ``timestamp`` (ms), ``symbol`` (ccxt form), ``action`` (``buy`` or
``sell``), ``source`` and an optional ``amount`` (base currency). The bot validates each new row,
executes the valid ones under the strategy name ``External``, and marks every row with its outcome
and reason through a conditional update, so a row runs at most once, across restarts and processes.
"""
from __future__ import annotations

import math
from typing import Protocol

from daybreak.core.config import Config
from daybreak.core.domain import EXTERNAL_ALGO, Action, Signal

FUTURE_TOLERANCE_MS = 60_000


class SignalRow(Protocol):
    """What the validator reads of a Signals-table row (``storage.records.SignalRecord`` is one)."""

    signal_id: str
    timestamp: int
    symbol: str
    action: str
    amount: float | None


def validate(rec: SignalRow, config: Config, now_ms: int) -> Signal | str:
    """The :class:`Signal` of a valid row, or the reason it is rejected (naming field and value)."""
    if rec.symbol not in config.symbols:
        return f"symbol {rec.symbol!r} is not traded (config symbols: {', '.join(config.symbols)})"
    try:
        action = Action(str(rec.action).lower())
    except ValueError:
        return f"action {rec.action!r} is not 'buy' or 'sell'"
    amount = rec.amount
    if amount is not None:
        try:
            amount = float(amount)
        except (TypeError, ValueError):
            return f"amount {rec.amount!r} is not a number"
        if not math.isfinite(amount) or amount <= 0:
            return f"amount {rec.amount!r} must be a positive number of base currency"
    age_ms = now_ms - int(rec.timestamp)
    if age_ms > config.external_signal_max_age_seconds * 1000:
        return f"timestamp {rec.timestamp} is stale: {age_ms / 1000:.0f} s old, limit {config.external_signal_max_age_seconds:.0f} s"
    if age_ms < -FUTURE_TOLERANCE_MS:
        return f"timestamp {rec.timestamp} is {-age_ms / 1000:.0f} s in the future"
    return Signal(EXTERNAL_ALGO, rec.symbol, action, now_ms, amount=amount, ref=rec.signal_id)
