"""Timeframes (``"1m"``, ``"5m"``) and building coarser candles from closed finer ones.

A coarser candle is *usable* only once every finer candle of its bucket has closed: that is the
no-look-ahead rule used in live, replay and backtest alike. Candle frames have the shape described
in :mod:`strategies.base` (``timestamp`` = UTC epoch ms of the candle open, sorted ascending).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
CANDLE_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]

EPOCH_MS_MIN = 1_230_768_000_000
"""2009-01-01 UTC in epoch ms: nothing crypto is older (Bitcoin's genesis block is 2009-01-03)."""
EPOCH_MS_MAX = 4_102_444_800_000
"""2100-01-01 UTC in epoch ms: later instants are not plausible market times."""


def epoch_ms_problem(value: int) -> str | None:
    """Why ``value`` is not a plausible UTC epoch-ms instant (see :data:`EPOCH_MS_MIN` /
    :data:`EPOCH_MS_MAX`), naming the likely unit mix-up; None when it is plausible."""
    if EPOCH_MS_MIN <= value < EPOCH_MS_MAX:
        return None
    if EPOCH_MS_MIN <= value * 1000 < EPOCH_MS_MAX:
        return "looks like epoch seconds; give UTC epoch milliseconds"
    if EPOCH_MS_MIN <= value // 1000 < EPOCH_MS_MAX:
        return "looks like epoch microseconds; give UTC epoch milliseconds"
    return "is not UTC epoch milliseconds between 2009-01-01 and 2100-01-01"


def parse_utc_ms(text: str) -> int:
    """UTC epoch ms of ``YYYY-MM-DD`` or an ISO 8601 datetime (UTC unless it names an offset;
    ``Z`` accepted), between 2009 and 2100. Raises ValueError naming the text."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        raise ValueError(
            f"{text!r} is not a date: use YYYY-MM-DD or an ISO datetime such as 2021-05-10T12:00 (UTC)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, ValueError, OSError):
        ms = EPOCH_MS_MAX
    if not EPOCH_MS_MIN <= ms < EPOCH_MS_MAX:
        raise ValueError(f"{text!r} is not between 2009-01-01 and 2100-01-01")
    return ms


def timeframe_ms(timeframe: str) -> int:
    """Length of ``timeframe`` in milliseconds (``"5m"`` -> 300000). Raises ValueError."""
    try:
        value = int(timeframe[:-1]) * _UNITS[timeframe[-1]]
    except (KeyError, ValueError, IndexError, TypeError):
        raise ValueError(f"timeframe {timeframe!r} is not like '1m', '5m', '1h' or '1d'") from None
    if value <= 0:
        raise ValueError(f"timeframe {timeframe!r} is not like '1m', '5m', '1h' or '1d'")
    return value


def _check_multiple(timeframe: str, base_timeframe: str) -> tuple[int, int]:
    step, base = timeframe_ms(timeframe), timeframe_ms(base_timeframe)
    if step % base:
        raise ValueError(f"timeframe {timeframe!r} is not a multiple of base timeframe {base_timeframe!r}")
    return step, base


def resample(candles: pd.DataFrame, timeframe: str, base_timeframe: str = "1m") -> pd.DataFrame:
    """Aggregate closed ``base_timeframe`` candles into closed ``timeframe`` candles.

    Input/output shape: the candle frame of :mod:`strategies.base` (RangeIndex, ``timestamp`` in
    UTC epoch ms of the open, sorted ascending). Buckets start at multiples of the timeframe since
    the epoch (Binance kline boundaries). OHLCV: first open, max high, min low, last close, summed
    volume (base currency).

    A bucket is emitted only once it has *closed*: its last base candle is present, or a later base
    candle exists (the bucket's end fell into a data gap, e.g. exchange maintenance, and time moved
    on). So the last bucket of a frame appears only when its final base candle is there: a bucket
    still forming never appears. Buckets with inner gaps keep the candles they have (Binance
    aggregates the same way). Raises ValueError when ``timeframe`` is not a multiple of
    ``base_timeframe``.
    """
    step, base = _check_multiple(timeframe, base_timeframe)
    if step == base or candles.empty:
        return candles.reset_index(drop=True)
    ts = candles["timestamp"].to_numpy(np.int64)
    bucket = ts - ts % step
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:] - 1, len(ts) - 1]
    out = pd.DataFrame(
        {
            "timestamp": bucket[starts],
            "open": candles["open"].to_numpy(np.float64)[starts],
            "high": np.maximum.reduceat(candles["high"].to_numpy(np.float64), starts),
            "low": np.minimum.reduceat(candles["low"].to_numpy(np.float64), starts),
            "close": candles["close"].to_numpy(np.float64)[ends],
            "volume": np.add.reduceat(candles["volume"].to_numpy(np.float64), starts),
        }
    )
    last_complete = ts[-1] == bucket[-1] + step - base
    return out if last_complete else out.iloc[:-1].reset_index(drop=True)


def context_frame(
    candles: pd.DataFrame, context: pd.DataFrame, timeframe: str, base_timeframe: str = "1m"
) -> pd.DataFrame:
    """Align the columns of a coarser ``context`` frame onto the rows of ``candles``, no look-ahead.

    Row ``i`` of the result carries the values of the newest ``timeframe`` context candle that had
    *closed* by the close of ``candles`` row ``i`` (a ``base_timeframe`` candle closes at its open +
    ``base_timeframe``). ``context`` has a ``timestamp`` column of candle opens, sorted ascending
    (e.g. the output of :func:`resample` plus indicator columns); every other column is carried.

    Returns a frame indexed like ``candles``: numeric columns as float64 with NaN before the first
    closed context candle, boolean columns as bool with False there.
    """
    step, base = _check_multiple(timeframe, base_timeframe)
    available = context["timestamp"].to_numpy(np.int64) + step
    base_close = candles["timestamp"].to_numpy(np.int64) + base
    idx = np.searchsorted(available, base_close, side="right") - 1
    missing = idx < 0
    safe = np.where(missing, 0, idx)
    data = {}
    for col in context.columns:
        if col == "timestamp":
            continue
        values = context[col].to_numpy()
        if len(values) == 0:
            taken = np.zeros(len(idx), bool) if values.dtype == bool else np.full(len(idx), np.nan)
        elif values.dtype == bool:
            taken = values[safe] & ~missing
        else:
            taken = np.where(missing, np.nan, values.astype(np.float64)[safe])
        data[col] = taken
    return pd.DataFrame(data, index=candles.index)


def trading_day(ts_ms: int, tz: str) -> tuple[str, int, int]:
    """The trading day containing ``ts_ms`` (UTC epoch ms) in IANA timezone ``tz``: its label
    ``YYYY-MM-DD`` and its bounds ``[start_ms, end_ms)`` from local midnight to the next local
    midnight (23 or 25 hours long across a DST change). The one definition of the day boundary
    (daily loss limit, entries per day, daily stats). Raises ``ZoneInfoNotFoundError`` for an
    unknown zone."""
    local = datetime.fromtimestamp(ts_ms / 1000, tz=ZoneInfo(tz))
    day, midnight = local.date(), time(0, tzinfo=local.tzinfo, fold=local.fold)
    start = datetime.combine(day, midnight)
    end = datetime.combine(day + timedelta(days=1), midnight)  # the next date's midnight, DST-safe
    return day.isoformat(), int(start.timestamp() * 1000), int(end.timestamp() * 1000)
