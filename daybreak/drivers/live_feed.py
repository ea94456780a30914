"""The live feed: closed 1m candles per symbol from the exchange, turned into the stepper's arrays.

Per symbol a bounded buffer of closed base candles (:func:`history_needed` long: twice the
longest warm-up, and twice what Wilder's ATR(14) needs to settle), filled at start with one
concurrent round of klines requests per 1,000 candles, then extended by the candles that closed
since: klines are requested only for the symbols whose candle should have closed
(:meth:`LiveFeed.due`), all at once (:meth:`~daybreak.exchange.client.Exchange.fetch_candles_many`).
Each reply also gives the open of the candle forming now, the price a paper order decided at the
last close fills at (the replay's "next candle's open").

:func:`decision_arrays` builds the :class:`~daybreak.drivers.stepper.SymbolArrays` the stepper
decides on. At start it is :func:`~daybreak.drivers.stepper.build_arrays` over the whole buffer,
as replay and backtest compute it (every strategy once over all candles). For a new candle each
strategy whose candle closes with it is evaluated over the last two warm-ups of its candles
(the history length the registry-wide tests prove gives the same signal as the whole history),
and ATR(14) over the whole buffer (the stepper's :func:`~daybreak.drivers.stepper.atr_series`;
the buffer is longer than twice its settling length, so it agrees with the replay's to 1e-8).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak.core.domain import Signal
from daybreak.core.timeframes import timeframe_ms
from daybreak.drivers.stepper import (
    SymbolArrays,
    atr_series,
    base_aligned_flags,
    build_arrays,
)
from daybreak.exchange.client import MAX_KLINES, CandleReply, Exchange, ExchangeError
from strategies.base import BaseStrategy, signal_from_flags
from strategies.indicators import wilder_settle

BASE_TF = "1m"
STEP = timeframe_ms(BASE_TF)


def strategy_rows(strategy: BaseStrategy) -> int:
    """Base candles one evaluation of ``strategy`` looks at: two warm-ups of its own candles."""
    return 2 * (strategy.warmup + 1) * (timeframe_ms(strategy.timeframe) // STEP)


def history_needed(strategies: list[BaseStrategy]) -> int:
    """Base candles to keep per symbol: the longest :func:`strategy_rows`, at least twice what
    ATR(14) needs to settle, plus a margin."""
    return max([strategy_rows(s) for s in strategies] + [2 * wilder_settle(14)]) + 30


class LiveFeed:
    """Bounded buffers of closed base candles per symbol, and the candle forming now."""

    def __init__(self, exchange: Exchange, symbols: list[str], size: int):
        self.exchange, self.symbols, self.size = exchange, list(symbols), size
        self.frames: dict[str, pd.DataFrame] = {}
        self.forming: dict[str, tuple[int, float]] = {}  # symbol -> (open time ms, open price)
        self.errors: dict[str, ExchangeError] = {}

    def last_close(self, symbol: str) -> int | None:
        """Close time (ms) of the newest buffered candle of ``symbol``."""
        f = self.frames.get(symbol)
        return None if f is None or f.empty else int(f["timestamp"].iat[-1]) + STEP

    def due(self, now_ms: int) -> dict[str, int]:
        """Symbols whose newest closed candle is missing, with the oldest open to ask for."""
        boundary = now_ms - now_ms % STEP
        out = {}
        for symbol in self.symbols:
            last = self.last_close(symbol)
            if last is None:
                out[symbol] = boundary - self.size * STEP
            elif last < boundary:
                out[symbol] = last
        return out

    def poll(self, now_ms: int) -> Iterator[tuple[str, int]]:
        """Fetch what :meth:`due` names (concurrently, pages of 1,000 until caught up) and yield
        (symbol, number of new closed candles) as each symbol's candles are complete, so the
        caller decides on the first while the others are still in flight. A symbol whose
        request failed is not yielded; its error is kept in :attr:`errors`."""
        new: dict[str, int] = {}
        wanted = self.due(now_ms)
        while wanted:
            more = {}
            for symbol, reply in self.exchange.candles_as_completed(wanted, BASE_TF, now_ms):
                if isinstance(reply, ExchangeError):
                    self.errors[symbol] = reply
                    continue
                self.errors.pop(symbol, None)
                rows = self._append(symbol, reply)
                new[symbol] = new.get(symbol, 0) + len(rows)
                if len(reply.closed) >= MAX_KLINES and len(rows):
                    more[symbol] = int(rows["timestamp"].iat[-1]) + STEP  # a full page: more to come
                else:
                    yield symbol, new[symbol]
            wanted = more

    def _append(self, symbol: str, reply: CandleReply) -> pd.DataFrame:
        if reply.forming_ts is not None and reply.forming_open is not None:  # given together
            self.forming[symbol] = (reply.forming_ts, reply.forming_open)
        old = self.frames.get(symbol)
        rows = reply.closed
        if old is not None and not old.empty:
            rows = rows[rows["timestamp"] > old["timestamp"].iat[-1]]
            frame = pd.concat([old, rows], ignore_index=True)
        else:
            frame = rows
        self.frames[symbol] = frame.iloc[-self.size :].reset_index(drop=True)
        return rows.reset_index(drop=True)

    def forming_open(self, symbol: str, after_ms: int) -> tuple[int, float] | None:
        """(open time, open price) of the candle that opened at or after ``after_ms`` (ms), if the
        last reply had it."""
        got = self.forming.get(symbol)
        return got if got is not None and got[0] >= after_ms else None


def decision_arrays(
    symbol: str, frame: pd.DataFrame, strategies: list[BaseStrategy], with_atr: bool, rows: list[int] | None = None
) -> SymbolArrays:
    """The stepper's arrays of ``frame`` (base candles) with signals for ``rows`` only (positions
    in ``frame``; None: every row, i.e. :func:`~daybreak.drivers.stepper.build_arrays`)."""
    if rows is None:
        return build_arrays(symbol, frame, BASE_TF, strategies, with_atr)
    ts = frame["timestamp"].to_numpy(np.int64)
    signals: dict[int, list[Signal]] = {}
    for k in rows:
        close_ts = int(ts[k]) + STEP
        for s in strategies:
            tf = timeframe_ms(s.timeframe)
            if close_ts % tf:
                continue  # its candle does not close with this one
            start = max(0, k + 1 - strategy_rows(s))
            while start <= k and ts[start] % tf:
                start += 1  # whole candles of its timeframe only
            enter, exit_ = base_aligned_flags(s, frame.iloc[start : k + 1].reset_index(drop=True), BASE_TF)
            signal = signal_from_flags(s.name, symbol, bool(enter[-1]), bool(exit_[-1]), close_ts)
            if signal is not None:
                signals.setdefault(k, []).append(signal)
    return SymbolArrays(
        symbol,
        ts,
        frame["open"].to_numpy(float),
        frame["high"].to_numpy(float),
        frame["low"].to_numpy(float),
        frame["close"].to_numpy(float),
        ts + STEP,
        atr_series(frame) if with_atr else None,
        [s.name for s in strategies],
        signals,
        {s.name: [] for s in strategies},
        {s.name: [] for s in strategies},
    )
