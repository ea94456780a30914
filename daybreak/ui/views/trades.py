"""Trades: round trips (a *trade*: entry to exit of one position) and the raw *fills* they are
made of, filtered by date range, symbol, strategy, side, result and exit reason, with CSV
downloads of exactly what the filters select.

Round trips come from :func:`daybreak.reporting.performance.window_round_trips` (the backtest
report's pairing rule) over the fills of the chosen trading days (``risk.day_timezone``); a trip
belongs to the day it exited. Spot, long only: every round trip is a buy then sells, so *side*
filters fills.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from daybreak.core.domain import Trade
from daybreak.ui import columns, data
from daybreak.ui.context import PageContext
from daybreak.ui.fmt import duration, in_zone, money, order_type, pct, utc_minute
from daybreak.ui.views.common import bot_now, day_bounds, store_page

ALL = "All"
SHOWN_ROWS = 1000
"""Rows drawn per table (newest first); the CSV download has every row the filters select."""
RESULTS = (ALL, "win", "loss")


def render(ctx: PageContext | None) -> None:
    store_page("Trades", ctx, _body, 30)


def _body(ctx: PageContext, key: str) -> None:
    status = data.status(key)
    today = datetime.fromtimestamp(bot_now(status, ctx.now_ms()) / 1000, tz=ZoneInfo(ctx.day_zone)).date()
    f = st.columns([1.6, 1, 1, 0.8, 0.8, 1])
    picked = f[0].date_input(
        f"Trading days ({ctx.day_zone})",
        value=(today - timedelta(days=6), today),
        key="trades_dates",
        format="YYYY-MM-DD",
    )
    if isinstance(picked, tuple):  # one date while the second is being picked
        first, last = (picked[0], picked[-1]) if picked else (today, today)
    else:
        first = last = picked
    since, _ = day_bounds(first, ctx.day_zone)
    _, until = day_bounds(last, ctx.day_zone)
    summary = data.summary(key)
    symbols = sorted(set(ctx.config.symbols) | set(data.price_symbols(key)))
    algos = sorted(set(summary) - {"total"} | set(ctx.config.enabled_algos()))
    symbol = f[1].selectbox("Symbol", [ALL, *symbols], key="trades_symbol")
    algo = f[2].selectbox("Strategy", [ALL, *algos], key="trades_algo")
    side = f[3].selectbox("Side (fills)", [ALL, "buy", "sell"], key="trades_side")
    result = f[4].selectbox("Result", RESULTS, key="trades_result")
    trips = data.round_trips(key, since, until)
    reasons = sorted({_reason(r) for r in trips["exit_reason"]}) if len(trips) else []
    reason = f[5].selectbox("Exit reason", [ALL, *reasons], key="trades_reason")
    chosen = filter_trips(trips, symbol, algo, result, reason)
    fills = data.trades(key, since=since, until=until)[::-1]  # newest first; the read round_trips made
    chosen_fills = [
        t
        for t in fills
        if (symbol == ALL or t.symbol == symbol)
        and (algo == ALL or t.algo == algo)
        and (side == ALL or t.action == side)
    ]
    _trips(ctx, chosen, len(trips))
    _fills(ctx, chosen_fills, len(fills))


def _reason(value) -> str:
    return getattr(value, "value", value) or ""


def filter_trips(trips: pd.DataFrame, symbol: str, algo: str, result: str, reason: str) -> pd.DataFrame:
    """The round trips matching the filters (``All`` = no filter; result ``win`` is pnl > 0)."""
    keep = pd.Series(True, index=trips.index)
    if symbol != ALL:
        keep &= trips["symbol"] == symbol
    if algo != ALL:
        keep &= trips["algo"] == algo
    if result != ALL:
        keep &= (trips["pnl"] > 0) if result == "win" else (trips["pnl"] <= 0)
    if reason != ALL:
        keep &= trips["exit_reason"].map(_reason) == reason
    return trips[keep].sort_values("exit_time", ascending=False, kind="stable").reset_index(drop=True)


def trips_csv(trips: pd.DataFrame) -> bytes:
    """Round trips as CSV: times as UTC ISO text and epoch ms, numbers unrounded."""
    out = trips.copy()
    out["exit_reason"] = out["exit_reason"].map(_reason)
    for col in ("entry_time", "exit_time"):
        out.insert(0, f"{col}_utc", pd.to_datetime(out[col], unit="ms", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return out.to_csv(index=False).encode("utf-8")


def _trips(ctx: PageContext, trips: pd.DataFrame, total: int) -> None:
    n = len(trips)
    wins = int((trips["pnl"] > 0).sum()) if n else 0
    st.subheader(f"Round trips ({n}" + (f" of {total}" if total != n else "") + ")")
    c = st.columns(4)
    c[0].metric(f"P&L ({ctx.quote})", money(float(trips["pnl"].sum()) if n else 0.0, signed=True))
    c[1].metric("Win rate", pct(wins / n) if n else "-", help=f"{wins} won, {n - wins} lost (P&L <= 0)")
    c[2].metric(f"Fees ({ctx.quote})", money(float(trips["fees"].sum()) if n else 0.0))
    c[3].metric("Average duration", duration(float(trips["duration_ms"].mean())) if n else "-")
    if not n:
        st.caption("No round trips closed in these days with these filters.")
        return
    p = ctx.precision
    head = trips.head(SHOWN_ROWS)
    shown = pd.DataFrame(
        {
            "exit_time": head["exit_time"].map(utc_minute),
            "entry_time": head["entry_time"].map(utc_minute),
            "symbol": head["symbol"],
            "algo": head["algo"],
            "amount": [p.amount(s, v) for s, v in zip(head["symbol"], head["amount"], strict=True)],
            "entry_price": [p.price(s, v) for s, v in zip(head["symbol"], head["entry_price"], strict=True)],
            "exit_price": [p.price(s, v) for s, v in zip(head["symbol"], head["exit_price"], strict=True)],
            "pnl": head["pnl"],
            "return_ratio": columns.as_percent(head["return_ratio"]),
            "fees": head["fees"],
            "duration": head["duration_ms"].map(duration),
            "exit_reason": head["exit_reason"].map(_reason),
            "entry_order_type": head["entry_order_type"].map(order_type),
            "exit_order_type": head["exit_order_type"].map(order_type),
            "entry_order_id": head["entry_order_id"],
            "exit_order_id": head["exit_order_id"],
        }
    )
    local = {}
    if ctx.day_zone != "UTC":  # the trader's day timezone beside UTC
        shown.insert(1, "exit_local", head["exit_time"].map(lambda ms: in_zone(ms, ctx.day_zone)))
        local = {"exit_local": columns.text(f"Exit ({ctx.day_zone})")}
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="round_trips",
        column_config=local
        | {
            "exit_time": columns.text("Exit (UTC)"),
            "entry_time": columns.text("Entry (UTC)"),
            "symbol": columns.text("Symbol"),
            "algo": columns.text("Strategy"),
            "amount": columns.text("Amount"),
            "entry_price": columns.text("Entry price"),
            "exit_price": columns.text("Exit price"),
            "pnl": columns.money("P&L", ctx.quote),
            "return_ratio": columns.percent("P&L %"),
            "fees": columns.money("Fees", ctx.quote),
            "duration": columns.text("Duration"),
            "exit_reason": columns.text("Exit reason"),
            "entry_order_type": columns.text("Entry order type"),
            "exit_order_type": columns.text("Exit order type"),
            "entry_order_id": columns.text("Entry order id"),
            "exit_order_id": columns.text("Exit order id"),
        },
    )
    if n > SHOWN_ROWS:
        st.caption(f"Newest {SHOWN_ROWS} shown; the CSV has all {n}.")
    st.download_button(  # the CSV is made when asked for
        "Download round trips (CSV)", partial(trips_csv, trips), "round_trips.csv", "text/csv", key="trips_csv"
    )


def fills_frame(fills: list[Trade]) -> pd.DataFrame:
    """Fills as a frame of plain values (``pnl`` NaN on opening fills): the CSV and the table's source."""
    return pd.DataFrame(
        [{**t.to_json(), "time_utc": utc_minute(t.timestamp)} for t in fills],
        columns=[
            "time_utc",
            "timestamp",
            "symbol",
            "algo",
            "action",
            "amount",
            "price",
            "fee",
            "pnl",
            "exit_reason",
            "order_type",
            "order_id",
            "trade_id",
            "mode",
        ],
    ).astype({"pnl": "float64"})


def _fills(ctx: PageContext, fills, total: int) -> None:
    st.subheader(f"Fills ({len(fills)}" + (f" of {total}" if total != len(fills) else "") + ")")
    if not fills:
        st.caption("No fills in these days with these filters.")
        return
    p = ctx.precision
    head = fills_frame(fills[:SHOWN_ROWS])
    shown = head.assign(
        amount=[p.amount(s, v) for s, v in zip(head["symbol"], head["amount"], strict=True)],
        price=[p.price(s, v) for s, v in zip(head["symbol"], head["price"], strict=True)],
        pnl=["" if v != v else money(v) for v in head["pnl"]],  # opening fills: blank, not "None"
        exit_reason=head["exit_reason"].fillna(""),
        order_type=head["order_type"].map(order_type),
    ).drop(columns="timestamp")
    local = {}
    if ctx.day_zone != "UTC":
        shown.insert(1, "time_local", head["timestamp"].map(lambda ms: in_zone(ms, ctx.day_zone)))
        local = {"time_local": columns.text(f"Time ({ctx.day_zone})")}
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="fills",
        column_config=local
        | {
            "time_utc": columns.text("Time (UTC)"),
            "symbol": columns.text("Symbol"),
            "algo": columns.text("Strategy"),
            "action": columns.text("Side"),
            "amount": columns.text("Amount"),
            "price": columns.text("Price"),
            "fee": columns.money("Fee", ctx.quote),
            "pnl": columns.text(f"Realized P&L ({ctx.quote})"),
            "exit_reason": columns.text("Exit reason"),
            "order_type": columns.text("Order type"),
            "order_id": columns.text("Order id"),
            "trade_id": columns.text("Fill id"),
            "mode": columns.text("Mode"),
        },
    )
    if len(fills) > SHOWN_ROWS:
        st.caption(f"Newest {SHOWN_ROWS} shown; the CSV has all {len(fills)}.")
    st.download_button("Download fills (CSV)", partial(fills_csv, fills), "fills.csv", "text/csv", key="fills_csv")


def fills_csv(fills) -> bytes:
    """The fills as CSV (:func:`fills_frame`: every column, numbers unrounded)."""
    return fills_frame(fills).to_csv(index=False).encode("utf-8")
