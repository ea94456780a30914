"""Backtest: the live rules on history, fast.

Same strategy ``populate``, :class:`~daybreak.stepper.Stepper` step, engine, fill model, market
limits, risk gate and accounting as replay and live; the only difference is that the driver
fast-forwards over candles where nothing can happen. A candle of a symbol is processed when

* a strategy flags a signal on it,
* an order of that symbol is pending (it fills at this candle's open), or
* an open position's exit rules may fire on it (:func:`daybreak.exits.first_candidate`, exact
  and conservative, confirmed by the same walk replay uses).

Between processed candles only the high-water mark of open positions with exit rules moves; it
is brought up to date (the max of the skipped highs) before the next step, exactly as walking them
would. A signal that cannot do anything (a buy while the strategy holds the symbol, a sell while
it is flat) is skipped too: the state that decides this only changes in the steps of that symbol.
The parity test checks trade-for-trade equality with ``bot.py run --replay``.
"""

from __future__ import annotations

import heapq
import sys
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from operator import attrgetter

import numpy as np
import pandas as pd
from tqdm import tqdm

from daybreak.core.config import Config
from daybreak.core.domain import Trade
from daybreak.core.engine import Engine, ListSink, PaperBroker
from daybreak.core.exits import first_candidate
from daybreak.core.timeframes import timeframe_ms
from daybreak.drivers.replay import ReplayData, make_stepper
from daybreak.drivers.stepper import Stepper, SymbolArrays
from daybreak.drivers.wiring import market_limits
from daybreak.exchange.candle_files import find_gaps
from daybreak.reporting.result import BacktestResult


def run_backtest(
    config: Config, data: ReplayData, progress: bool | None = None, arrays: dict[str, SymbolArrays] | None = None
) -> BacktestResult:
    """Backtest the enabled strategies of ``config`` on ``data``. Raises ConfigError.

    ``arrays``: the symbols' candles and signals already built for exactly these strategies and
    candles (a parameter search reuses them across trials, :mod:`daybreak.drivers.trials`); built
    from ``data`` when None."""
    sink = ListSink()
    markets = market_limits(config)
    engine = Engine(config, markets, PaperBroker.for_config(config, markets), sink)
    stepper = make_stepper(engine, config, data) if arrays is None else Stepper(engine, arrays, config.enabled_algos())
    _drive(stepper, progress)
    return _result(config, data, engine, sink, stepper.algos, stepper.arrays)


def _drive(stepper: Stepper, progress: bool | None) -> None:
    """Step every symbol's event candles in processing order: close time, then symbol order."""
    engine, arrays, rank = stepper.engine, stepper.arrays, stepper.order
    plans = engine.plans
    last_seen = {s: -1 for s in arrays}
    heap = []
    for sym, a in arrays.items():
        k = _next_event(engine, a, -1)
        if k is not None:
            heap.append((a.close_time.item(k), rank[sym], sym, k))
    heapq.heapify(heap)
    bar = _progress_bar(sum(len(a) for a in arrays.values()), progress)
    while heap:
        _, r, sym, k = heapq.heappop(heap)
        a, last = arrays[sym], last_seen[sym]
        while True:  # this symbol's events until another symbol's event comes first
            if k - last > 1 and plans:
                _catch_up(engine, a, last + 1, k)
            stepper.step(sym, k)
            if bar is not None:
                bar.update(k - last)
            last = k
            k = _next_event(engine, a, k)
            if k is None:
                break
            if heap and heap[0] < (t := a.close_time.item(k), r):
                heapq.heappush(heap, (t, r, sym, k))
                break
        last_seen[sym] = last
    if bar is not None:
        bar.close()


def _catch_up(engine: Engine, a: SymbolArrays, start: int, stop: int) -> None:
    """Raise the high-water mark of ``a.symbol``'s positions with exit rules to the highest high of
    the skipped candles ``start .. stop - 1``: what walking them would have done (they cannot exit
    there, :func:`~daybreak.exits.first_candidate`)."""
    plans = engine.plans
    held = [p for p in engine.ledger.open_positions(a.symbol) if p.key in plans]
    if held:
        skipped_high = a.high[start:stop].max().item()
        for pos in held:
            pos.high_watermark = max(pos.high_watermark, skipped_high)


def _next_event(engine: Engine, a: SymbolArrays, k: int) -> int | None:
    """The next candle of ``a.symbol`` after ``k`` where something can happen, given the state
    after candle ``k`` (which only changes in this symbol's steps): a pending order's fill, a
    signal that is not a no-op (a buy while flat, a sell while holding), or an exit candidate.
    None when there is none."""
    sym, n = a.symbol, len(a.timestamp)
    for key in engine.pending:
        if key[1] == sym:
            return k + 1 if k + 1 < n else None
    positions, nxt = engine.ledger.positions, None
    for algo in a.algos:
        idx = a.sells[algo] if (algo, sym) in positions else a.buys[algo]
        i = bisect_right(idx, k)
        if i < len(idx) and (nxt is None or idx[i] < nxt):
            nxt = idx[i]
    if not engine.plans:
        return nxt
    stop = (nxt if nxt is not None else n - 1) + 1
    for pos, plan in engine.planned(sym):
        j = first_candidate(
            pos,
            plan,
            a.high[k + 1 : stop],
            a.low[k + 1 : stop],
            a.close_time[k + 1 : stop],
            a.timestamp[k + 1 : stop] if plan.tp_ease_ms is not None else None,
        )
        if j is not None and (nxt is None or k + 1 + j < nxt):
            nxt = k + 1 + j
    return nxt


def _progress_bar(total: int, progress: bool | None):
    if progress is False or (progress is None and not sys.stderr.isatty()) or total < 200_000:
        return None
    return tqdm(total=total, unit="candle", unit_scale=True, desc="backtest", leave=False)


def equity_curve(trades: Sequence[Trade], arrays: Mapping[str, SymbolArrays], starting_balance: float) -> pd.DataFrame:
    """Cash plus holdings marked at each close, on the union of base candle close times.

    ``arrays``: symbol -> object with ``close_time`` (ms, ascending) and ``close`` arrays (e.g.
    :class:`~daybreak.stepper.SymbolArrays`). A trade counts from the first close at or after its
    timestamp. Columns: timestamp (ms), equity.
    """
    # one pass over the trades; timestamps (ms < 2**53) are exact as floats
    rows = np.array(
        [x for t in trades for x in (t.timestamp, t.amount, t.price, t.fee, t.action == "sell")], dtype=float
    ).reshape(-1, 5)
    symbols = np.array([t.symbol for t in trades], dtype=object) if len(arrays) > 1 else None
    grid, equity = equity_values(
        arrays,
        starting_balance,
        rows[:, 0].astype(np.int64),
        rows[:, 1],
        rows[:, 2],
        rows[:, 3],
        rows[:, 4] == 1.0,
        symbols,
    )
    return pd.DataFrame({"timestamp": grid, "equity": equity}, copy=False)


def equity_values(
    arrays: Mapping[str, SymbolArrays],
    starting_balance: float,
    ts: np.ndarray,
    amount: np.ndarray,
    price: np.ndarray,
    fee: np.ndarray,
    is_sell: np.ndarray,
    symbols: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`equity_curve` of fills given as arrays in booking order: ``ts`` (ms), ``amount``
    (base), ``price`` and ``fee`` (quote), ``is_sell``; ``symbols`` (object array) when
    ``arrays`` holds more than one symbol. Returns (grid of close times in ms, equity in quote)."""
    times = [a.close_time for a in arrays.values()]
    grid = times[0] if len(times) == 1 else _sorted_union(times)
    n = len(grid)
    sign = np.where(is_sell, 1.0, -1.0)
    cash_delta = amount * price * sign - fee
    pos = np.searchsorted(grid, ts, side="left")
    equity = _running_sum(pos, cash_delta, n)  # cash, in place from here on
    equity += starting_balance
    for sym, a in arrays.items():
        mask = np.ones(len(ts), bool) if symbols is None else symbols == sym
        if not mask.any():
            continue
        delta = amount[mask] * -sign[mask]
        held = _running_sum(pos[mask], delta, n)
        if grid is a.close_time:  # one symbol: the grid is its own close times
            held *= a.close
        else:
            idx = np.searchsorted(a.close_time, grid, side="right") - 1
            held *= np.where(idx >= 0, a.close[np.maximum(idx, 0)], 0.0)
        equity += held
    return grid, equity


def _running_sum(pos: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Cumulative sum over ``n`` grid points of ``weights`` added at grid positions ``pos``.

    Summed per distinct position in input order, then cumulated over the distinct positions and
    spread over the grid: the same float additions as a cumulative sum over the whole grid (adding
    the zeros in between changes nothing), with work in the number of trades, not of candles."""
    at, inverse = np.unique(pos, return_inverse=True)
    values = np.cumsum(np.bincount(inverse, weights=weights, minlength=len(at)))
    at = at[at < n]  # grid positions past the end (none: trades fall on the grid) are dropped
    lengths = np.diff(at, prepend=0, append=n)
    return np.repeat(np.concatenate(([0.0], values[: len(at)])), lengths)


def _result(
    config: Config, data: ReplayData, engine: Engine, sink: ListSink, algos: list[str], arrays: dict[str, SymbolArrays]
) -> BacktestResult:
    step = timeframe_ms(data.timeframe)
    trades = sorted(sink.trades, key=attrgetter("timestamp"))
    start = min(int(df["timestamp"].iat[0]) for df in data.frames.values() if len(df))
    end = max(int(df["timestamp"].iat[-1]) for df in data.frames.values() if len(df)) + step
    return BacktestResult(
        trades=trades,
        equity=equity_curve(trades, arrays, config.paper.starting_balance),
        candles=data.frames,
        rejections=sink.rejections,
        gaps={s: find_gaps(a.timestamp, data.timeframe) for s, a in arrays.items()},
        open_positions=[p.copy() for p in engine.ledger.positions.values()],
        starting_balance=config.paper.starting_balance,
        timeframe=data.timeframe,
        start=start,
        end=end,
        algos=algos,
        fee_rate=config.paper.fee_rate,
        slippage_bps=config.paper.slippage_bps,
        markets=engine.markets,
    )


def _sorted_union(arrays: list[np.ndarray]) -> np.ndarray:
    """Union of sorted int arrays (sorting beats np.unique's hashing on candle times)."""
    a = np.sort(np.concatenate(arrays), kind="stable")
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a
