"""Helpers for strategy tests: hand-written candle frames and the shipped real episodes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

EPISODES = Path(__file__).resolve().parent.parent / "data" / "episodes"
MINUTE_MS = 60_000


def utc_ms(text: str) -> int:
    """``"2021-05-20 10:40"`` (UTC) -> epoch milliseconds."""
    return int(pd.Timestamp(text, tz="UTC").timestamp() * 1000)


def load_episode(name: str) -> pd.DataFrame:
    """A real candle slice from tests/data/episodes (see its README), RangeIndex."""
    return pd.read_csv(EPISODES / name)


def make_candles(
    closes: Sequence[float],
    volumes: Sequence[float] | None = None,
    *,
    opens: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    start: str = "2021-05-20 10:00",
    step_minutes: int = 1,
    minutes: Sequence[int] | None = None,
) -> pd.DataFrame:
    """A candle frame from hand-written closes.

    Open defaults to the previous close (the first candle opens at its close), high/low to the
    larger/smaller of open and close, volume to 1. ``minutes`` gives each candle's offset from
    ``start`` in minutes (to write gaps); by default candles follow each other every ``step_minutes``.
    """
    closes = np.asarray(closes, dtype=np.float64)
    n = len(closes)
    o = np.asarray(opens, dtype=np.float64) if opens is not None else np.r_[closes[:1], closes[:-1]]
    h = np.asarray(highs, dtype=np.float64) if highs is not None else np.maximum(o, closes)
    lo = np.asarray(lows, dtype=np.float64) if lows is not None else np.minimum(o, closes)
    v = np.asarray(volumes, dtype=np.float64) if volumes is not None else np.ones(n)
    offsets = np.asarray(minutes if minutes is not None else np.arange(n) * step_minutes, dtype=np.int64)
    ts = utc_ms(start) + offsets * MINUTE_MS
    return pd.DataFrame({"timestamp": ts, "open": o, "high": h, "low": lo, "close": closes, "volume": v})


def rows_where(frame: pd.DataFrame, column: str) -> list[int]:
    """Positions of the rows where boolean ``column`` is True."""
    return np.flatnonzero(frame[column].to_numpy(bool)).tolist()
