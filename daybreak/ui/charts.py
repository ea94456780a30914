"""Altair charts of the dashboard: equity and drawdown, P&L per strategy, daily P&L bars, and
candles with volume, indicator lines and fill markers. Every x axis is UTC (``scale type utc``,
labels in UTC whatever the browser's timezone); tooltips carry the time as UTC text.

Input frames hold epoch-ms ``timestamp`` columns; :func:`_times` adds ``time`` (tz-aware UTC) and
``when`` (text) for Vega.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

UP, DOWN = "#26a69a", "#ef5350"
BUY, SELL = "#1a9850", "#d73027"
HEIGHT = 260


def _times(frame: pd.DataFrame, column: str = "timestamp") -> pd.DataFrame:
    out = frame.copy()
    out["time"] = pd.to_datetime(out[column], unit="ms", utc=True)
    out["when"] = out["time"].dt.strftime("%Y-%m-%d %H:%M UTC")
    return out


def _x(title: str | None = "time (UTC)") -> alt.X:
    return alt.X(
        "time:T",
        title=title,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%b %d %H:%M", labelAngle=0, labelOverlap=True),
    )


def equity_chart(curves: pd.DataFrame, quote: str) -> alt.LayerChart:
    """Lines of ``equity`` by ``curve`` (e.g. realized / marked to market) over ``timestamp``, with
    their drawdown (``drawdown_ratio``, as a negative percentage on the right axis) shaded below:
    one chart, one time axis."""
    data = _times(curves)
    data["drawdown"] = -data["drawdown_ratio"]
    color = alt.Color("curve:N", title=None, legend=alt.Legend(orient="top"))
    tip = [
        alt.Tooltip("when:N", title="time"),
        "curve:N",
        alt.Tooltip("equity:Q", format=",.2f"),
        alt.Tooltip("drawdown:Q", format=".2%"),
    ]
    deepest = float(data["drawdown"].min()) if len(data) else 0.0
    dd = (
        alt.Chart(data)
        .mark_area(opacity=0.18, interpolate="step-after")
        .encode(
            x=_x(),
            color=color,
            tooltip=tip,
            y=alt.Y(
                "drawdown:Q",
                title="drawdown",
                axis=alt.Axis(format="%", orient="right"),
                scale=alt.Scale(domain=[min(deepest, -0.0001) * 4, 0]),
            ),
        )
    )  # the shading fills the bottom quarter
    line = (
        alt.Chart(data)
        .mark_line(strokeWidth=1.6, interpolate="step-after")
        .encode(
            x=_x(),
            color=color,
            tooltip=tip,
            y=alt.Y("equity:Q", title=f"equity ({quote})", scale=alt.Scale(zero=False)),
        )
    )
    return alt.layer(dd, line).resolve_scale(y="independent").properties(height=HEIGHT + 40)


def strategy_pnl_chart(cumulative: pd.DataFrame, quote: str) -> alt.Chart:
    """Cumulative realized P&L per strategy (``timestamp``, ``algo``, ``pnl``)."""
    data = _times(cumulative)
    return (
        alt.Chart(data)
        .mark_line(strokeWidth=1.5, interpolate="step-after")
        .encode(
            x=_x(),
            y=alt.Y("pnl:Q", title=f"realized P&L ({quote})"),
            color=alt.Color("algo:N", title="strategy", legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("when:N", title="time"),
                alt.Tooltip("algo:N", title="strategy"),
                alt.Tooltip("pnl:Q", format=",.2f", title="P&L"),
            ],
        )
        .properties(height=HEIGHT)
    )


def daily_bars(days: pd.DataFrame, quote: str, zone: str) -> alt.Chart:
    """One bar per trading day (``day`` text, ``pnl``), green for a gain, red for a loss."""
    data = days.assign(result=(days["pnl"] > 0).map({True: "gain", False: "loss"}))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title=f"trading day ({zone})", axis=alt.Axis(labelAngle=-45, labelOverlap=True)),
            y=alt.Y("pnl:Q", title=f"realized P&L ({quote})"),
            color=alt.Color("result:N", scale=alt.Scale(domain=["gain", "loss"], range=[UP, DOWN]), legend=None),
            tooltip=[
                alt.Tooltip("day:O", title="day"),
                alt.Tooltip("pnl:Q", format=",.2f", title="P&L"),
                alt.Tooltip("closed_trades:Q", title="closed trades"),
                alt.Tooltip("fees:Q", format=",.2f"),
            ],
        )
        .properties(height=HEIGHT)
    )


def candle_chart(
    bars: pd.DataFrame, overlays: pd.DataFrame, markers: pd.DataFrame, levels: pd.DataFrame, symbol: str, quote: str
) -> alt.LayerChart:
    """Candles (``timestamp``, ``open``, ``high``, ``low``, ``close``, ``volume``) with price-scale
    indicator lines (``overlays``: ``timestamp``, ``indicator``, ``value``), fill markers
    (``markers``: ``timestamp``, ``price``, ``action``, ``algo``, ``amount``, ``reason``,
    ``pnl``), horizontal ``levels`` (``level`` name, ``price``: entry and stop of open
    positions), and volume bars along the bottom on their own (right) axis: one chart."""
    data = _times(bars)
    data["direction"] = (data["close"] >= data["open"]).map({True: "up", False: "down"})
    color = alt.Color("direction:N", scale=alt.Scale(domain=["up", "down"], range=[UP, DOWN]), legend=None)
    x = _x()
    y = alt.Y("low:Q", title=f"{symbol} ({quote})", scale=alt.Scale(zero=False))
    tip = [
        alt.Tooltip("when:N", title="candle open"),
        alt.Tooltip("open:Q", format=",.6g"),
        alt.Tooltip("high:Q", format=",.6g"),
        alt.Tooltip("low:Q", format=",.6g"),
        alt.Tooltip("close:Q", format=",.6g"),
        alt.Tooltip("volume:Q", format=",.4g"),
    ]
    base = alt.Chart(data).encode(x=x, color=color, tooltip=tip)
    body = max(1.0, min(12.0, 650 / max(len(data), 1)))  # px: candles never overlap on a ~1000 px chart
    layers = [base.mark_rule().encode(y=y, y2="high:Q"), base.mark_bar(size=body).encode(y="open:Q", y2="close:Q")]
    if len(overlays):
        layers.append(
            alt.Chart(_times(overlays))
            .mark_line(strokeWidth=1.2)
            .encode(
                x=x,
                y="value:Q",
                strokeDash=alt.StrokeDash("indicator:N", legend=alt.Legend(orient="top", title=None)),
                tooltip=[alt.Tooltip("when:N", title="time"), "indicator:N", alt.Tooltip("value:Q", format=",.6g")],
            )
        )
    if len(levels):
        layers.append(
            alt.Chart(levels)
            .mark_rule(strokeDash=[4, 3], color="#7f7f7f")
            .encode(y="price:Q", tooltip=["level:N", alt.Tooltip("price:Q", format=",.6g")])
        )
    if len(markers):
        domain = ["buy", "sell"]
        layers.append(
            alt.Chart(_times(markers))
            .mark_point(filled=True, size=170, opacity=1, stroke="black", strokeWidth=0.8)
            .encode(
                x=x,
                y="price:Q",
                color=alt.Color(
                    "action:N", scale=alt.Scale(domain=domain, range=[BUY, SELL]), legend=alt.Legend(title="fill")
                ),
                shape=alt.Shape(
                    "action:N", scale=alt.Scale(domain=domain, range=["triangle-up", "triangle-down"]), legend=None
                ),
                tooltip=[
                    alt.Tooltip("when:N", title="filled"),
                    "action:N",
                    alt.Tooltip("algo:N", title="strategy"),
                    alt.Tooltip("price:Q", format=",.6g"),
                    alt.Tooltip("amount:Q", format=",.8g"),
                    "reason:N",
                    alt.Tooltip("pnl:Q", format=",.2f", title="P&L"),
                ],
            )
        )
    top = float(data["volume"].max()) if len(data) and data["volume"].notna().any() else 1.0
    volume = (
        alt.Chart(data)
        .mark_bar(opacity=0.35, size=body)
        .encode(
            x=x,
            color=color,
            tooltip=tip,
            y=alt.Y(
                "volume:Q",
                title="volume",
                axis=alt.Axis(orient="right"),
                scale=alt.Scale(domain=[0, max(top, 1e-9) * 5]),
            ),
        )
    )  # volume bars fill the bottom fifth
    price = alt.layer(*layers).resolve_scale(y="shared")
    return alt.layer(volume, price).resolve_scale(y="independent").properties(height=480)


def indicator_panel(frame: pd.DataFrame, name: str) -> alt.Chart:
    """One non-price indicator (``timestamp``, ``value``) as a small line chart."""
    data = _times(frame)
    return (
        alt.Chart(data)
        .mark_line(strokeWidth=1.2, color="#6a51a3")
        .encode(
            x=_x(),
            y=alt.Y("value:Q", title=name, scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("when:N", title="time"), alt.Tooltip("value:Q", format=",.6g", title=name)],
        )
        .properties(height=110)
    )
