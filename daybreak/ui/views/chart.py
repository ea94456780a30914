"""Chart: candles of one symbol from the stored 1m prices, with volume, the chosen strategy's own
indicator columns as its ``populate`` computes them, entries and exits marked with their reasons,
and the entry and stop levels of open positions.

The window ends at the symbol's newest stored price (a finished replay still shows its data).
Candles are resampled (:func:`daybreak.core.timeframes.resample`) to the finest timeframe that
keeps the window under :data:`MAX_CANDLES`; indicators are computed on the strategy's own
timeframe with its warm-up read before the window, then shown at the chart's resolution (last
value per candle). Indicator columns whose values sit in the price range are drawn over the
candles, others in panels below. At most :data:`MAX_MARKERS` fills are marked (the newest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from daybreak.core.domain import Trade
from daybreak.core.timeframes import CANDLE_COLUMNS, resample, timeframe_ms
from daybreak.reporting.charts import chart_timeframe
from daybreak.ui import charts, data
from daybreak.ui.context import PageContext
from daybreak.ui.fmt import utc
from daybreak.ui.views.common import refresh_every, storage_down, store_key
from storage import StorageError
from strategies import registry

WINDOWS = {"6 h": 6 * 3_600_000, "24 h": 86_400_000, "3 d": 3 * 86_400_000, "7 d": 7 * 86_400_000}
MAX_CANDLES = 500
MAX_MARKERS = 400
MAX_WARMUP_MS = 3 * 86_400_000
NONE = "(none)"
_NOT_INDICATORS = set(CANDLE_COLUMNS) | {"enter_long", "exit_long"}


def render(ctx: PageContext | None) -> None:
    st.header("Chart")
    key = store_key(ctx)
    if ctx is None or key is None:  # store_key said why (ctx None: it gives no key)
        return
    try:
        symbols = data.price_symbols(key)
    except StorageError as err:
        storage_down(ctx, err)
        return
    if not symbols:
        st.caption("No prices stored yet.")
        return
    c = st.columns([1.2, 1.5, 1.6])
    symbol = c[0].selectbox("Symbol", symbols, key="chart_symbol")
    algos = list(dict.fromkeys([*ctx.config.enabled_algos(), *registry.names()]))
    algo = c[1].selectbox(
        "Strategy (indicators, fills)", [NONE, *algos], key="chart_algo", index=1 if ctx.config.enabled_algos() else 0
    )
    window = c[2].segmented_control("Window", list(WINDOWS), default="24 h", key="chart_window") or "24 h"
    st.fragment(run_every=refresh_every(ctx, 60))(_body)(ctx, key, symbol, None if algo == NONE else algo, window)


def _body(ctx: PageContext, key: str, symbol: str, algo: str | None, window: str) -> None:
    try:
        newest = data.last_prices(key, (symbol,)).get(symbol)
        if newest is None:
            st.caption(f"No prices stored for {symbol}.")
            return
        end = newest[0]
        since = end - WINDOWS[window]
        strategy = registry.build(algo, ctx.config.params.get(algo)) if algo else None
        warm = 0 if strategy is None else min(MAX_WARMUP_MS, (strategy.warmup + 2) * timeframe_ms(strategy.timeframe))
        raw = complete(data.candles(key, symbol, since - warm, end))
        fills = data.trades(key, since=since, until=end + 60_000, symbol=symbol, algo=algo)
        positions = [p for p in data.positions(key) if p.symbol == symbol and (algo is None or p.algo == algo)]
    except StorageError as err:
        storage_down(ctx, err)
        return
    shown_tf = chart_timeframe("1m", WINDOWS[window], MAX_CANDLES)
    bars = resample(raw[raw["timestamp"] >= since].reset_index(drop=True), shown_tf, "1m")
    overlays, note = pd.DataFrame(columns=["timestamp", "indicator", "value"]), ""
    panels: dict = {}
    if strategy is not None:
        try:
            overlays, panels = indicators(strategy, raw, since, shown_tf)
        except (ValueError, KeyError) as err:
            note = f"Indicators of {algo} could not be computed on the stored prices: {err}"
    markers = marker_frame(fills)
    levels = pd.DataFrame(
        [
            row
            for p in positions
            for row in [{"level": f"{p.algo} entry", "price": p.entry_price}]
            + ([{"level": f"{p.algo} stop", "price": p.stop_price}] if p.stop_price else [])
        ],
        columns=["level", "price"],
    )
    st.altair_chart(
        charts.candle_chart(bars, overlays, markers.tail(MAX_MARKERS), levels, symbol, ctx.quote), width="stretch"
    )
    chosen = (
        st.multiselect("Indicator panels", list(panels), default=list(panels)[:2], key="chart_panels") if panels else []
    )
    for name in chosen:
        st.altair_chart(charts.indicator_panel(panels[name], name), width="stretch")
    shown_markers = min(len(markers), MAX_MARKERS)
    st.caption(
        f"{len(bars)} candles of {shown_tf} from {utc(since)} to {utc(end + 60_000)}; "
        f"{shown_markers} fills marked"
        + (f" (newest {MAX_MARKERS} of {len(markers)})" if len(markers) > MAX_MARKERS else "")
        + (f"; indicators of {algo} on {strategy.timeframe} candles" if strategy is not None else "")
    )
    if note:
        st.warning(note)


def complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored prices as full candles: a record with only a close gets open = high = low = close
    and volume 0 (older stores)."""
    out = frame.copy()
    for col in ("open", "high", "low"):
        out[col] = out[col].fillna(out["close"])
    out["volume"] = out["volume"].fillna(0.0)
    return out[CANDLE_COLUMNS]


def indicators(strategy, candles: pd.DataFrame, since: int, shown_tf: str) -> tuple[pd.DataFrame, dict]:
    """``(overlays, panels)`` of ``strategy`` on 1m ``candles``: overlays (``timestamp``,
    ``indicator``, ``value``) are the numeric columns of its ``populate`` whose median lies within
    half to twice the median close; panels map every other numeric column to a (``timestamp``,
    ``value``) frame. Values are taken at the close of each ``shown_tf`` candle from ``since``."""
    frame = resample(candles, strategy.timeframe, "1m")
    populated = strategy.signals(frame)
    cols = [
        c
        for c in populated.columns
        if c not in _NOT_INDICATORS
        and pd.api.types.is_numeric_dtype(populated[c])
        and not pd.api.types.is_bool_dtype(populated[c])
    ]
    step = timeframe_ms(shown_tf)
    populated = populated[populated["timestamp"] >= since]
    bucket = populated["timestamp"].to_numpy(np.int64)
    bucket = bucket - bucket % step
    last = populated.groupby(bucket).tail(1).assign(timestamp=lambda d: d["timestamp"] - d["timestamp"] % step)
    mid = float(np.nanmedian(populated["close"])) if len(populated) else np.nan
    overlays, panels = [], {}
    for col in cols:
        values = last[["timestamp", col]].rename(columns={col: "value"}).dropna()
        if values.empty:
            continue
        level = float(np.nanmedian(values["value"]))
        if mid > 0 and 0.5 * mid <= level <= 2 * mid:
            overlays.append(values.assign(indicator=col))
        else:
            panels[col] = values
    over = (
        pd.concat(overlays, ignore_index=True)
        if overlays
        else pd.DataFrame(columns=["timestamp", "indicator", "value"])
    )
    return over, panels


def marker_frame(fills: list[Trade]) -> pd.DataFrame:
    """One marker per fill, oldest first: ``timestamp``, ``price``, ``action``, ``algo``,
    ``amount``, ``reason`` (the exit reason of a sell, ``entry`` for a buy), ``pnl``."""
    rows = [
        {
            "timestamp": t.timestamp,
            "price": t.price,
            "action": t.action.value,
            "algo": t.algo,
            "amount": t.amount,
            "reason": t.exit_reason.value if t.exit_reason else "entry",
            "pnl": t.pnl,
        }
        for t in fills
    ]
    frame = pd.DataFrame(rows, columns=["timestamp", "price", "action", "algo", "amount", "reason", "pnl"])
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
