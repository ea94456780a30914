"""Timeframes (``"1m"``, ``"5m"``) and building coarser candles from closed finer ones.

A coarser candle is *usable* only once every finer candle of its bucket has closed: that is the
no-look-ahead rule used in live, replay and backtest alike.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


def timeframe_ms(timeframe: str) -> int:
    """Length of ``timeframe`` in milliseconds (``"5m"`` -> 300000). Raises ValueError."""
    try:
        return int(timeframe[:-1]) * _UNITS[timeframe[-1]]
    except (KeyError, ValueError, IndexError):
        raise ValueError(f"timeframe {timeframe!r} is not like '1m', '5m', '1h' or '1d'") from None


def resample(candles: pd.DataFrame, timeframe: str, base_timeframe: str = "1m") -> pd.DataFrame:
    """Aggregate closed ``base_timeframe`` candles into complete ``timeframe`` candles.

    Input/output shape: the candle frame of :mod:`strategies.base`. A bucket is emitted only when
    its last base candle (the one closing at the bucket's close) is present, so a bucket that is
    still forming, or whose end fell into a data gap, never appears. Buckets with inner gaps keep
    the candles they have (Binance aggregates the same way). OHLCV: first open, max high, min low,
    last close, summed volume.
    """
    step, base = timeframe_ms(timeframe), timeframe_ms(base_timeframe)
    if step == base or candles.empty:
        return candles.reset_index(drop=True)
    ts = candles["timestamp"].to_numpy(np.int64)
    bucket = ts - ts % step
    agg = (
        candles.assign(_b=bucket)
        .groupby("_b", sort=True)
        .agg(open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"),
             volume=("volume", "sum"), _last=("timestamp", "max"))
    )
    complete = agg["_last"].to_numpy() == agg.index.to_numpy() + step - base
    out = agg.loc[complete].drop(columns="_last").reset_index(names="timestamp")
    out["timestamp"] = out["timestamp"].astype(np.int64)
    return out[["timestamp", "open", "high", "low", "close", "volume"]]


def context_frame(candles: pd.DataFrame, context: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Align columns of a coarser ``context`` frame onto the rows of ``candles`` without look-ahead.

    Row ``i`` of the result carries the values of the newest context candle that had *closed* by
    the close of ``candles`` row ``i`` (NaN before the first one). ``context`` must be indexed by
    position with a ``timestamp`` column of candle opens; ``candles`` rows are finer candles.
    """
    step = timeframe_ms(timeframe)
    ctx = context.copy()
    ctx["_available"] = ctx["timestamp"].to_numpy(np.int64) + step
    base_close = candles["timestamp"].to_numpy(np.int64)
    # a finer candle closes at ts + base step; a context candle is usable once its close <= that
    base_step = int(np.min(np.diff(base_close))) if len(base_close) > 1 else step
    idx = np.searchsorted(ctx["_available"].to_numpy(), base_close + base_step, side="right") - 1
    cols = [c for c in ctx.columns if c not in ("timestamp", "_available")]
    values = ctx[cols].reset_index(drop=True)
    out = values.reindex(np.where(idx >= 0, idx, -1)).reset_index(drop=True)
    out.loc[idx < 0, :] = np.nan
    out.index = candles.index
    return out
