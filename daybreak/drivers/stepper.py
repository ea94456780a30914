"""One base candle of one symbol through the engine: the step shared by replay and backtest.

Strategy signals are computed once per (strategy, symbol) over the whole candle history with the
strategy's own ``populate`` (on candles of its timeframe, built from closed base candles) and
aligned to base candles by close time. The registry-wide no-look-ahead tests guarantee that row t
of that computation equals computing on the candles up to t, so this is the live rule applied
to every closed candle, without the O(n^2) cost.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import pandas as pd

from daybreak.core.config import Config
from daybreak.core.domain import Signal
from daybreak.core.engine import Engine
from daybreak.core.timeframes import resample, timeframe_ms
from strategies.base import BaseStrategy, signal_from_flags
from strategies.indicators import average_true_range

ATR_WINDOW = 14


@dataclass
class SymbolArrays:
    """Base candles of one symbol as arrays (ms, quote per base) and the strategies' flags.

    ``atr``: Wilder's ATR(14) per candle, or None when no risk rule reads it.
    ``signals``: candle index -> the signals decided at that candle's close, in ``algos`` order
    (candles without a signal are absent).
    ``buys`` / ``sells``: per strategy, the candle indices (ascending) whose flags make a buy signal
    (enter without exit) / a sell signal (exit; an exit wins a tie).
    """

    symbol: str
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    close_time: np.ndarray
    atr: np.ndarray | None
    algos: list[str]
    signals: dict[int, list[Signal]]
    buys: dict[str, list[int]]
    sells: dict[str, list[int]]

    def __len__(self) -> int:
        return len(self.timestamp)

    def atr_at(self, k: int) -> float | None:
        """ATR of candle ``k`` (None: not computed, or not defined yet)."""
        if self.atr is None:
            return None
        value = self.atr.item(k)
        return None if value != value else value


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
    if timeframe_ms(strategy.timeframe) == timeframe_ms(base_tf):  # the same candles: row i is base candle i
        return populated["enter_long"].to_numpy(bool), populated["exit_long"].to_numpy(bool)
    tf_close = tf_frame["timestamp"].to_numpy(np.int64) + timeframe_ms(strategy.timeframe)
    base_close = frame["timestamp"].to_numpy(np.int64) + timeframe_ms(base_tf)
    pos = np.searchsorted(base_close, tf_close)
    ok = (pos < n) & (base_close[np.minimum(pos, n - 1)] == tf_close)
    enter[pos[ok]] = populated["enter_long"].to_numpy(bool)[ok]
    exit_[pos[ok]] = populated["exit_long"].to_numpy(bool)[ok]
    return enter, exit_


def needs_atr(config: Config) -> bool:
    """Whether any risk rule of ``config`` uses ATR (so it is computed only then)."""
    sets = [config.risk, *config.risk_overrides.values()]
    return any(r.stop_loss_atr_mult is not None or r.trailing_atr_mult is not None for r in sets)


def build_arrays(
    symbol: str, frame: pd.DataFrame, base_tf: str, strategies: list[BaseStrategy], with_atr: bool = True
) -> SymbolArrays:
    """Arrays of one symbol's base candles plus each strategy's base-aligned flags; ATR(14) only
    ``with_atr`` (no rule reads it otherwise)."""
    flags = [base_aligned_flags(s, frame, base_tf) for s in strategies]
    return arrays_from_flags(
        symbol, frame, base_tf, [s.name for s in strategies], flags, atr_series(frame) if with_atr else None
    )


def arrays_from_flags(
    symbol: str,
    frame: pd.DataFrame,
    base_tf: str,
    names: list[str],
    flags: list[tuple[np.ndarray, np.ndarray]],
    atr: np.ndarray | None,
    with_signals: bool = True,
) -> SymbolArrays:
    """:class:`SymbolArrays` of ``frame`` (base candles) with the strategies ``names`` and their
    base-aligned ``(enter_long, exit_long)`` flags (:func:`base_aligned_flags`), in that order.
    ``with_signals=False`` leaves the per-candle ``signals`` empty (a reader of ``buys`` and
    ``sells`` only, the optimiser's sweep kernel, needs no Signal objects)."""
    ts = frame["timestamp"].to_numpy(np.int64)
    close_time = ts + timeframe_ms(base_tf)
    signals: dict[int, list[Signal]] = {}
    buys, sells = {}, {}
    for name, (enter, exit_) in zip(names, flags, strict=True):
        buys[name] = np.flatnonzero(enter > exit_).tolist()  # enter and not exit
        sells[name] = np.flatnonzero(exit_).tolist()
        if not with_signals:
            continue
        flagged = np.flatnonzero(enter | exit_)
        columns = (flagged, enter[flagged], exit_[flagged], close_time[flagged])
        for k, enters, exits, close_ts in zip(*(c.tolist() for c in columns), strict=True):  # Python bools and ints
            signal = signal_from_flags(name, symbol, enters, exits, close_ts)
            if signal is not None:  # k has a flag, so there is a signal
                signals.setdefault(k, []).append(signal)
    o, h, l, c = (frame[col].to_numpy(float) for col in ("open", "high", "low", "close"))
    return SymbolArrays(symbol, ts, o, h, l, c, close_time, atr, list(names), signals, buys, sells)


def window_arrays(a: SymbolArrays, start: int, stop: int) -> SymbolArrays:
    """The candles ``start .. stop - 1`` of ``a`` (views), signal indices renumbered from 0.

    Flags and ATR were computed on the whole history, so the window's first candles have the
    warm-up a live bot would have had (row t depends only on rows <= t: the no-look-ahead rule)."""

    def cut(idx: list[int]) -> list[int]:
        lo, hi = bisect_left(idx, start), bisect_left(idx, stop)
        return [i - start for i in idx[lo:hi]]

    part = slice(start, stop)
    signals = {k - start: v for k, v in a.signals.items() if start <= k < stop}
    return SymbolArrays(
        a.symbol,
        a.timestamp[part],
        a.open[part],
        a.high[part],
        a.low[part],
        a.close[part],
        a.close_time[part],
        None if a.atr is None else a.atr[part],
        list(a.algos),
        signals,
        {k: cut(v) for k, v in a.buys.items()},
        {k: cut(v) for k, v in a.sells.items()},
    )


class Stepper:
    """Applies base candle ``k`` of ``symbol`` to the engine (fills, exits, strategy signals)."""

    def __init__(self, engine: Engine, arrays: dict[str, SymbolArrays], algos: list[str]):
        self.engine = engine
        self.arrays = arrays
        self.algos = algos
        self.order = {sym: i for i, sym in enumerate(sorted(arrays))}
        self._several = len(arrays) > 1  # other symbols' prices to mark
        for a in arrays.values():
            if a.algos != algos:
                raise ValueError(f"{a.symbol}: arrays built for strategies {a.algos}, stepper runs {algos}")

    def step(self, symbol: str, k: int, data_age_ms: int = 0) -> None:
        """Candle ``k``: pending orders fill at its open, exits along its path, then :meth:`decide`."""
        a, eng = self.arrays[symbol], self.engine
        o = a.open.item(k)
        if eng.pending:
            eng.fill_pending(symbol, o, a.timestamp.item(k))
        if eng.plans or eng.resting:
            eng.check_candle_exits(
                symbol, o, a.high.item(k), a.low.item(k), a.close.item(k), a.close_time.item(k), a.timestamp.item(k)
            )
        else:  # no position has exit rules, no order rests: only the price moves (what check_exits does then)
            eng.last_price[symbol] = a.close.item(k)
        self.decide(symbol, k, data_age_ms)

    def decide(self, symbol: str, k: int, data_age_ms: int = 0) -> None:
        """At candle ``k``'s close: its ATR for sizing and new exit plans, and the strategies'
        signals to the engine (the live loop calls this alone: it fills and exits on polled prices)."""
        a, eng = self.arrays[symbol], self.engine
        if a.atr is not None:  # None: no rule of this run reads ATR
            eng.atr[symbol] = a.atr_at(k)
        signals = a.signals.get(k)
        if signals:
            close_ts, c = a.close_time.item(k), a.close.item(k)
            if self._several:  # signals never move positions: once per step
                self.mark_prices(symbol, close_ts)
            for signal in signals:
                eng.on_signal(signal, c, close_ts, data_age_ms)

    def mark_prices(self, symbol: str, close_ts: int) -> None:
        """Mark other symbols' open positions at their last close processed before this step
        (same timestamp counts for symbols that come earlier in the processing order)."""
        mine = self.order[symbol]
        for pos in self.engine.ledger.positions.values():
            other = pos.symbol
            if other == symbol or other not in self.arrays:
                continue
            b = self.arrays[other]
            if self.order[other] < mine:
                i = int(b.close_time.searchsorted(close_ts, side="right")) - 1
            else:
                i = int(b.close_time.searchsorted(close_ts, side="left")) - 1
            if i >= 0:
                self.engine.last_price[other] = b.close.item(i)
