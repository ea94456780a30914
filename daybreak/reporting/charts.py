"""Altair charts of a backtest (equity, drawdown, candles with trade markers) and the Vega
JavaScript that renders them offline.

Long runs are thinned for the browser: when the run has more than :data:`MAX_CHART_POINTS` base
candles, the charts use the smallest timeframe of :data:`CHART_TIMEFRAMES` that fits (candles
resampled with :func:`daybreak.timeframes.resample`, equity as the last value of each bucket,
drawdown as the deepest value of each bucket, so the maximum drawdown stays visible). Trade
markers are never thinned: each sits at its fill's exact time and price.
All x axes are UTC; timestamps are passed to Vega as epoch ms.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from daybreak.core.timeframes import resample, timeframe_ms
from daybreak.reporting.metrics import drawdown_series, equity_curve
from daybreak.reporting.result import BacktestResult

MAX_CHART_POINTS = 20_000
CHART_TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
_UP, _DOWN = "#26a69a", "#ef5350"


def chart_timeframe(base_timeframe: str, span_ms: int, max_points: int = MAX_CHART_POINTS) -> str:
    """``base_timeframe`` itself or, if that needs more than ``max_points`` candles for ``span_ms``,
    the finest of :data:`CHART_TIMEFRAMES` that is a multiple of it and fits (the coarsest such
    one when none fits)."""
    base = timeframe_ms(base_timeframe)
    usable = [base_timeframe] + [
        tf for tf in CHART_TIMEFRAMES if timeframe_ms(tf) > base and timeframe_ms(tf) % base == 0
    ]
    for tf in usable:
        if span_ms / timeframe_ms(tf) <= max_points:
            return tf
    return usable[-1]


def _x(title: str | None = None) -> alt.X:
    return alt.X("time:T", scale=alt.Scale(type="utc"), axis=alt.Axis(title=title, format="%Y-%m-%d %H:%M"))


def _spec(chart: alt.TopLevelMixin, datasets: dict[str, pd.DataFrame]) -> dict:
    """The Vega-Lite dict of ``chart`` whose layers read named data (``alt.Data(name=...)``), with
    the rows put in the spec's top-level ``datasets`` after Altair validated the (small) skeleton:
    validating thousands of inline rows costs seconds and they are plain numbers we built."""
    spec = chart.to_dict()
    spec["datasets"] = {
        name: frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        for name, frame in datasets.items()
    }
    return spec


def equity_frames(result: BacktestResult, step_ms: int) -> pd.DataFrame:
    """Columns ``time`` (ms), ``equity`` (quote, last of each ``step_ms`` bucket) and
    ``drawdown`` (fraction, deepest of each bucket, drawn as a negative number)."""
    curve = equity_curve(result)
    curve["drawdown"] = -drawdown_series(curve["equity"].to_numpy())
    bucket = curve["timestamp"].to_numpy(np.int64) // step_ms
    out = curve.groupby(bucket, sort=True).agg(
        time=("timestamp", "last"), equity=("equity", "last"), drawdown=("drawdown", "min")
    )
    return out.reset_index(drop=True)


def equity_spec(frame: pd.DataFrame, quote: str) -> dict:
    """Equity curve (quote currency) over time; ``frame`` as from :func:`equity_frames`."""
    return _spec(
        alt.Chart(alt.Data(name="equity"))
        .mark_line(color="#1f77b4")
        .encode(
            x=_x(),
            y=alt.Y("equity:Q", scale=alt.Scale(zero=False), title=f"equity ({quote})"),
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="UTC"),
                alt.Tooltip("equity:Q", format=",.2f"),
            ],
        )
        .properties(width="container", height=260)
        .interactive(bind_y=False),
        {"equity": frame},
    )


def drawdown_spec(frame: pd.DataFrame) -> dict:
    """Drawdown below the running equity peak, as a negative fraction."""
    return _spec(
        alt.Chart(alt.Data(name="equity"))
        .mark_area(color=_DOWN, opacity=0.6)
        .encode(
            x=_x(),
            y=alt.Y("drawdown:Q", axis=alt.Axis(format="%"), title="drawdown"),
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="UTC"),
                alt.Tooltip("drawdown:Q", format=".2%"),
            ],
        )
        .properties(width="container", height=160)
        .interactive(bind_y=False),
        {"equity": frame},
    )


def candle_spec(result: BacktestResult, symbol: str, timeframe: str) -> dict:
    """Candles of ``symbol`` at ``timeframe`` (wicks and bodies spanning open to close time), with
    a marker per fill of that symbol: buys ▲, sells ▼ at the exact fill time and price."""
    step = timeframe_ms(timeframe)
    bars = resample(result.candles[symbol], timeframe, result.timeframe)
    bars = bars.assign(
        time=bars["timestamp"],
        time_end=bars["timestamp"] + step,
        mid=bars["timestamp"] + step // 2,
        up=bars["close"] >= bars["open"],
    )
    data = alt.Data(name="candles")
    color = alt.condition("datum.up", alt.value(_UP), alt.value(_DOWN))
    price = alt.Y("low:Q", scale=alt.Scale(zero=False), title=f"{symbol} price")
    wick = (
        alt.Chart(data)
        .mark_rule()
        .encode(x=alt.X("mid:T", scale=alt.Scale(type="utc"), title=None), y=price, y2="high:Q", color=color)
    )
    body = (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=_x(),
            x2="time_end:T",
            y="open:Q",
            y2="close:Q",
            color=color,
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="UTC open"),
                "open:Q",
                "high:Q",
                "low:Q",
                "close:Q",
            ],
        )
    )
    fills = pd.DataFrame(
        [
            {
                "time": t.timestamp,
                "price": t.price,
                "action": t.action,
                "algo": t.algo,
                "amount": t.amount,
                "fee": t.fee,
                "pnl": t.pnl,
                "exit_reason": t.exit_reason or "",
            }
            for t in result.trades
            if t.symbol == symbol
        ],
        columns=["time", "price", "action", "algo", "amount", "fee", "pnl", "exit_reason"],
    )
    marks = (
        alt.Chart(alt.Data(name="fills"))
        .mark_point(filled=True, size=90, opacity=0.95, stroke="black", strokeWidth=0.5)
        .encode(
            x="time:T",
            y="price:Q",
            shape=alt.Shape(
                "action:N",
                scale=alt.Scale(domain=["buy", "sell"], range=["triangle-up", "triangle-down"]),
                legend=alt.Legend(title="fill"),
            ),
            color=alt.Color(
                "action:N",
                scale=alt.Scale(domain=["buy", "sell"], range=["#1565c0", "#ff9800"]),
                legend=alt.Legend(title="fill"),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M:%S", title="UTC"),
                "action:N",
                "algo:N",
                alt.Tooltip("price:Q", format=",.8g"),
                alt.Tooltip("amount:Q", format=".8g"),
                alt.Tooltip("fee:Q", format=",.4f"),
                alt.Tooltip("pnl:Q", format=",.2f"),
                "exit_reason:N",
            ],
        )
    )
    chart = alt.layer(wick, body, marks).properties(width="container", height=380).interactive(bind_y=False)
    columns = ["time", "time_end", "mid", "open", "high", "low", "close", "up"]
    return _spec(chart, {"candles": bars[columns], "fills": fills})


def chart_specs(result: BacktestResult, symbol: str, quote: str) -> dict[str, dict]:
    """Vega-Lite specs (dicts) by element id: ``equity``, ``drawdown``, ``candles``."""
    tf = chart_timeframe(result.timeframe, result.end - result.start)
    frame = equity_frames(result, timeframe_ms(tf))
    return {
        "equity": equity_spec(frame, quote),
        "drawdown": drawdown_spec(frame),
        "candles": candle_spec(result, symbol, tf),
    }


def vega_javascript() -> str:
    """The vega + vega-lite + vega-embed bundle matching Altair's Vega-Lite version, from the
    ``vl-convert-python`` package (the same bundle Altair inlines for ``save(..., inline=True)``)."""
    import vl_convert  # lazy: a large native module, only the HTML report needs it

    version = "_".join(alt.SCHEMA_VERSION.split(".")[:2])
    return vl_convert.javascript_bundle(vl_version=version)  # type: ignore[call-arg]  # snippet is optional at run time
