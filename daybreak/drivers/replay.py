"""Replay: the bot loop on recorded candle files, driven by a simulated clock.

Every closed base candle of every symbol is processed in time order (symbols in alphabetical
order within one timestamp) through the same stepper, engine, storage, external-signal and
control code as live. Candles the store already acted on (per-symbol cursor) only warm up the
indicators, so a replay stopped mid-way and started again never duplicates a trade.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak.core.config import Config, ConfigError
from daybreak.core.engine import Engine
from daybreak.core.timeframes import timeframe_ms
from daybreak.drivers.services import INBOX_SECONDS, RunContext
from daybreak.drivers.sink import StoreSink
from daybreak.drivers.stepper import Stepper, build_arrays, needs_atr
from daybreak.exchange.candle_files import CandleFile, read_candles
from storage.records import PriceRecord
from strategies import registry
from strategies.base import BaseStrategy

log = logging.getLogger("daybreak")
HEARTBEAT_SECONDS = 1.0


@dataclass
class ReplayData:
    """Base candles per symbol and the base timeframe."""

    frames: dict[str, pd.DataFrame]
    timeframe: str


def load_files(
    paths: list[str | Path], config: Config, start_ms: int | None = None, end_ms: int | None = None
) -> ReplayData:
    """Read candle files (one symbol each, one timeframe for all). Raises CandleFileError / ConfigError."""
    files: list[CandleFile] = [read_candles(p, start_ms, end_ms) for p in paths]
    if not files:
        raise ConfigError("no candle files given")
    tfs = {f.timeframe for f in files}
    if len(tfs) != 1:
        raise ConfigError(f"candle files mix timeframes {sorted(tfs)}; give one base timeframe (5m is built from 1m)")
    frames: dict[str, pd.DataFrame] = {}
    for f in files:
        if f.symbol in frames:
            raise ConfigError(f"{f.path}: symbol {f.symbol} given twice")
        if f.symbol not in config.symbols:
            raise ConfigError(f"{f.path}: symbol {f.symbol} is not in config symbols {config.symbols}")
        frames[f.symbol] = f.frame
    return ReplayData(frames, tfs.pop())


def strategies_for(config: Config) -> list[BaseStrategy]:
    """Instances of the enabled strategies with their configured params."""
    return [registry.get(name)(registry.params_for(name, config.params.get(name))) for name in config.enabled_algos()]


def make_stepper(engine: Engine, config: Config, data: ReplayData) -> Stepper:
    """The stepper of ``config``'s enabled strategies over ``data`` (replay and backtest alike).

    Raises ConfigError when a strategy's timeframe is finer than the candle files'."""
    strategies = strategies_for(config)
    for s in strategies:
        if timeframe_ms(s.timeframe) < timeframe_ms(data.timeframe):
            raise ConfigError(
                f"params.{s.name}.timeframe = {s.timeframe!r}: finer than the candle files ({data.timeframe})"
            )
    atr = needs_atr(config)
    arrays = {sym: build_arrays(sym, df, data.timeframe, strategies, atr) for sym, df in data.frames.items()}
    return Stepper(engine, arrays, [s.name for s in strategies])


def build_stepper(ctx: RunContext, data: ReplayData) -> Stepper:
    return make_stepper(ctx.engine, ctx.config, data)


def event_order(stepper: Stepper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (close time, symbol index, candle index) in processing order."""
    syms = sorted(stepper.arrays)
    close = np.concatenate([stepper.arrays[s].close_time for s in syms])
    sym_idx = np.concatenate([np.full(len(stepper.arrays[s]), i) for i, s in enumerate(syms)])
    k = np.concatenate([np.arange(len(stepper.arrays[s])) for s in syms])
    order = np.lexsort((sym_idx, close))
    return close[order], sym_idx[order], k[order]


def run_replay(
    ctx: RunContext,
    data: ReplayData,
    pace_seconds: float = 0.0,
    should_stop: Callable[[], bool] = lambda: False,
    retention_ms: int | None = None,
) -> int:
    """Replay ``data`` through the bot. Returns the number of candles acted on.

    While storage fails, the replay goes on with new entries paused (exits still run) and every
    write kept in the sink's backlog, retried once a second."""
    stepper = build_stepper(ctx, data)
    ctx.inbox_seconds = ctx.inbox_scan_seconds = INBOX_SECONDS
    ctx.simulated_clock = True
    ctx.run_kind = "replay"
    volumes = {s: f["volume"].to_numpy(float) for s, f in data.frames.items()}  # stored with each candle
    syms = sorted(stepper.arrays)
    cursors = {s: ctx.cursor(s) for s in syms}
    close, sym_idx, ks = event_order(stepper)
    acted, last_beat, last_retry = 0, 0.0, 0.0
    pending_ids: set[tuple[str, float | None]] = set()
    for close_ts, si, k in zip(close.tolist(), sym_idx.tolist(), ks.tolist(), strict=True):
        if should_stop():
            log.info("replay stopped at %s", pd.Timestamp(close_ts, unit="ms", tz="UTC"))
            break
        sym = syms[si]
        if close_ts <= cursors[sym]:
            continue
        if ctx.reload_config():
            stepper = build_stepper(ctx, data)
        a = stepper.arrays[sym]
        sink = ctx.engine.sink
        if isinstance(sink, StoreSink) and sink.backlog and time.monotonic() - last_retry >= HEARTBEAT_SECONDS:
            sink.retry_backlog()  # storage failing: retried once a second, not per candle
            last_retry = time.monotonic()
        stepper.step(sym, k)
        prices = ctx.engine.last_price
        ctx.process_external(close_ts, prices)
        ctx.process_controls(close_ts, prices)
        if ctx.alerts.on:
            ctx.watch(close_ts)
        expiry = (close_ts + retention_ms) // 1000 if retention_ms else None
        ctx.put_prices(
            [
                PriceRecord(
                    sym,
                    int(a.timestamp[k]),
                    float(a.close[k]),
                    float(a.open[k]),
                    float(a.high[k]),
                    float(a.low[k]),
                    float(volumes[sym][k]),
                    expiry,
                )
            ]
        )
        ids = {(o.client_order_id, o.price) for o in ctx.engine.pending.values()}  # a re-priced resting order too
        if ids != pending_ids:
            ctx.save_pending()
            pending_ids = ids
        ctx.set_cursor(sym, close_ts)
        cursors[sym] = close_ts
        acted += 1
        now = time.monotonic()
        if now - last_beat >= HEARTBEAT_SECONDS:
            ctx.heartbeat(close_ts)
            last_beat = now
        if pace_seconds:
            time.sleep(pace_seconds)
    if len(close):
        ctx.heartbeat(int(close[-1]))
    return acted
