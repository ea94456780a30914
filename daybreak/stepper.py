"""One base candle of one symbol through the engine: the step shared by replay and backtest.

Strategy signals are computed once per (strategy, symbol) over the whole candle history with the
strategy's own ``populate`` (on candles of its timeframe, built from closed base candles) and
aligned to base candles by close time. The registry-wide no-look-ahead tests guarantee that row t
of that computation equals computing on the candles up to t, so this is the live rule applied
to every closed candle, without the O(n^2) cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from daybreak.engine import Engine
from daybreak.timeframes import resample, timeframe_ms
from strategies.base import BaseStrategy, signal_from_flags
from strategies.indicators import average_true_range

ATR_WINDOW = 14


@dataclass
class SymbolArrays:
    """Base candles of one symbol as arrays (ms, quote per base)."""

    symbol: str
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    close_time: np.ndarray
    atr: np.ndarray
    enter: dict[str, np.ndarray]
    exit: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.timestamp)


def atr_series(frame: pd.DataFrame) -> np.ndarray:
    """Wilder's ATR(14), the same recursion as ``ta.volatility.AverageTrueRange`` (vectorised in
    :func:`strategies.indicators.average_true_range`); NaN until defined."""
    if len(frame) <= ATR_WINDOW:
        return np.full(len(frame), np.nan)
    atr = average_true_range(frame["high"], frame["low"], frame["close"], ATR_WINDOW)
    out = np.asarray(atr, dtype=float).copy()
    out[:ATR_WINDOW] = np.nan
    return out


def base_aligned_flags(strategy: BaseStrategy, frame: pd.DataFrame, base_tf: str) -> tuple[np.ndarray, np.ndarray]:
    """``enter_long`` / ``exit_long`` of ``strategy`` on ``frame`` (base candles) as arrays aligned
    to the base candle whose close is the strategy candle's close (False elsewhere)."""
    n = len(frame)
    enter, exit_ = np.zeros(n, bool), np.zeros(n, bool)
    tf_frame = resample(frame, strategy.timeframe, base_tf)
    if tf_frame.empty:
        return enter, exit_
    populated = strategy.signals(tf_frame)
    tf_close = tf_frame["timestamp"].to_numpy(np.int64) + timeframe_ms(strategy.timeframe)
    base_close = frame["timestamp"].to_numpy(np.int64) + timeframe_ms(base_tf)
    pos = np.searchsorted(base_close, tf_close)
    ok = (pos < n) & (base_close[np.minimum(pos, n - 1)] == tf_close)
    enter[pos[ok]] = populated["enter_long"].to_numpy(bool)[ok]
    exit_[pos[ok]] = populated["exit_long"].to_numpy(bool)[ok]
    return enter, exit_


def needs_atr(config) -> bool:
    """Whether any risk rule of ``config`` uses ATR (so it is computed only then)."""
    sets = [config.risk, *config.risk_overrides.values()]
    return any(r.stop_loss_atr_mult is not None or r.trailing_atr_mult is not None for r in sets)


def build_arrays(symbol: str, frame: pd.DataFrame, base_tf: str, strategies: list[BaseStrategy],
                 with_atr: bool = True) -> SymbolArrays:
    """Arrays of one symbol's base candles plus each strategy's base-aligned flags; ATR(14) only
    ``with_atr`` (NaN otherwise: no rule reads it)."""
    ts = frame["timestamp"].to_numpy(np.int64)
    flags = {s.name: base_aligned_flags(s, frame, base_tf) for s in strategies}
    return SymbolArrays(
        symbol, ts, *(frame[c].to_numpy(float) for c in ("open", "high", "low", "close")),
        ts + timeframe_ms(base_tf), atr_series(frame) if with_atr else np.full(len(frame), np.nan),
        {k: v[0] for k, v in flags.items()}, {k: v[1] for k, v in flags.items()})


class Stepper:
    """Applies base candle ``k`` of ``symbol`` to the engine (fills, exits, strategy signals)."""

    def __init__(self, engine: Engine, arrays: dict[str, SymbolArrays], algos: list[str]):
        self.engine = engine
        self.arrays = arrays
        self.algos = algos
        self.order = {sym: i for i, sym in enumerate(sorted(arrays))}

    def step(self, symbol: str, k: int, data_age_ms: int = 0) -> None:
        a, eng = self.arrays[symbol], self.engine
        eng.fill_pending(symbol, float(a.open[k]), int(a.timestamp[k]))
        atr = a.atr[k]
        eng.atr[symbol] = None if np.isnan(atr) else float(atr)
        close_ts = int(a.close_time[k])
        eng.check_candle_exits(symbol, float(a.open[k]), float(a.high[k]), float(a.low[k]), float(a.close[k]), close_ts)
        for algo in self.algos:
            sig = signal_from_flags(algo, symbol, bool(a.enter[algo][k]), bool(a.exit[algo][k]), close_ts)
            if sig is not None:
                self.mark_prices(symbol, close_ts)
                eng.on_signal(sig, float(a.close[k]), close_ts, data_age_ms)

    def mark_prices(self, symbol: str, close_ts: int) -> None:
        """Mark other symbols' open positions at their last close processed before this step
        (same timestamp counts for symbols that come earlier in the processing order)."""
        mine = self.order[symbol]
        for pos in self.engine.ledger.positions.values():
            other = pos.symbol
            if other == symbol or other not in self.arrays:
                continue
            b = self.arrays[other]
            side = "right" if self.order[other] < mine else "left"
            i = int(np.searchsorted(b.close_time, close_ts, side=side)) - 1
            if i >= 0:
                self.engine.last_price[other] = float(b.close[i])

    def signal_indices(self, symbol: str) -> np.ndarray:
        """Base indices of ``symbol`` where any enabled strategy flags a signal."""
        a = self.arrays[symbol]
        mask = np.zeros(len(a), bool)
        for algo in self.algos:
            mask |= a.enter[algo] | a.exit[algo]
        return np.flatnonzero(mask)
