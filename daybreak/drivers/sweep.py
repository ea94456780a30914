"""A parameter search's fast path: one trial's backtest as a loop over its signal events, for the
configurations whose rules it implements; the same trades as :func:`daybreak.drivers.backtest.run_backtest`.

The house rule allows a speed trick only in a driver, behind a test that pins it to the plain
rule: ``tests/research/test_sweep.py`` compares :func:`run_sweep` with ``run_backtest`` trade for
trade (prices, amounts, fees, timestamps, ids, exit reasons), rejection for rejection, on the
equity curve and on the trial metrics, over generated parameters and configs on real candles,
on both sides of :func:`unsupported`.

What it implements (:func:`unsupported` returns why a config is outside, and the trial then runs
the plain engine): one strategy on one symbol, market entries and market exits (the strategy's
sell signal), no exit rule (stop-loss, take-profit, trailing, time stop: no exit plan), no
protection that depends on past trades (daily loss, entries per day, loss-streak pause, symbol
cooldown) and position caps of at least one. Within that, the engine's per-candle work reduces
to this, which the loop does with the engine's own pieces (the same
:class:`~daybreak.core.ledger.Ledger`, :class:`~daybreak.core.risk.RiskGate` sizing,
:class:`~daybreak.core.brokers.PaperBroker` fill model, market limits and client order ids):

* flat, the next buy signal (candle k, ``SymbolArrays.buys``) is sized at candle k's close
  (:meth:`~daybreak.core.risk.RiskGate.size_entry`; a refusal is a ``market_limits`` or ``sizing``
  rejection) and fills at candle k+1's open (a ``insufficient_balance`` rejection when the cash
  does not cover it);
* holding, the next sell signal (``SymbolArrays.sells``) sells the position at candle k+1's open,
  rounded to the market (:meth:`~daybreak.core.engine.Engine.sell_amount`, dust as the engine);
* a decision on the last candle stays pending (no fill), as in the engine.

Candles between signal events change nothing here (no exit rule reads them), which is where the
time goes in the engine: a step per event, the risk gate's protections and counters, the sink.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace
from operator import attrgetter

import numpy as np
import pandas as pd

from daybreak.core.brokers import PaperBroker
from daybreak.core.config import Config
from daybreak.core.domain import Action, Event, ExitReason, Order, Signal, Trade, client_order_id
from daybreak.core.exits import make_plan
from daybreak.core.ledger import Ledger
from daybreak.core.risk import Rejection, RiskGate
from daybreak.core.timeframes import timeframe_ms
from daybreak.drivers.backtest import equity_curve
from daybreak.drivers.replay import ReplayData
from daybreak.drivers.stepper import SymbolArrays, arrays_from_flags, needs_atr
from daybreak.drivers.wiring import market_limits
from daybreak.exchange.candle_files import find_gaps
from daybreak.reporting.result import ROUND_TRIP_COLUMNS, BacktestResult, round_trips

_MARKET = "market"


def unsupported(config: Config, symbols: list[str]) -> str | None:
    """Why :func:`run_sweep` does not implement ``config`` on ``symbols`` (one line), or None
    when it does (module docstring)."""
    algos = config.enabled_algos()
    if len(algos) != 1:
        return f"{len(algos)} strategies enabled (the sweep runs one)"
    if len(symbols) != 1:
        return f"{len(symbols)} symbols (the sweep runs one)"
    algo = algos[0]
    if needs_atr(config):
        return "a risk rule reads ATR"
    risk = config.risk_for(algo)
    if make_plan(risk, 1.0, 0, 1.0).active:
        return "exit rules (stop-loss, take-profit, trailing or time stop)"
    if risk.sizing == "risk":
        return "risk sizing"
    for key in ("daily_max_loss_ratio", "max_trades_per_day", "max_consecutive_losses", "symbol_cooldown_seconds"):
        if getattr(risk, key) is not None:
            return f"the protection {key}"
    for key in ("max_open_positions", "max_positions_per_symbol"):
        value = getattr(risk, key)
        if value is not None and value < 1:
            return f"{key} {value}"
    execution = config.execution_for(algo)
    if execution.entry_order != _MARKET or execution.exit_order != _MARKET:
        return f"entry_order {execution.entry_order}, exit_order {execution.exit_order} (the sweep fills at market)"
    return None


def run_sweep(config: Config, data: ReplayData, arrays: dict[str, SymbolArrays]) -> BacktestResult:
    """The backtest of ``config`` on ``data`` (one symbol) from its ``arrays`` (candles and the
    strategy's ``buys`` / ``sells`` indices; ``signals`` is not read): the result
    :func:`~daybreak.drivers.backtest.run_backtest` gives. Raises ValueError when
    :func:`unsupported` names a reason."""
    return sweep(config, data, arrays)[0]


def sweep(config: Config, data: ReplayData, arrays: dict[str, SymbolArrays]) -> tuple[BacktestResult, pd.DataFrame]:
    """:func:`run_sweep` and the result's :func:`~daybreak.reporting.result.round_trips` (equal
    to it: built from the loop's pairs of fills when each sell closed the position it followed,
    by ``round_trips`` otherwise)."""
    reason = unsupported(config, sorted(arrays))
    if reason is not None:
        raise ValueError(f"the sweep does not implement this config: {reason}")
    (symbol, a), algo = next(iter(arrays.items())), config.enabled_algos()[0]
    markets = market_limits(config)
    limits = markets[symbol]
    broker = PaperBroker.for_config(config, markets)
    ledger = Ledger(config.paper.starting_balance, config.mode)
    gate = RiskGate(config, markets)
    paper = config.paper
    buy_cost = 1 + paper.fee_rate + paper.slippage_bps / 1e4
    key = (algo, symbol)
    positions = ledger.positions
    trades: list[Trade] = []
    rejections: list[Event] = []
    prices: dict[str, float] = {}
    buys, sells = a.buys[algo], a.sells[algo]
    close_time, close, opens, stamps = a.close_time, a.close, a.open, a.timestamp
    n, k = len(a), -1
    pairs: list[tuple[Trade, Trade]] = []  # (buy, the sell that closed it)
    paired = True  # every sell closed the position of the buy before it, nothing went to dust
    entry: Trade | None = None

    def reject(timestamp: int, rej: Rejection) -> None:
        event_id = client_order_id(algo, symbol, Action.BUY, timestamp, "reject|" + rej.rule)
        rejections.append(Event(event_id, timestamp, "rejection", rej.message, algo, symbol, rej.rule, rej.data))

    while True:
        held = key in positions
        idx = sells if held else buys
        i = bisect_right(idx, k)
        if i == len(idx):
            break
        k = idx[i]
        ts, price = close_time.item(k), close.item(k)
        prices[symbol] = price
        if held:
            pos = positions[key]
            order = Order(
                client_order_id(algo, symbol, Action.SELL, ts, ""),
                algo,
                symbol,
                Action.SELL,
                pos.amount,
                ts,
                ExitReason.SIGNAL,
                _MARKET,
                None,
                price,
            )
        else:
            size = gate.size_entry(Signal(algo, symbol, Action.BUY, ts), price, None, ledger, prices)
            if isinstance(size, Rejection):
                reject(ts, size)
                continue
            order = Order(
                client_order_id(algo, symbol, Action.BUY, ts, ""),
                algo,
                symbol,
                Action.BUY,
                size,
                ts,
                None,
                _MARKET,
                None,
                price,
            )
        k += 1  # the order fills at the next candle's open
        if k >= n:
            break
        ref, at = opens.item(k), stamps.item(k)
        prices[symbol] = close.item(k)
        if held:
            amount = limits.sell_amount(positions[key].amount, order.amount, ref, ledger.dust.get(symbol, 0.0))
            if amount <= 0:
                ledger.to_dust(key)
                paired = False
            else:
                if amount != order.amount:
                    order = replace(order, amount=amount)
                fill = broker.execute(order, ref, at)
                trade = ledger.close(fill, order.client_order_id, ExitReason.SIGNAL, limits)
                trades.append(trade)
                if entry is None or key in positions or trade.amount < entry.amount:
                    paired = False
                else:
                    pairs.append((entry, trade))
                entry = None
        else:
            cost = order.amount * ref * buy_cost
            if cost > ledger.available:
                reject(
                    at,
                    Rejection(
                        "insufficient_balance",
                        f"needs {cost:.2f}, cash {ledger.available:.2f}",
                        {"cost": cost, "cash": ledger.available},
                    ),
                )
            else:
                fill = broker.execute(order, ref, at)
                entry = ledger.open(fill, order.client_order_id, {"atr": None})
                trades.append(entry)
        k -= 1  # the candle of the fill is also the next one whose signal counts
    step = timeframe_ms(data.timeframe)
    frame = data.frames[symbol]
    trades = sorted(trades, key=attrgetter("timestamp"))  # as run_backtest's result (already in time order)
    result = BacktestResult(
        trades=trades,
        equity=equity_curve(trades, arrays, paper.starting_balance),
        candles=data.frames,
        rejections=rejections,
        gaps={symbol: find_gaps(a.timestamp, data.timeframe)},
        open_positions=[p.copy() for p in positions.values()],
        starting_balance=paper.starting_balance,
        timeframe=data.timeframe,
        start=int(frame["timestamp"].iat[0]),
        end=int(frame["timestamp"].iat[-1]) + step,
        algos=[algo],
        fee_rate=paper.fee_rate,
        slippage_bps=paper.slippage_bps,
        markets=markets,
    )
    trips = _paired_trips(pairs) if paired and pairs else round_trips(trades, markets)
    return result, trips


def _paired_trips(pairs: list[tuple[Trade, Trade]]) -> pd.DataFrame:
    """:func:`~daybreak.reporting.result.round_trips` of round trips of one buy and one sell of at
    least its amount each, in time order: the same float operations per row as its ``_Open``
    (sums from 0.0, then the ratios), column by column."""
    buys, sells = [b for b, _ in pairs], [s for _, s in pairs]
    b_amount = np.array([t.amount for t in buys])
    b_price = np.array([t.price for t in buys])
    s_amount = np.array([t.amount for t in sells])
    s_price = np.array([t.price for t in sells])
    entry_time = np.array([t.timestamp for t in buys], dtype=np.int64)
    exit_time = np.array([t.timestamp for t in sells], dtype=np.int64)
    bought, buy_cost = 0.0 + b_amount, 0.0 + b_amount * b_price
    sold, sell_value = 0.0 + s_amount, 0.0 + s_amount * s_price
    pnl = 0.0 + np.array([t.pnl or 0.0 for t in sells])
    fees = (0.0 + np.array([t.fee for t in buys])) + np.array([t.fee for t in sells])
    columns = {
        "algo": [t.algo for t in sells],
        "symbol": [t.symbol for t in sells],
        "entry_time": entry_time,
        "exit_time": exit_time,
        "entry_price": buy_cost / bought,
        "exit_price": sell_value / sold,
        "amount": bought,
        "pnl": pnl,
        "return_ratio": pnl / buy_cost,
        "duration_ms": exit_time - entry_time,
        "fees": fees,
        "exit_reason": [t.exit_reason for t in sells],
        "entry_order_id": [t.order_id for t in buys],
        "exit_order_id": [t.order_id for t in sells],
        "entry_order_type": [t.order_type for t in buys],
        "exit_order_type": [t.order_type for t in sells],
    }
    return pd.DataFrame({c: columns[c] for c in ROUND_TRIP_COLUMNS})


def sweep_arrays(
    symbol: str,
    frame: pd.DataFrame,
    base_tf: str,
    names: list[str],
    flags: list[tuple[np.ndarray, np.ndarray]],
) -> SymbolArrays:
    """:func:`~daybreak.drivers.stepper.arrays_from_flags` without the per-candle ``signals``
    (empty: :func:`run_sweep` reads ``buys`` and ``sells`` only) and without ATR (a config that
    reads it is :func:`unsupported`): the same ``buys`` / ``sells`` and candle arrays."""
    return arrays_from_flags(symbol, frame, base_tf, names, flags, None, with_signals=False)
