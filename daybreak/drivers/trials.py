"""One trial of a parameter search: a point of the search space backtested on a time window, with
the work that trials share done once per worker.

Every trial is the real backtest (:func:`daybreak.drivers.backtest.run_backtest`: the same engine,
fees, slippage, market limits, risk and exit rules). What is shared, per :class:`TrialRunner`
(one per worker process):

* the candle files, loaded once (the runner holds the :class:`~daybreak.drivers.replay.ReplayData`);
* each indicator of one input and window, computed once (:mod:`strategies.memo`);
* each parameter combination's signals, computed once over the whole history and cut to the
  window a trial runs on (a train span, a test span, a walk-forward fold). Row t of a strategy's
  signals depends only on rows <= t (the registry-wide no-look-ahead tests), so the cut equals a
  run that starts at the window with the warm-up a live bot would have had, and nothing of the
  window's future leaks into it.

A config the sweep kernel implements (:func:`daybreak.drivers.sweep.unsupported` is None) runs
through :func:`daybreak.drivers.sweep.run_sweep` instead of the engine, with the same result
(pinned by ``tests/research/test_sweep.py``), and its trial metrics, where the account cannot
change the fills (:func:`daybreak.drivers.sweep_vector.vector_unsupported` is None too), come
from :func:`daybreak.drivers.sweep_vector.vector_metrics` without building the trades (pinned
by the same tests); ``fast_path=False`` (``bot.py optimize --no-fast-path``) runs every trial
through the engine.

Metrics are :func:`daybreak.reporting.metrics.scalar_metrics`, reduced to :data:`TRIAL_METRICS`.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from daybreak.core.config import Config, ConfigError
from daybreak.core.search_space import apply_patch, config_patch
from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import ReplayData, strategies_for
from daybreak.drivers.stepper import (
    SymbolArrays,
    arrays_from_flags,
    atr_series,
    base_aligned_flags,
    needs_atr,
    window_arrays,
)
from daybreak.drivers.sweep import sweep, sweep_arrays, unsupported
from daybreak.drivers.sweep_vector import WindowFacts, vector_metrics, vector_unsupported, window_facts
from daybreak.ops.config_file import parse_config
from daybreak.reporting.metrics import scalar_metrics
from daybreak.reporting.result import BacktestResult
from strategies.memo import IndicatorMemo, use_memo

TRIAL_METRICS = (
    "trades",
    "profit",
    "total_return_ratio",
    "cagr_ratio",
    "sharpe",
    "sortino",
    "calmar",
    "recovery_factor",
    "sqn",
    "max_drawdown_ratio",
    "win_rate",
    "profit_factor",
    "expectancy_ratio",
    "exposure_ratio",
    "fees_paid",
    "final_equity",
    "buy_and_hold_return_ratio",
)
"""The metrics stored with every trial (keys of :func:`~daybreak.reporting.metrics.compute_metrics`)."""

SIGNAL_CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Window:
    """A time window ``[start, end)`` in UTC epoch ms of the candle open; None: open-ended."""

    start: int | None = None
    end: int | None = None

    def bounds(self, timestamps: np.ndarray) -> tuple[int, int]:
        """Index range of the candles of ``timestamps`` (ascending ms) inside the window."""
        lo = 0 if self.start is None else int(np.searchsorted(timestamps, self.start, side="left"))
        hi = len(timestamps) if self.end is None else int(np.searchsorted(timestamps, self.end, side="left"))
        return lo, hi


@dataclass
class TrialOutcome:
    """What a worker sends back: the metrics per window name, or why the point is infeasible."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    infeasible: str | None = None


def search_config(raw_config: dict, strategy: str, symbols: list[str]) -> dict:
    """``raw_config`` (decoded config.json) for searching ``strategy`` alone on ``symbols``:
    ``algos`` = {strategy: True}, ``symbols`` = the data's, ``order_size`` keys of other symbols dropped."""
    out = apply_patch(raw_config, {}, only=strategy)
    out["symbols"] = list(symbols)
    sizes = out.get("order_size")
    if isinstance(sizes, dict):
        out["order_size"] = {k: v for k, v in sizes.items() if k == "default" or k in symbols}
    return out


class TrialRunner:
    """Backtests points of a search space for one strategy on one data set (see the module docstring).

    ``raw_config``: the decoded config.json the search starts from (:func:`search_config` is applied);
    ``point``: ``{dimension key: value}`` (:mod:`daybreak.core.search_space`), fixed values included;
    ``fast_path``: run the configs the sweep kernel implements through it (module docstring).
    """

    def __init__(
        self,
        raw_config: dict,
        strategy: str,
        data: ReplayData,
        memo_bytes: int | None = None,
        fast_path: bool = True,
    ):
        self.strategy = strategy
        self.fast_path = fast_path
        self.data = data
        self.raw_config = search_config(raw_config, strategy, sorted(data.frames))
        self.memo = IndicatorMemo(memo_bytes) if memo_bytes else IndicatorMemo()
        self._signals: OrderedDict[str, dict[str, SymbolArrays]] = OrderedDict()
        self._signal_bytes = 0
        self._atr: dict[str, np.ndarray] = {}
        self._stamps = {s: f["timestamp"].to_numpy(np.int64) for s, f in data.frames.items()}
        self._facts: dict[tuple[str, int, int], WindowFacts] = {}

    # -- building ----------------------------------------------------------------------------
    def config_for(self, point: dict) -> Config:
        """The validated config of ``point``. Raises ConfigError when the point is not a valid
        config (e.g. a short window not below the long one)."""
        patch = config_patch(self.strategy, self.raw_config, point)
        return parse_config(apply_patch(self.raw_config, patch, only=self.strategy), "trial")

    def full_arrays(self, config: Config, lean: bool = False) -> dict[str, SymbolArrays]:
        """Each symbol's candles and signals over the whole history for ``config``'s strategy
        (remembered per parameter combination, least recently used dropped past
        :data:`SIGNAL_CACHE_BYTES`). ``lean``: the sweep kernel's arrays
        (:func:`~daybreak.drivers.sweep.sweep_arrays`: no per-candle signals, no ATR)."""
        with_atr = needs_atr(config) and not lean
        key = json.dumps([config.params.get(self.strategy), with_atr, lean], sort_keys=True, default=str)
        found = self._signals.get(key)
        if found is not None:
            self._signals.move_to_end(key)
            return found
        strategies = strategies_for(config)
        tf = self.data.timeframe
        out = {}
        with use_memo(self.memo):
            for sym, frame in self.data.frames.items():
                flags = [base_aligned_flags(s, frame, tf) for s in strategies]
                if lean:
                    out[sym] = sweep_arrays(sym, frame, tf, [s.name for s in strategies], flags)
                    continue
                atr = self._atr_of(sym) if with_atr else None
                out[sym] = arrays_from_flags(sym, frame, tf, [s.name for s in strategies], flags, atr)
        size = _signal_bytes(out)
        self._signals[key] = out
        self._signal_bytes += size
        while self._signal_bytes > SIGNAL_CACHE_BYTES and len(self._signals) > 1:
            _, old = self._signals.popitem(last=False)
            self._signal_bytes -= _signal_bytes(old)
        return out

    def _atr_of(self, symbol: str) -> np.ndarray:
        if symbol not in self._atr:
            self._atr[symbol] = atr_series(self.data.frames[symbol])
        return self._atr[symbol]

    # -- running -----------------------------------------------------------------------------
    def run(self, point: dict, window: Window = Window()) -> BacktestResult:
        """The backtest of ``point`` on ``window``. Raises ConfigError for an infeasible point and
        ValueError when the window holds no candle."""
        config = self.config_for(point)
        return self._run(config, window)

    def uses_sweep(self, config: Config) -> bool:
        """Whether a trial of ``config`` runs through the sweep kernel (module docstring)."""
        return self.fast_path and unsupported(config, sorted(self.data.frames)) is None

    def uses_vector(self, config: Config) -> bool:
        """Whether a trial of ``config`` may score through :func:`~daybreak.drivers.sweep_vector.vector_metrics`
        (which still declines a trial whose account would change the fills)."""
        return self.uses_sweep(config) and vector_unsupported(config) is None

    def _run(self, config: Config, window: Window) -> BacktestResult:
        return self._run_trips(config, window)[0]

    def _run_trips(self, config: Config, window: Window) -> tuple[BacktestResult, pd.DataFrame | None]:
        """The backtest and, from the sweep kernel, its round trips (None: not computed yet)."""
        fast = self.uses_sweep(config)
        full = self.full_arrays(config, lean=fast)
        frames, arrays = {}, {}
        for sym, frame in self.data.frames.items():
            lo, hi = window.bounds(self._stamps[sym])
            if hi > lo:
                frames[sym] = frame.iloc[lo:hi]
                arrays[sym] = window_arrays(full[sym], lo, hi)
        if not frames:
            raise ValueError(f"no candles in the window {window}")
        if fast:
            return sweep(config, ReplayData(frames, self.data.timeframe), arrays)
        return run_backtest(config, ReplayData(frames, self.data.timeframe), progress=False, arrays=arrays), None

    def evaluate(self, point: dict, windows: dict[str, Window]) -> TrialOutcome:
        """:data:`TRIAL_METRICS` of ``point`` on each named window; infeasible (with the reason)
        when the point is not a valid config."""
        try:
            config = self.config_for(point)
        except ConfigError as err:
            return TrialOutcome(infeasible=str(err))
        return TrialOutcome({name: self._metrics(config, w) for name, w in windows.items()})

    def _metrics(self, config: Config, window: Window) -> dict[str, float]:
        """:data:`TRIAL_METRICS` of ``config`` on ``window``: from the vectorised fills where they
        apply and the trial does not decline, else from the backtest."""
        if self.uses_vector(config):
            (sym, stamps), full = next(iter(self._stamps.items())), self.full_arrays(config, lean=True)
            lo, hi = window.bounds(stamps)
            if hi > lo:
                found = vector_metrics(config, window_arrays(full[sym], lo, hi), self._facts_of(sym, lo, hi))
                if found is not None:
                    return found
        return trial_metrics(*self._run_trips(config, window))

    def _facts_of(self, symbol: str, lo: int, hi: int) -> WindowFacts:
        key = (symbol, lo, hi)
        if key not in self._facts:
            self._facts[key] = window_facts(symbol, self.data.frames[symbol].iloc[lo:hi], self.data.timeframe)
        return self._facts[key]


def trial_metrics(result: BacktestResult, trips: pd.DataFrame | None = None) -> dict[str, float]:
    """:data:`TRIAL_METRICS` of a backtest as plain floats (nan where undefined); ``trips``: its
    :func:`~daybreak.reporting.result.round_trips` when known."""
    m = scalar_metrics(result, trips)
    return {k: float(m[k]) if m[k] is not None else math.nan for k in TRIAL_METRICS}


def _signal_bytes(arrays: dict) -> int:
    """About what one combination's cached signals hold: a Signal object (~120 bytes) per
    flagged candle and strategy, and 8 bytes per buy and sell index."""
    return sum(
        120 * sum(map(len, a.signals.values())) + 8 * (sum(map(len, a.buys.values())) + sum(map(len, a.sells.values())))
        for a in arrays.values()
    )
