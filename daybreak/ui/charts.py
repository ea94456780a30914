"""Price chart: stored prices of one symbol as an Altair line, with buy and sell markers at the
fill time and price of each stored trade.

Frames: prices ``time`` (tz-aware UTC, candle open), ``when`` (the same as UTC text, for
tooltips whatever the browser's timezone) and ``price`` (close, quote per base); markers
``time``, ``when``, ``price``, ``action`` (``buy``|``sell``), ``strategy``, ``amount``, ``pnl``.
Long histories are thinned to at most :data:`MAX_POINTS` line points (the last price of each
time bucket) so the browser stays fast; markers are never thinned.
"""
from __future__ import annotations

from collections.abc import Iterable

import altair as alt
import pandas as pd
import streamlit as st

from daybreak.core.domain import Trade
from storage.records import PriceRecord

MAX_POINTS = 2000
WINDOWS = {"6 h": 6 * 3600_000, "24 h": 86_400_000, "3 d": 3 * 86_400_000, "7 d": 7 * 86_400_000, "All": None}
COLORS = {"buy": "#1a9850", "sell": "#d73027"}
SHAPES = {"buy": "triangle-up", "sell": "triangle-down"}


def price_frame(prices: Iterable[PriceRecord], max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Prices as ``time``/``price``, thinned to at most ``max_points`` rows (last of each bucket)."""
    frame = pd.DataFrame([(p.timestamp, p.price) for p in prices], columns=["timestamp", "price"])
    if len(frame) > max_points:
        bucket = (frame.index.to_series() * max_points // len(frame)).to_numpy()
        frame = frame.groupby(bucket).last().reset_index(drop=True)
    frame["time"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
    frame["when"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M")
    return frame[["time", "when", "price"]]


def marker_frame(trades: Iterable[Trade], since: int | None = None) -> pd.DataFrame:
    """Buy and sell markers of ``trades`` at or after ``since`` (ms)."""
    rows = [{"timestamp": t.timestamp, "price": t.price, "action": t.action, "strategy": t.algo,
             "amount": t.amount, "pnl": t.pnl} for t in trades if since is None or t.timestamp >= since]
    frame = pd.DataFrame(rows, columns=["timestamp", "price", "action", "strategy", "amount", "pnl"])
    frame["time"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
    frame["when"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame.drop(columns="timestamp")


def price_chart(prices: pd.DataFrame, markers: pd.DataFrame, symbol: str) -> alt.LayerChart:
    """The layered chart: price line plus buy (green up) and sell (red down) triangles."""
    x = alt.X("time:T", title="time (UTC)", scale=alt.Scale(type="utc"),
              axis=alt.Axis(format="%b %d %H:%M", labelAngle=0, labelOverlap=True))  # utc scale: UTC labels
    y = alt.Y("price:Q", title=f"{symbol} price", scale=alt.Scale(zero=False))
    line = alt.Chart(prices).mark_line(strokeWidth=1.2, color="#4c78a8").encode(
        x=x, y=y, tooltip=[alt.Tooltip("when:N", title="time (UTC)"),
                           alt.Tooltip("price:Q", format=",.6g")])
    domain = list(COLORS)
    points = alt.Chart(markers).mark_point(filled=True, size=140, opacity=0.95).encode(
        x=x, y=y,
        color=alt.Color("action:N", scale=alt.Scale(domain=domain, range=[COLORS[a] for a in domain]),
                        legend=alt.Legend(title="trade")),
        shape=alt.Shape("action:N", scale=alt.Scale(domain=domain, range=[SHAPES[a] for a in domain]),
                        legend=None),
        tooltip=[alt.Tooltip("when:N", title="time (UTC)"), "action:N",
                 "strategy:N", alt.Tooltip("price:Q", format=",.6g"), alt.Tooltip("amount:Q", format=",.8g"),
                 alt.Tooltip("pnl:Q", format=",.4f")])
    return alt.layer(line, points).properties(height=380).interactive(bind_y=False)


def render(symbols: list[str], load_prices, load_trades, newest_price) -> None:
    """Draw the chart section.

    ``load_prices(symbol, since)`` -> prices oldest first; ``load_trades(symbol)`` -> trades of
    ``symbol``; ``newest_price(symbol)`` -> newest PriceRecord or None. Windows are relative to
    the newest stored price (so a finished replay still shows its data).
    """
    st.subheader("Price chart")
    if not symbols:
        st.caption("No prices stored yet.")
        return
    c1, c2 = st.columns([2, 1])
    symbol = c1.selectbox("Chart symbol", symbols, key="chart_symbol")
    window = c2.selectbox("Window", list(WINDOWS), index=list(WINDOWS).index("All"), key="chart_window")
    newest = newest_price(symbol)
    since = None if WINDOWS[window] is None or newest is None else newest.timestamp - WINDOWS[window]
    prices = price_frame(load_prices(symbol, since))
    markers = marker_frame(load_trades(symbol), since)
    st.altair_chart(price_chart(prices, markers, symbol), width="stretch")
    st.caption(f"{len(prices)} price points, {len(markers)} trades "
               f"({(markers['action'] == 'buy').sum()} buys, {(markers['action'] == 'sell').sum()} sells).")
