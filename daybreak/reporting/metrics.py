"""Backtest report metrics: one function per formula, :func:`compute_metrics` puts them together.

Every formula is stated in its function's docstring and in ``docs/backtest-metrics.md``.
Conventions: ratios are fractions (``0.05`` = 5 %), money is quote currency, timestamps are UTC
epoch ms, durations ms. A value that is undefined (no trades, fewer than two daily returns, 0/0)
is ``nan``; a positive number divided by zero (profit factor with no losing trade, Calmar with no
drawdown) is ``inf``. The JSON writer turns ``nan`` into ``null`` and ``inf`` into ``"inf"``.
A trade is a closed round trip (:func:`daybreak.backtest_result.round_trips`); a win is a round
trip with ``pnl > 0``, a loss one with ``pnl <= 0`` (the rule of :mod:`daybreak.reporting.stats`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from daybreak.reporting.costs import (
    cost_comparison,
    fees_by_order_type,
    slippage_by_strategy,
)
from daybreak.reporting.result import BacktestResult, round_trips

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
PERIODS_PER_YEAR = 365
"""Daily returns are annualised by sqrt(365): crypto spot trades every calendar day."""
SQN_TRADES_CAP = 100
"""Van Tharp caps N at 100 in SQN so that many trades do not inflate the score."""


def safe_ratio(num: float, den: float) -> float:
    """``num / den``; when ``den == 0``: ``inf`` (num > 0), ``-inf`` (num < 0), ``nan`` (num == 0)."""
    if den == 0 or math.isnan(den):
        if math.isnan(num) or math.isnan(den) or num == 0:
            return math.nan
        return math.inf if num > 0 else -math.inf
    return num / den


def equity_curve(result: BacktestResult) -> pd.DataFrame:
    """The equity curve with the starting balance as its first point.

    Columns ``timestamp`` (ms) and ``equity`` (quote). The first row is ``(result.start,
    result.starting_balance)``, followed by ``result.equity`` (one row per base candle close),
    so that a loss on the very first candle counts as drawdown.
    """
    head = pd.DataFrame({"timestamp": [int(result.start)], "equity": [float(result.starting_balance)]})
    out = pd.concat([head, result.equity[["timestamp", "equity"]]], ignore_index=True)
    return out.astype({"timestamp": "int64", "equity": "float64"})


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    """Drawdown depth at each point: ``1 - equity / running_max(equity)`` (0 at a new high)."""
    equity = np.asarray(equity, dtype=float)
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, 1.0 - equity / peak, 0.0)


def max_drawdown(timestamps: np.ndarray, equity: np.ndarray) -> dict:
    """The deepest drawdown of an equity curve.

    ``max_drawdown_ratio`` = max over t of ``1 - equity_t / max(equity_0..t)`` (a fraction, 0
    when equity never fell below a previous high). ``max_drawdown_start``: the timestamp of the
    peak it fell from (the last time equity stood at that peak before the trough);
    ``max_drawdown_trough``: the timestamp of the lowest point; ``max_drawdown_end``: the first
    timestamp after the trough at which equity is back at the peak, ``None`` if it never
    recovered; ``max_drawdown_duration_ms`` = end (or the last timestamp if not recovered) - start.
    All timestamps ``None`` and duration 0 when there is no drawdown.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    eq = np.asarray(equity, dtype=float)
    dd = drawdown_series(eq)
    none = {
        "max_drawdown_ratio": 0.0,
        "max_drawdown_start": None,
        "max_drawdown_trough": None,
        "max_drawdown_end": None,
        "max_drawdown_duration_ms": 0,
    }
    if len(eq) == 0 or dd.max() <= 0:
        return none
    trough = int(np.argmax(dd))
    peak_value = np.maximum.accumulate(eq)[trough]
    start = int(np.flatnonzero(eq[: trough + 1] >= peak_value)[-1])
    after = np.flatnonzero(eq[trough:] >= peak_value)
    end = int(after[0]) + trough if len(after) else None
    return {
        "max_drawdown_ratio": float(dd[trough]),
        "max_drawdown_start": int(ts[start]),
        "max_drawdown_trough": int(ts[trough]),
        "max_drawdown_end": int(ts[end]) if end is not None else None,
        "max_drawdown_duration_ms": int(ts[end if end is not None else -1] - ts[start]),
    }


def daily_returns(curve: pd.DataFrame) -> pd.Series:
    """Per-day simple returns of an equity curve (:func:`equity_curve` shape), UTC days.

    The equity of a day is the last candle-close equity of that day (a candle closing exactly at
    00:00 belongs to the day before); days without candles carry the previous day's equity.
    The day before the first candle closes at the starting balance (the curve's first row).
    ``r_d = equity_d / equity_{d-1} - 1``, indexed by day number (ms // 86,400,000).
    """
    ts = curve["timestamp"].to_numpy(np.int64)
    eq = curve["equity"].to_numpy(float)
    if len(ts) < 2:
        return pd.Series(dtype=float)
    days = (ts[1:] - 1) // DAY_MS
    last = pd.Series(eq[1:]).groupby(days).last()
    full = last.reindex(range(int(days.min()), int(days.max()) + 1)).ffill()
    baseline = pd.Series([eq[0]], index=[int(days.min()) - 1])
    return pd.concat([baseline, full]).pct_change().iloc[1:]


def sharpe_ratio(returns: pd.Series) -> float:
    """Annualised Sharpe ratio of daily returns, risk-free rate 0:
    ``mean(r) / std(r, ddof=1) * sqrt(365)``; ``nan`` with fewer than two returns."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return math.nan
    return safe_ratio(float(r.mean()), float(r.std(ddof=1))) * math.sqrt(PERIODS_PER_YEAR)


def sortino_ratio(returns: pd.Series) -> float:
    """Annualised Sortino ratio of daily returns, target 0:
    ``mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(365)`` (downside deviation over *all* days);
    ``nan`` with fewer than two returns, ``inf`` when no day lost and the mean is positive."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return safe_ratio(float(r.mean()), downside) * math.sqrt(PERIODS_PER_YEAR)


def cagr(start_equity: float, end_equity: float, span_ms: int) -> float:
    """Compound annual growth rate over calendar time:
    ``(end_equity / start_equity) ** (365 days / span) - 1``; -1 when equity reached 0 or below,
    ``nan`` for an empty span. Short spans extrapolate hard (1 % in a day is ~37x a year; ``inf``
    once the result no longer fits a float)."""
    if span_ms <= 0 or start_equity <= 0:
        return math.nan
    if end_equity <= 0:
        return -1.0
    try:
        return (end_equity / start_equity) ** (YEAR_MS / span_ms) - 1.0
    except OverflowError:
        return math.inf


def sqn(returns: pd.Series) -> float:
    """Van Tharp's System Quality Number with R = per-trade ``return_ratio``:
    ``sqrt(min(N, 100)) * mean(R) / std(R, ddof=1)``; ``nan`` with fewer than two trades."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return math.nan
    return math.sqrt(min(len(r), SQN_TRADES_CAP)) * safe_ratio(float(r.mean()), float(r.std(ddof=1)))


def buy_and_hold_returns(candles: dict[str, pd.DataFrame], start: int, end: int) -> dict[str, float]:
    """Per symbol: ``last close / first open - 1`` over the candles opening in ``[start, end)``."""
    out: dict[str, float] = {}
    for symbol, frame in sorted(candles.items()):
        ts = frame["timestamp"].to_numpy(np.int64)
        inside = frame[(ts >= start) & (ts < end)]
        if len(inside):
            out[symbol] = float(inside["close"].iloc[-1] / inside["open"].iloc[0] - 1.0)
    return out


def exposure_ratio(intervals: list[tuple[int, int]], start: int, end: int) -> float:
    """Time in market: the length of the union of holding intervals ``[entry, exit)`` (clipped to
    the run) divided by ``end - start``; ``nan`` for an empty span."""
    if end <= start:
        return math.nan
    covered, reach = 0, start
    for a, b in sorted((max(a, start), min(b, end)) for a, b in intervals):
        if b > reach:
            covered += b - max(a, reach)
            reach = b
    return covered / (end - start)


def trade_metrics(trips: pd.DataFrame) -> dict:
    """Round-trip statistics (``pnl`` quote, ``return_ratio`` fraction per trade).

    ``trades`` N; ``wins`` (pnl > 0), ``losses`` (pnl <= 0); ``win_rate`` = wins / N;
    ``avg_win``/``avg_loss`` mean pnl of wins / losses, ``avg_win_ratio``/``avg_loss_ratio`` their
    mean return_ratio; ``best_trade_ratio``/``worst_trade_ratio`` max/min return_ratio,
    ``best_trade_pnl``/``worst_trade_pnl`` max/min pnl; ``gross_profit`` = sum of positive pnl,
    ``gross_loss`` = sum of negative pnl (<= 0); ``profit_factor`` = gross_profit / |gross_loss|;
    ``expectancy`` = mean pnl, ``expectancy_ratio`` = mean return_ratio; ``sqn`` (see :func:`sqn`);
    ``avg_duration_ms`` mean holding time.
    """
    return trade_metrics_arrays(
        trips["pnl"].to_numpy(float), trips["return_ratio"].to_numpy(float), trips["duration_ms"].to_numpy(float)
    )


def trade_metrics_arrays(pnl: np.ndarray, ret: np.ndarray, duration: np.ndarray) -> dict:
    """:func:`trade_metrics` of the round trips' ``pnl`` (quote), ``return_ratio`` and
    ``duration_ms`` columns as float arrays."""
    win = pnl > 0

    def mean(x: np.ndarray) -> float:
        return float(x.mean()) if len(x) else math.nan

    gross_profit, gross_loss = float(pnl[pnl > 0].sum()), float(pnl[pnl < 0].sum())
    return {
        "trades": len(pnl),
        "wins": int(win.sum()),
        "losses": int((~win).sum()),
        "win_rate": safe_ratio(float(win.sum()), len(pnl)),
        "avg_win": mean(pnl[win]),
        "avg_loss": mean(pnl[~win]),
        "avg_win_ratio": mean(ret[win]),
        "avg_loss_ratio": mean(ret[~win]),
        "best_trade_ratio": float(ret.max()) if len(ret) else math.nan,
        "worst_trade_ratio": float(ret.min()) if len(ret) else math.nan,
        "best_trade_pnl": float(pnl.max()) if len(pnl) else math.nan,
        "worst_trade_pnl": float(pnl.min()) if len(pnl) else math.nan,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": safe_ratio(gross_profit, -gross_loss),
        "expectancy": mean(pnl),
        "expectancy_ratio": mean(ret),
        "sqn": sqn(ret),
        "avg_duration_ms": mean(duration),
    }


def breakdown(trips: pd.DataFrame, by: str, keys: Iterable[str] = ()) -> list[dict]:
    """One row per value of column ``by`` (``symbol``, ``algo`` or ``exit_reason``), listing
    ``keys`` even without trades: ``trades``, ``wins``, ``win_rate`` (wins / trades), ``pnl``
    (quote, sum), ``avg_return_ratio`` (mean return_ratio), ``fees`` (quote, sum)."""
    rows = []
    values = list(dict.fromkeys([*keys, *sorted(trips[by].dropna().unique())]))
    for value in values:
        sub = trips[trips[by] == value]
        wins = int((sub["pnl"] > 0).sum())
        rows.append(
            {
                by: value,
                "trades": len(sub),
                "wins": wins,
                "win_rate": safe_ratio(wins, len(sub)),
                "pnl": float(sub["pnl"].sum()),
                "avg_return_ratio": float(sub["return_ratio"].mean()) if len(sub) else math.nan,
                "fees": float(sub["fees"].sum()),
            }
        )
    return rows


def open_position_rows(result: BacktestResult) -> list[dict]:
    """Positions left open, marked at the last close of their symbol:
    ``unrealized_pnl = amount * (mark_price - entry_price) - entry_fee`` (quote; no exit fee, the
    way the equity curve marks them), ``unrealized_ratio`` = unrealized_pnl / (amount * entry_price)."""
    rows = []
    for p in result.open_positions:
        frame = result.candles.get(p.symbol)
        mark = float(frame["close"].iloc[-1]) if frame is not None and len(frame) else math.nan
        upnl = p.amount * (mark - p.entry_price) - p.entry_fee
        rows.append(
            {
                "algo": p.algo,
                "symbol": p.symbol,
                "amount": p.amount,
                "entry_price": p.entry_price,
                "entry_timestamp": p.entry_timestamp,
                "mark_price": mark,
                "unrealized_pnl": upnl,
                "unrealized_ratio": safe_ratio(upnl, p.amount * p.entry_price),
            }
        )
    return rows


def scalar_metrics(result: BacktestResult, trips: pd.DataFrame | None = None) -> dict:
    """The scalar metrics of :func:`compute_metrics` (no tables): what a parameter search scores
    each trial with, so a trial costs no breakdown it never reads. ``trips``: the result's
    :func:`~daybreak.reporting.result.round_trips` when already computed."""
    trips = round_trips(result.trades, result.markets) if trips is None else trips
    curve = equity_curve(result)
    final = float(curve["equity"].iloc[-1])
    span = int(result.end - result.start)
    bh = buy_and_hold_returns(result.candles, result.start, result.end)
    m: dict = {
        "start": int(result.start),
        "end": int(result.end),
        "timeframe": result.timeframe,
        "symbols": sorted(result.candles),
        "algos": list(result.algos),
        "starting_balance": float(result.starting_balance),
        "final_equity": final,
        "fee_rate": float(result.fee_rate),
        "slippage_bps": float(result.slippage_bps),
        "candles": len(result.equity),
        "profit": final - result.starting_balance,
        "total_return_ratio": safe_ratio(final, result.starting_balance) - 1.0,
        "cagr_ratio": cagr(result.starting_balance, final, span),
        "buy_and_hold_return_ratio": float(np.mean(list(bh.values()))) if bh else math.nan,
        "realized_pnl": float(sum(t.pnl or 0.0 for t in result.trades)),
    }
    m.update(trade_metrics(trips))
    m.update(max_drawdown(curve["timestamp"].to_numpy(), curve["equity"].to_numpy()))
    days = daily_returns(curve)
    m["sharpe"], m["sortino"] = sharpe_ratio(days), sortino_ratio(days)
    m["calmar"] = safe_ratio(m["cagr_ratio"], m["max_drawdown_ratio"])
    m["recovery_factor"] = safe_ratio(m["total_return_ratio"], m["max_drawdown_ratio"])
    held = list(zip(trips["entry_time"].tolist(), trips["exit_time"].tolist(), strict=True))
    held += [(p.entry_timestamp, result.end) for p in result.open_positions]
    m["exposure_ratio"] = exposure_ratio(held, result.start, result.end)
    m["fees_paid"] = float(sum(t.fee for t in result.trades))
    m["fees_to_gross_profit_ratio"] = safe_ratio(m["fees_paid"], m["gross_profit"])
    return m


def compute_metrics(result: BacktestResult, market_only: dict | None = None) -> dict:
    """All report metrics of a backtest as a JSON-friendly dict (keys in docs/backtest-metrics.md).

    Scalars (:func:`scalar_metrics`): run facts (``start``, ``end``, ``timeframe``, ``symbols``,
    ``algos``, ``starting_balance``, ``final_equity``, ``fee_rate``, ``slippage_bps``, ``candles``),
    returns (``profit`` = final - starting equity, ``total_return_ratio`` = final / starting - 1,
    ``cagr_ratio``, ``buy_and_hold_return_ratio`` = equal-weight mean over symbols of
    :func:`buy_and_hold_returns`, ``realized_pnl`` = sum of every sell's pnl), :func:`trade_metrics`,
    :func:`max_drawdown`, ``sharpe``/``sortino`` (:func:`daily_returns`), ``calmar`` =
    cagr_ratio / max_drawdown_ratio, ``recovery_factor`` = total_return_ratio / max_drawdown_ratio,
    ``exposure_ratio`` (:func:`exposure_ratio`), ``fees_paid`` (quote, every fill) and
    ``fees_to_gross_profit_ratio`` = fees_paid / gross_profit.
    Tables (lists of dicts): ``by_symbol``, ``by_strategy``, ``by_exit_reason``
    (:func:`breakdown`), ``open_positions`` (:func:`open_position_rows`); ``rejections``
    {rule: count}; ``gaps`` [{symbol, first, last, missing}]; execution costs
    (:mod:`daybreak.reporting.costs`): ``fees_by_order_type``, ``slippage_by_strategy``, and with
    ``market_only`` (the metrics of the same run with market-only execution) ``market_only``
    {fees_paid, profit, trades}, ``fee_saving`` and ``profit_difference``.
    """
    trips = round_trips(result.trades, result.markets)
    m = scalar_metrics(result, trips)
    bh = buy_and_hold_returns(result.candles, result.start, result.end)
    m["by_symbol"] = breakdown(trips, "symbol", m["symbols"])
    for row in m["by_symbol"]:
        row["buy_and_hold_return_ratio"] = bh.get(row["symbol"], math.nan)
    m["by_strategy"] = breakdown(trips, "algo", m["algos"])
    m["by_exit_reason"] = breakdown(trips, "exit_reason")
    m["open_positions"] = open_position_rows(result)
    counts = Counter(e.rule or e.kind for e in result.rejections)
    m["rejections"] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    m["gaps"] = [
        {"symbol": s, "first": int(a), "last": int(b), "missing": int(n)}
        for s, spans in sorted(result.gaps.items())
        for a, b, n in spans
    ]
    m["fees_by_order_type"] = fees_by_order_type(result.trades)
    m["slippage_by_strategy"] = slippage_by_strategy(result.trades, m["algos"])
    m.update(cost_comparison(m["fees_paid"], m["profit"], m["trades"], market_only))
    return m
