"""Performance of a running bot from what its store holds: equity curves (realized, and marked to
market from stored prices), P&L per strategy over time, open positions with their unrealized P&L.

Pure functions on domain records and frames (no storage access): the dashboard reads the store
and hands the rows in. Units: money in quote currency, amounts in base, timestamps UTC epoch
ms, ratios as fractions. Cash rules are the ledger's (:mod:`daybreak.core.ledger`): a buy pays
``amount * price + fee``, a sell receives ``amount * price - fee``; realized P&L is on the sells.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from daybreak.core.domain import Position, Trade
from daybreak.reporting.metrics import drawdown_series, safe_ratio
from daybreak.reporting.result import round_trips

CANDLE_MS = 60_000
"""Stored prices are 1m candles keyed by their open; a close is known one minute later."""

CURVE_COLUMNS = ("timestamp", "equity", "drawdown_ratio")


def _curve(ts: np.ndarray, equity: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": ts.astype(np.int64), "equity": equity.astype(float), "drawdown_ratio": drawdown_series(equity)}
    )


def realized_curve(trades: Iterable[Trade], start_ms: int, start_equity: float) -> pd.DataFrame:
    """Equity counting realized P&L only: ``start_equity`` at ``start_ms``, then one point per
    closing trade (``equity = start_equity + cumulative pnl``), oldest first.

    Columns :data:`CURVE_COLUMNS`: ``timestamp`` ms, ``equity`` quote, ``drawdown_ratio`` =
    ``1 - equity / running max`` (:func:`daybreak.reporting.metrics.drawdown_series`)."""
    closes = sorted(((t.timestamp, t.pnl) for t in trades if t.pnl is not None), key=lambda x: x[0])
    ts = np.array([start_ms] + [c[0] for c in closes], dtype=np.int64)
    equity = start_equity + np.concatenate([[0.0], np.cumsum([c[1] for c in closes])])
    return _curve(ts, equity)


def cash_flow(t: Trade) -> float:
    """Cash moved by one fill (quote): ``-(cost + fee)`` for a buy, ``cost - fee`` for a sell."""
    cost = t.amount * t.price
    return cost - t.fee if t.action == "sell" else -(cost + t.fee)


def marked_curve(
    trades: list[Trade],
    marks: Mapping[str, pd.DataFrame],
    end_cash: float,
    end_holdings: Mapping[str, float],
    start_ms: int,
    end_ms: int,
) -> pd.DataFrame:
    """Equity marked to market over ``[start_ms, end_ms]``: cash plus every holding at its
    symbol's latest known price, at each price mark and each fill.

    ``trades``: the fills in the window (any order); ``marks``: symbol -> frame with
    ``timestamp`` (candle open, ms) and ``price`` (its close), valid from ``timestamp +``
    :data:`CANDLE_MS`; ``end_cash`` / ``end_holdings`` (symbol -> base amount): the account at
    ``end_ms`` (the bot's status row and its open positions). The account at ``start_ms`` is
    rebuilt backwards: cash minus the window's cash flows (:func:`cash_flow`), holdings minus
    the window's net amounts. A fill's own price marks its symbol at that moment; a mark from
    before ``start_ms`` (the last price known then) marks from the start; without one, a holding is
    marked at the first price seen in the window.
    Columns :data:`CURVE_COLUMNS`, oldest first, ``start_ms`` first.
    """
    window = sorted((t for t in trades if start_ms <= t.timestamp <= end_ms), key=lambda t: t.timestamp)
    symbols = sorted(set(end_holdings) | {t.symbol for t in window})
    cash0 = end_cash - sum(cash_flow(t) for t in window)
    times = {start_ms, end_ms} | {t.timestamp for t in window}
    for sym in symbols:
        m = marks.get(sym)
        if m is not None and len(m):
            at = m["timestamp"].to_numpy(np.int64) + CANDLE_MS
            times.update(at[(at >= start_ms) & (at <= end_ms)].tolist())
    grid = pd.DataFrame({"timestamp": np.array(sorted(times), dtype=np.int64)})
    flows = pd.DataFrame({"timestamp": [t.timestamp for t in window], "flow": [cash_flow(t) for t in window]})
    cash = cash0 + _cumulative_at(grid, flows, "flow")
    value = np.zeros(len(grid))
    for sym in symbols:
        mine = [t for t in window if t.symbol == sym]
        net = pd.DataFrame(
            {
                "timestamp": [t.timestamp for t in mine],
                "net": [t.amount if t.action == "buy" else -t.amount for t in mine],
            }
        )
        held0 = float(end_holdings.get(sym, 0.0)) - float(net["net"].sum())
        held = held0 + _cumulative_at(grid, net, "net")
        held[np.abs(held) < 1e-12] = 0.0
        value += np.nan_to_num(held * _price_at(grid, marks.get(sym), mine), nan=0.0)
    return _curve(grid["timestamp"].to_numpy(), cash + value)


def _cumulative_at(grid: pd.DataFrame, events: pd.DataFrame, column: str) -> np.ndarray:
    """Sum of ``events[column]`` at or before each grid time."""
    if events.empty:
        return np.zeros(len(grid))
    summed = events.groupby("timestamp", as_index=False)[column].sum().sort_values("timestamp")
    summed[column] = summed[column].cumsum()
    got = pd.merge_asof(grid, summed.astype({"timestamp": np.int64}), on="timestamp", direction="backward")
    return got[column].fillna(0.0).to_numpy(float)


def _price_at(grid: pd.DataFrame, marks: pd.DataFrame | None, fills: list[Trade]) -> np.ndarray:
    """The latest known price of one symbol at each grid time (marks and fills; at the same
    moment a fill's price wins), back-filled before the first one."""
    parts = []
    if marks is not None and len(marks):
        parts.append(
            pd.DataFrame(
                {
                    "timestamp": marks["timestamp"].to_numpy(np.int64) + CANDLE_MS,
                    "price": marks["price"].to_numpy(float),
                }
            )
        )
    parts.append(pd.DataFrame({"timestamp": [t.timestamp for t in fills], "price": [t.price for t in fills]}))
    known = pd.concat(parts, ignore_index=True).dropna()
    if known.empty:
        return np.full(len(grid), np.nan)
    known = known.astype({"timestamp": np.int64}).sort_values("timestamp", kind="stable")
    known["timestamp"] = known["timestamp"].clip(lower=int(grid["timestamp"].iat[0]))
    known = known.drop_duplicates("timestamp", keep="last")
    got = pd.merge_asof(grid, known, on="timestamp", direction="backward")["price"]
    return got.bfill().to_numpy(float)


def window_round_trips(
    trades: list[Trade], since: int | None, earlier: Callable[[str, str], list[Trade]]
) -> pd.DataFrame:
    """Round trips (:func:`daybreak.reporting.result.round_trips`, same columns) closed by the
    fills ``trades`` of a time window starting at ``since`` (ms; None: all history).

    A position opened before the window and closed in it has its sells in ``trades`` but not its
    buy: for each such (strategy, symbol), ``earlier(algo, symbol)`` returns the fills before the
    window, newest first, and they are taken back to the buy that opened it. Sells whose opening
    buy is not found there are left out (not guessed). Only round trips that exit at or after
    ``since`` are returned.
    """
    groups: dict[tuple[str, str], list[Trade]] = {}
    for t in sorted(trades, key=lambda t: t.timestamp):
        groups.setdefault((t.algo, t.symbol), []).append(t)
    paired: list[Trade] = []
    for (algo, symbol), mine in groups.items():
        if since is not None and _closes_nothing(mine):
            mine = _with_opening(mine, earlier(algo, symbol))
        paired += mine
    trips = round_trips(paired)
    return trips if since is None else trips[trips["exit_time"] >= since].reset_index(drop=True)


def _closes_nothing(fills: list[Trade]) -> bool:
    """True when a sell of ``fills`` (one strategy and symbol, oldest first) finds no open
    position: :func:`~daybreak.reporting.result.round_trips` would refuse it."""
    held = bought = 0.0
    for t in fills:
        if t.action == "buy":
            if held <= 0.0:
                bought = 0.0
            held += t.amount
            bought += t.amount
        else:
            if held <= 0.0:
                return True
            held -= t.amount
            if held <= 1e-9 * bought:
                held = 0.0
    return False


def _with_opening(mine: list[Trade], earlier: list[Trade]) -> list[Trade]:
    """``mine`` (one strategy and symbol, oldest first) preceded by the earlier fills back to the
    buy that opened the position its first sells close; without that buy, those sells dropped
    (and the whole group when it still does not pair: inconsistent records are not guessed at)."""
    taken: list[Trade] = []
    for t in earlier:
        taken.append(t)
        if t.action == "buy" and not _closes_nothing(taken[::-1] + mine):
            return taken[::-1] + mine
    first_buy = next((i for i, t in enumerate(mine) if t.action == "buy"), len(mine))
    rest = mine[first_buy:]
    return rest if not _closes_nothing(rest) else []


def thin(curve: pd.DataFrame, max_points: int = 2000) -> pd.DataFrame:
    """At most about ``max_points`` rows for a chart: per time bucket the last row plus the row of
    the deepest drawdown, so the worst point stays visible. Short curves are returned as they are."""
    if len(curve) <= max_points:
        return curve
    bucket = np.arange(len(curve)) * (max_points // 2) // len(curve)
    last = curve.groupby(bucket).tail(1)
    deepest = curve.loc[curve.groupby(bucket)["drawdown_ratio"].idxmax()]
    return pd.concat([last, deepest]).drop_duplicates().sort_values("timestamp", kind="stable").reset_index(drop=True)


def thin_steps(frame: pd.DataFrame, by: str, max_points: int = 300) -> pd.DataFrame:
    """At most about ``max_points`` rows per ``by`` group of a step curve sorted by ``timestamp``:
    per time bucket (of the whole frame's span) each group's first and last row, so a step line
    keeps its level at every bucket's edges. Short groups are returned as they are."""
    if frame.empty or frame.groupby(by).size().max() <= max_points:
        return frame
    ts = frame["timestamp"].to_numpy(np.int64)
    span = max(int(ts.max() - ts.min()), 1)
    bucket = (ts - ts.min()) * (max_points // 2) // span
    keys = [frame[by].to_numpy(), bucket]
    grouped = frame.groupby(keys, sort=False)
    return pd.concat([grouped.head(1), grouped.tail(1)]).drop_duplicates().sort_index(kind="stable")


def cumulative_pnl(trades: Iterable[Trade], start_ms: int) -> pd.DataFrame:
    """Realized P&L per strategy over time: ``timestamp``, ``algo``, ``pnl`` (cumulative within
    the window, quote), one row per closing trade plus a zero row at ``start_ms`` per strategy."""
    rows = sorted(((t.timestamp, t.algo, t.pnl) for t in trades if t.pnl is not None), key=lambda r: r[0])
    frame = pd.DataFrame(rows, columns=["timestamp", "algo", "pnl"]).astype({"pnl": "float64"})
    heads = pd.DataFrame({"timestamp": start_ms, "algo": sorted(frame["algo"].unique()), "pnl": 0.0})
    frame = pd.concat([heads, frame], ignore_index=True) if len(frame) else frame
    frame["pnl"] = frame.groupby("algo")["pnl"].cumsum()
    return frame.astype({"timestamp": np.int64})


POSITION_COLUMNS = (
    "algo",
    "symbol",
    "amount",
    "entry_price",
    "entry_time",
    "last_price",
    "unrealized_pnl",
    "unrealized_ratio",
    "stop_price",
    "time_in_trade_ms",
)


def position_rows(positions: Iterable[Position], last_price: Mapping[str, float | None], now_ms: int) -> pd.DataFrame:
    """Open positions marked at ``last_price`` (symbol -> newest stored price): columns
    :data:`POSITION_COLUMNS`. ``unrealized_pnl = amount * (last_price - entry_price) - entry_fee``
    (quote; the entry fee still to be charged, no exit fee: the backtest report's rule,
    :func:`daybreak.reporting.metrics.open_position_rows`); ``unrealized_ratio`` = that /
    (amount * entry_price); ``time_in_trade_ms`` = ``now_ms - entry_timestamp``. NaN without a price."""
    rows = []
    for p in positions:
        last = last_price.get(p.symbol)
        mark = math.nan if last is None else float(last)
        upnl = p.amount * (mark - p.entry_price) - p.entry_fee
        rows.append(
            {
                "algo": p.algo,
                "symbol": p.symbol,
                "amount": p.amount,
                "entry_price": p.entry_price,
                "entry_time": p.entry_timestamp,
                "last_price": mark,
                "unrealized_pnl": upnl,
                "unrealized_ratio": safe_ratio(upnl, p.amount * p.entry_price) if last is not None else math.nan,
                "stop_price": math.nan if p.stop_price is None else p.stop_price,
                "time_in_trade_ms": max(0, now_ms - p.entry_timestamp),
            }
        )
    return pd.DataFrame(rows, columns=list(POSITION_COLUMNS))


def holdings(positions: Iterable[Position]) -> dict[str, float]:
    """Base amount held per symbol over every strategy's open position."""
    out: dict[str, float] = {}
    for p in positions:
        out[p.symbol] = out.get(p.symbol, 0.0) + p.amount
    return out
