"""Performance: equity and drawdown (realized, and marked to market from stored prices), P&L per
strategy over time (FR2.3), daily P&L bars, per-strategy and per-symbol tables, fees and
realized slippage per strategy, over a window ending at the bot's clock.

Reads: the fills of the window (time range), the round trips they close, stored prices of the
symbols traded or held (windows up to :data:`MARKED_MAX_MS`), and the Stats table: all-time
totals per strategy and the daily aggregates, so "All" draws its curves from one row per day and
strategy instead of every fill. Equity at the window's start = starting balance + all realized
P&L (Stats) - the P&L realized in the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from daybreak.reporting.costs import slippage_by_strategy
from daybreak.reporting.metrics import breakdown, drawdown_series, max_drawdown
from daybreak.reporting.performance import (
    cumulative_pnl,
    holdings,
    marked_curve,
    realized_curve,
    thin,
    thin_steps,
)
from daybreak.reporting.stats import TOTAL, daily_summary
from daybreak.ui import charts, columns, data
from daybreak.ui.context import PageContext
from daybreak.ui.fmt import money, pct, when
from daybreak.ui.views.common import (
    DAY_MS,
    WINDOWS,
    bot_now,
    refresh_every,
    storage_down,
    store_key,
    window_since,
)
from storage import StorageError

MARKED_MAX_MS = 30 * DAY_MS
"""Longest window with a marked-to-market curve (it reads every stored 1m price of the window;
prices are kept 30 days by default)."""
CURVE_POINTS = 800
"""Points per equity curve drawn (a chart is about 1,400 pixels wide)."""
STRATEGY_POINTS = 200
"""Points per strategy of the P&L-per-strategy chart."""
MARKED_DEFAULT_MS = DAY_MS
"""Windows up to this long draw the marked-to-market curve unless the trader turns it off."""


def render(ctx: PageContext | None) -> None:
    st.header("Performance")
    key = store_key(ctx)
    if ctx is None or key is None:  # store_key said why (ctx None: it gives no key)
        return
    c1, c2 = st.columns([3, 2])
    window = c1.segmented_control("Window", list(WINDOWS), default="7 d", key="perf_window") or "7 d"
    span = WINDOWS[window]
    can_mark = span is not None and span <= MARKED_MAX_MS
    marked = c2.toggle(
        "Marked-to-market curve",
        value=can_mark and span is not None and span <= MARKED_DEFAULT_MS,
        key="perf_marked",
        disabled=not can_mark,
        help="Cash plus holdings at every stored 1m close of the window: reads "
        "every stored price of it. Up to 30 d (the price retention).",
    )
    st.fragment(run_every=refresh_every(ctx, 30))(_body)(ctx, key, window, marked and can_mark)


def _body(ctx: PageContext, key: str, window: str, marked: bool) -> None:
    try:
        status = data.status(key)
        now = bot_now(status, ctx.now_ms())
        since = window_since(window, now)
        summary = data.summary(key)
        if since is None:
            _all_time(ctx, key, summary, now)
        else:
            _window(ctx, key, summary, since, now, marked)
    except StorageError as err:
        storage_down(ctx, err)


@st.cache_data(ttl=data.WINDOW_TTL_SECONDS, show_spinner=False, max_entries=16)
def window_figures(key: str, since: int, now: int, start_balance: float, zone: str, marked: bool) -> dict:
    """Everything the window view draws, computed once per TTL: ``curves`` (realized, and marked to
    market when asked and the bot reports its cash; each thinned for the chart), ``pnl``,
    ``fees``, ``fills`` (count), ``trips`` (round trips closed in the window), ``per_strategy``
    (cumulative P&L), ``days`` (daily P&L), ``fee_by_algo``, ``drawdown`` per curve."""
    fills = data.trades(key, since=since, until=now)
    trips = data.round_trips(key, since, now)
    pnl = sum(t.pnl for t in fills if t.pnl is not None)
    start_equity = start_balance + data.summary(key).get(TOTAL, {}).get("pnl", 0.0) - pnl
    curves = [realized_curve(fills, since, start_equity).assign(curve="realized")]
    status = data.status(key)
    cash = ((status.detail if status else {}) or {}).get("cash")
    if marked and isinstance(cash, (int, float)):
        held = holdings(data.positions(key, as_of=status.timestamp if status else None))
        marks = data.marks(key, tuple(sorted(set(held) | {t.symbol for t in fills})), since, now)
        curves.append(marked_curve(fills, marks, float(cash), held, since, now).assign(curve="marked to market"))
    drawdown = {
        c["curve"].iat[0]: max_drawdown(c["timestamp"].to_numpy(), c["equity"].to_numpy())["max_drawdown_ratio"]
        for c in curves
    }
    days = daily_summary(fills, zone).groupby("day", as_index=False)[["pnl", "fees", "closed_trades"]].sum()
    fee_by_algo = pd.DataFrame([(t.algo, t.fee) for t in fills], columns=["algo", "fee"]).groupby("algo")["fee"].sum()
    return {
        "curves": [thin(c.drop(columns="curve"), CURVE_POINTS).assign(curve=c["curve"].iat[0]) for c in curves],
        "pnl": pnl,
        "fees": float(fee_by_algo.sum()),
        "fills": len(fills),
        "trips": trips,
        "per_strategy": thin_steps(cumulative_pnl(fills, since), "algo", STRATEGY_POINTS),
        "days": days,
        "fee_by_algo": fee_by_algo.to_dict(),
        "drawdown": drawdown,
        "slippage": slippage_by_strategy(fills),
    }


def _window(ctx: PageContext, key: str, summary: dict, since: int, now: int, marked: bool) -> None:
    f = window_figures(key, since, now, ctx.config.paper.starting_balance, ctx.day_zone, marked)
    _headline(ctx, f["drawdown"], f["pnl"], f["trips"], f["fills"], f["fees"], since)
    _curves(ctx, f["curves"], "" if marked else " Turn on the marked-to-market curve above (windows up to 30 d).")
    st.subheader("P&L per strategy")
    if len(f["per_strategy"]):
        st.altair_chart(charts.strategy_pnl_chart(f["per_strategy"], ctx.quote), width="stretch")
    else:
        st.caption("No closed trades in this window.")
    _daily(ctx, f["days"])
    _tables(ctx, summary, f["trips"], f["fee_by_algo"], f["slippage"])


def _all_time(ctx: PageContext, key: str, summary: dict, now: int) -> None:
    days = data.daily(key)
    if days.empty:  # a bot that keeps no daily stats: from every fill (slow on a long history)
        fills = data.trades(key, until=now)
        days = daily_summary(fills, ctx.day_zone)
        st.caption("The Stats table has no daily aggregates (an older bot): computed from every fill.")
    total_days = days.groupby("day", as_index=False)[["pnl", "fees", "closed_trades"]].sum()
    ends = _day_end_ms(total_days["day"], ctx.day_zone)
    first = int(ends[0] - DAY_MS) if len(ends) else now
    equity = ctx.config.paper.starting_balance + np.concatenate([[0.0], np.cumsum(total_days["pnl"].to_numpy(float))])
    curve = pd.DataFrame({"timestamp": np.concatenate([[first], ends]).astype(np.int64), "equity": equity})
    curve["drawdown_ratio"] = drawdown_series(curve["equity"].to_numpy())
    trips = data.round_trips(key, None, now)
    total = summary.get(TOTAL, {})
    fee_by_algo = {a: v.get("fees", 0.0) for a, v in summary.items() if a != TOTAL}
    realized = curve.assign(curve="realized (end of day)")
    dd = max_drawdown(realized["timestamp"].to_numpy(), realized["equity"].to_numpy())["max_drawdown_ratio"]
    _headline(
        ctx, {"realized": dd}, total.get("pnl", 0.0), trips, int(total.get("trades", 0)), total.get("fees", 0.0), first
    )
    _curves(ctx, [realized], " All: one point per trading day, from the daily aggregates in the Stats table.")
    per = days.sort_values("day").assign(pnl=lambda d: d.groupby("algo")["pnl"].cumsum())
    per["timestamp"] = _day_end_ms(per["day"], ctx.day_zone)
    st.subheader("P&L per strategy")
    st.altair_chart(charts.strategy_pnl_chart(per[["timestamp", "algo", "pnl"]], ctx.quote), width="stretch")
    _daily(ctx, total_days)
    _tables(ctx, summary, trips, fee_by_algo)


def _day_end_ms(days: pd.Series, zone: str) -> np.ndarray:
    local = pd.to_datetime(days).dt.tz_localize(zone) + pd.Timedelta(days=1)
    return (local.dt.tz_convert("UTC").astype("int64") // 1_000_000).to_numpy(np.int64)


def _headline(
    ctx: PageContext, drawdown: dict, pnl: float, trips: pd.DataFrame, fills: int, fees: float, since: int
) -> None:
    wins = int((trips["pnl"] > 0).sum()) if len(trips) else 0
    c = st.columns(5)
    c[0].metric(f"Realized P&L ({ctx.quote})", money(pnl, signed=True), help=f"From {when(since, ctx.day_zone)}")
    c[1].metric("Closed trades", f"{len(trips)}", help=f"Round trips; {fills} fills")
    c[2].metric("Win rate", pct(wins / len(trips)) if len(trips) else "-")
    c[3].metric("Max drawdown (realized)", pct(next(iter(drawdown.values()))))
    if "marked to market" in drawdown:
        c[4].metric("Max drawdown (marked)", pct(drawdown["marked to market"]))
    else:
        c[4].metric(f"Fees ({ctx.quote})", money(fees))


def _curves(ctx: PageContext, curves: list[pd.DataFrame], note: str) -> None:
    st.subheader("Equity and drawdown")
    both = pd.concat(
        [thin(c.drop(columns="curve"), CURVE_POINTS).assign(curve=c["curve"].iat[0]) for c in curves], ignore_index=True
    )
    st.altair_chart(charts.equity_chart(both, ctx.quote), width="stretch")
    st.caption(
        "Realized: starting balance plus closed P&L. Marked to market: cash plus holdings at the stored "
        "1m closes (and fill prices)." + note
    )


def _daily(ctx: PageContext, days: pd.DataFrame) -> None:
    st.subheader("Daily P&L")
    if days.empty:
        st.caption("No fills in this window.")
        return
    st.altair_chart(charts.daily_bars(days, ctx.quote, ctx.day_zone), width="stretch")


def _tables(
    ctx: PageContext, summary: dict, trips: pd.DataFrame, fees: dict, slippage: list[dict] | None = None
) -> None:
    q = ctx.quote
    left, right = st.columns(2)
    algos = sorted(set(summary) - {TOTAL} | set(trips["algo"]))
    rows = []
    for r in breakdown(trips, "algo", algos):
        total = summary.get(r["algo"], {})
        rows.append(
            {
                **r,
                "win_rate": r["win_rate"] * 100 if r["trades"] else None,
                "avg_return_ratio": r["avg_return_ratio"] * 100,
                "fees": float(fees.get(r["algo"], 0.0)),
                "all_time_pnl": total.get("pnl"),
                "all_time_trades": total.get("closed_trades"),
            }
        )
    config = {
        "algo": columns.text("Strategy"),
        "trades": columns.count("Closed trades"),
        "wins": columns.count("Wins"),
        "win_rate": columns.percent("Win rate"),
        "pnl": columns.money("P&L", q),
        "avg_return_ratio": columns.percent("Average return"),
        "fees": columns.money("Fees paid", q),
        "all_time_pnl": columns.money("All-time P&L", q),
        "all_time_trades": columns.count("All-time closed"),
        "symbol": columns.text("Symbol"),
    }
    with left:
        st.subheader("Per strategy")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="perf_by_strategy", column_config=config)
    with right:
        st.subheader("Per symbol")
        by_symbol = [
            {
                **r,
                "win_rate": r["win_rate"] * 100 if r["trades"] else None,
                "avg_return_ratio": r["avg_return_ratio"] * 100,
            }
            for r in breakdown(trips, "symbol")
        ]
        st.dataframe(
            pd.DataFrame(by_symbol), hide_index=True, width="stretch", key="perf_by_symbol", column_config=config
        )
    st.subheader("Realized slippage per strategy")
    measured = [r for r in slippage or [] if r["fills"]]
    if measured:  # fills that carry their reference price (the decision's, or the book's when sent)
        st.dataframe(
            pd.DataFrame(measured),
            hide_index=True,
            width="stretch",
            key="perf_slippage",
            column_config={
                "algo": columns.text("Strategy"),
                "fills": columns.count("Fills measured"),
                "avg_slippage_bps": st.column_config.NumberColumn("Average slippage (bps)", format="%.2f"),
                "slippage_cost": columns.money("Slippage cost", ctx.quote),
            },
        )
    else:
        st.caption(
            "No fill in this window carries a reference price to measure slippage against (the window "
            "'All' reads daily aggregates, which keep none). Paper fills are moved "
            f"{ctx.config.paper.slippage_bps:g} bps against the trader by rule (paper.slippage_bps)."
        )
