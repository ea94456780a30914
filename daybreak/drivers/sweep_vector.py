"""A parameter search's fastest path: one trial's metrics as array arithmetic, for the sweep
configs whose fills do not depend on the account; the same numbers as
:func:`daybreak.drivers.trials.trial_metrics` of :func:`daybreak.drivers.backtest.run_backtest`.

The house rule allows a speed trick only in a driver, behind a test that pins it to the plain
rule: ``tests/research/test_sweep.py`` compares :func:`vector_metrics` with the engine's trial
metrics (exactly: the same float operations in the same order) over generated parameters and
configs on real candle slices, and checks that it declines (returns None) where it must.

It covers the configs of :func:`daybreak.drivers.sweep.unsupported` (one strategy, one symbol,
market orders, no exit rule, no protection that reads past trades) whose order size is a fixed
``amount`` or ``stake`` (``order_size``, optionally capped by ``max_notional``): no
``equity_fraction`` sizing and no ``max_trade_equity_ratio`` cap, since both read the equity the
previous trades left. Then an entry's amount depends only on its signal candle's close, so the
engine's walk (:mod:`daybreak.drivers.sweep`) becomes:

* the buy signals whose amount the market refuses (``market_limits`` rejections: LOT_SIZE,
  NOTIONAL) are dropped, as the engine skips them;
* the entries are the first buy signal of each run of buys, the exits the first sell signal of
  each run of sells after an entry (merge of the two sorted index lists): flat, the next buy
  counts; holding, the next sell;
* each fills at the next candle's open with the paper fill model (slippage, taker fee), a
  decision on the last candle stays pending, and every sell sells the whole position (the
  entry amount is on the step, so nothing is left as dust).

It declines, and the trial runs :func:`daybreak.drivers.sweep.sweep`, when the account would
change the walk: an entry the cash does not cover (``insufficient_balance``, checked on the
cash sequence the ledger would hold) or an exit the market would refuse (the position below
NOTIONAL at the exit price, which the engine moves to dust).

The metrics follow :func:`daybreak.reporting.metrics.scalar_metrics` formula by formula: the
equity curve is :func:`daybreak.drivers.backtest.equity_values` of the fills, the daily
returns the curve's last value per UTC day (:class:`WindowFacts` maps candles to days once per
window, for every trial), the deepest drawdown ``1 - min(equity / running peak)`` (the largest
``1 - equity / peak`` of :func:`~daybreak.reporting.metrics.drawdown_series`: ``1 - x`` rounds
monotonically), and the other formulas are the metrics module's functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from daybreak.core.brokers import PaperBroker
from daybreak.core.config import Config
from daybreak.core.markets import MarketLimits
from daybreak.core.timeframes import timeframe_ms
from daybreak.drivers.backtest import equity_values
from daybreak.drivers.stepper import SymbolArrays
from daybreak.drivers.wiring import market_limits
from daybreak.reporting.metrics import (
    DAY_MS,
    buy_and_hold_returns,
    cagr,
    exposure_ratio,
    safe_ratio,
    sharpe_ratio,
    sortino_ratio,
    trade_metrics_arrays,
)


@dataclass(frozen=True)
class WindowFacts:
    """What every trial on one window of one symbol shares (:func:`window_facts`).

    ``start`` / ``end``: the run's span (first candle open, last candle close; ms);
    ``day_rows``: for each UTC day from the first candle close's day to the last one's, the index
    of that day's last candle (the previous day's last where a day has none: a gap);
    ``buy_and_hold``: the window's buy-and-hold return ratio."""

    start: int
    end: int
    day_rows: np.ndarray
    buy_and_hold: float


def window_facts(symbol: str, frame: pd.DataFrame, timeframe: str) -> WindowFacts:
    """The :class:`WindowFacts` of the candles ``frame`` of ``symbol`` (the window's rows, at
    least one). The day of a candle is that of its close minus 1 ms, as in
    :func:`daybreak.reporting.metrics.daily_returns`."""
    ts = frame["timestamp"].to_numpy(np.int64)
    step = timeframe_ms(timeframe)
    start, end = int(ts[0]), int(ts[-1]) + step
    days = (ts + step - 1) // DAY_MS
    last = np.flatnonzero(np.r_[days[1:] != days[:-1], True])  # each distinct day's last candle
    full = np.arange(days[0], days[-1] + 1)
    day_rows = last[np.searchsorted(days[last], full, side="right") - 1]
    bh = buy_and_hold_returns({symbol: frame}, start, end)
    return WindowFacts(start, end, day_rows, float(np.mean(list(bh.values()))) if bh else math.nan)


def vector_unsupported(config: Config) -> str | None:
    """Why :func:`vector_metrics` does not implement a sweep config (module docstring), or None."""
    algo = config.enabled_algos()[0]
    risk = config.risk_for(algo)
    if risk.sizing == "equity_fraction":
        return "equity_fraction sizing reads the equity"
    if risk.max_trade_equity_ratio is not None:
        return "max_trade_equity_ratio reads the equity"
    return None


def vector_metrics(config: Config, a: SymbolArrays, facts: WindowFacts) -> dict[str, float] | None:
    """:data:`~daybreak.drivers.trials.TRIAL_METRICS` of ``config`` (one the sweep implements
    and :func:`vector_unsupported` accepts) on the candles and flags ``a`` of one symbol, or None
    when the account would change the walk (module docstring). ``facts``: :func:`window_facts`
    of ``a``."""
    algo, symbol = config.enabled_algos()[0], a.symbol
    limits = market_limits(config)[symbol]
    broker = PaperBroker.for_config(config, {symbol: limits})
    taker = (broker.rates.get(symbol) or (broker.fee_rate, broker.maker_fee_rate))[0]
    paper, risk = config.paper, config.risk_for(algo)
    n = len(a)
    buys = np.asarray(a.buys[algo], dtype=np.int64)
    sells = np.asarray(a.sells[algo], dtype=np.int64)

    # sizing at the signal candle's close (RiskGate.size_entry without the equity), refusals dropped
    signal_price = a.close[buys]
    size = config.size_for(symbol)
    raw = np.full(len(buys), size.amount) if size.amount is not None else size.stake / signal_price
    if risk.max_notional is not None:
        raw = np.minimum(raw, risk.max_notional / signal_price)
    amount = _rounded(limits, raw)
    ok = _accepted(limits, amount, signal_price)
    buys, amount = buys[ok], amount[ok]

    # the walk: the first buy of each run of buys, then the first sell after it, ...
    events = np.concatenate((buys, sells))
    is_sell = np.concatenate((np.zeros(len(buys), bool), np.ones(len(sells), bool)))
    order = np.argsort(events, kind="stable")
    events, is_sell = events[order], is_sell[order]
    first = np.r_[True, is_sell[1:] != is_sell[:-1]] if len(events) else np.zeros(0, bool)
    keep = order[first]
    events, is_sell = events[first], is_sell[first]
    if len(events) and is_sell[0]:
        events, is_sell, keep = events[1:], is_sell[1:], keep[1:]
    entries, exits = events[0::2], events[1::2]
    entry_amount = amount[keep[0::2]]
    if len(entries) and entries[-1] + 1 >= n:  # a buy decided on the last candle stays pending
        entries, entry_amount = entries[:-1], entry_amount[:-1]
    if len(exits) and exits[-1] + 1 >= n:  # a sell decided on the last candle: the position stays open
        exits = exits[:-1]
    closed = len(exits)

    # fills at the next open (core.fills.simulate_fill, market kind)
    move = paper.slippage_bps / 10_000.0
    ref_in = a.open[entries + 1]
    buy_price = ref_in * (1.0 + move)
    buy_fee = taker * entry_amount * buy_price
    ref_out = a.open[exits + 1]
    sell_price = ref_out * (1.0 - move)
    held = entry_amount[:closed]
    if len(held) and not bool(np.all(held * ref_out >= limits.min_notional)):
        return None  # a sell the market refuses: the engine moves the position to dust
    sell_fee = taker * held * sell_price

    # the cash the ledger would hold before each entry (core.ledger.cash_flow, in booking order)
    flows = np.empty(len(entries) + closed)
    flows[0::2] = -(entry_amount * buy_price + buy_fee)
    flows[1::2] = held * sell_price - sell_fee
    cash = np.cumsum(np.r_[paper.starting_balance, flows])
    need = entry_amount * ref_in * (1 + paper.fee_rate + paper.slippage_bps / 1e4)
    if not bool(np.all(need <= cash[0::2][: len(entries)])):
        return None  # an entry the cash does not cover (insufficient_balance)

    # round trips (Ledger.close of a whole position; reporting.result.round_trips' columns)
    pnl = (sell_price - buy_price[:closed]) * held - sell_fee - buy_fee[:closed] + sell_price * 0.0
    entry_time, exit_time = a.timestamp[entries + 1], a.timestamp[exits + 1]
    trips = trade_metrics_arrays(
        0.0 + pnl,
        (0.0 + pnl) / (0.0 + held * buy_price[:closed]),
        (exit_time - entry_time[:closed]).astype(float),
    )

    fills = len(flows)
    ts = np.empty(fills, np.int64)
    ts[0::2], ts[1::2] = entry_time, exit_time
    amounts, prices, fees = np.empty(fills), np.empty(fills), np.empty(fills)
    amounts[0::2], amounts[1::2] = entry_amount, held
    prices[0::2], prices[1::2] = buy_price, sell_price
    fees[0::2], fees[1::2] = buy_fee, sell_fee
    sold = np.zeros(fills, bool)
    sold[1::2] = True
    equity = equity_values({symbol: a}, paper.starting_balance, ts, amounts, prices, fees, sold)[1]
    return _metrics(facts, paper.starting_balance, equity, trips, entry_time, exit_time, fees)


def _metrics(
    facts: WindowFacts,
    balance: float,
    equity: np.ndarray,
    trips: dict,
    entry_time: np.ndarray,
    exit_time: np.ndarray,
    fees: np.ndarray,
) -> dict[str, float]:
    """:func:`~daybreak.reporting.metrics.scalar_metrics`' trial keys from the arrays."""
    curve = np.r_[balance, equity]  # reporting.metrics.equity_curve: the start as the first point
    final = float(curve[-1])
    span = facts.end - facts.start
    days = np.r_[curve[0], curve[1:][facts.day_rows]]
    returns = days[1:] / days[:-1] - 1
    # drawdown_series(curve).max(): every running peak is >= the starting balance > 0, and
    # 1 - x rounds monotonically, so the largest 1 - curve / peak is 1 - the smallest ratio
    drawdown = float(1.0 - (curve / np.maximum.accumulate(curve)).min())
    drawdown = drawdown if drawdown > 0 else 0.0
    total = safe_ratio(final, balance) - 1.0
    growth = cagr(balance, final, span)
    held = list(zip(entry_time[: len(exit_time)].tolist(), exit_time.tolist(), strict=True))
    if len(entry_time) > len(exit_time):  # the open position counts to the end
        held.append((int(entry_time[-1]), facts.end))
    m = {
        "trades": trips["trades"],
        "profit": final - balance,
        "total_return_ratio": total,
        "cagr_ratio": growth,
        "sharpe": sharpe_ratio(returns),
        "sortino": sortino_ratio(returns),
        "calmar": safe_ratio(growth, drawdown),
        "recovery_factor": safe_ratio(total, drawdown),
        "sqn": trips["sqn"],
        "max_drawdown_ratio": drawdown,
        "win_rate": trips["win_rate"],
        "profit_factor": trips["profit_factor"],
        "expectancy_ratio": trips["expectancy_ratio"],
        "exposure_ratio": exposure_ratio(held, facts.start, facts.end),
        "fees_paid": float(sum(fees.tolist())),
        "final_equity": final,
        "buy_and_hold_return_ratio": facts.buy_and_hold,
    }
    return {k: float(v) for k, v in m.items()}


def _rounded(limits: MarketLimits, raw: np.ndarray) -> np.ndarray:
    """:meth:`MarketLimits.round_amount` of each of ``raw`` (once per distinct value)."""
    if not len(raw):
        return raw
    if raw.min() == raw.max():
        return np.full(len(raw), limits.round_amount(float(raw[0])))
    return np.array([limits.round_amount(x) for x in raw.tolist()])


def _accepted(limits: MarketLimits, amount: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Where :meth:`MarketLimits.rejection` of (amount, price) is None: both positive and finite,
    LOT_SIZE ``minQty`` / ``maxQty`` / ``stepSize`` (``amount`` is already rounded to the step,
    which is idempotent) and NOTIONAL ``minNotional``."""
    ok = np.isfinite(amount) & (amount > 0) & np.isfinite(price) & (price > 0) & (amount >= limits.min_amount)
    if limits.max_amount is not None:
        ok &= amount <= limits.max_amount
    return ok & (amount * price >= limits.min_notional)
