"""Signals: every external signal (the Signals table) with its source, time, outcome, reason and
the fill it became; and the "why it didn't trade" events (refused entries with the rule and its
numbers), both filterable.

An executed signal's ``outcome`` is the client order id of its order; the fill is the stored
trade of strategy ``External`` with that ``order_id`` (read by strategy and time range).
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from daybreak.core.domain import EXTERNAL_ALGO, Event
from daybreak.ui import columns, data
from daybreak.ui.context import PageContext
from daybreak.ui.fmt import utc_minute
from daybreak.ui.views.common import store_page
from storage.records import SignalRecord

ALL = "All"
SCAN = 1000
"""Recent events read for the lists of rules, strategies and symbols to filter by."""
SHOWN = 500


def render(ctx: PageContext | None) -> None:
    store_page("Signals", ctx, _body, 30)


def _body(ctx: PageContext, key: str) -> None:
    _signals(ctx, key)
    _rejections(key)


def signals_frame(signals: list[SignalRecord], fills_by_order: dict, precision) -> pd.DataFrame:
    """Signals newest first: ``time``, ``source``, ``symbol``, ``action``, ``amount``, ``status``,
    ``outcome``, ``reason``, ``processed``, ``trade_id``, ``fill_price`` (the fill it became);
    amounts and prices as text with the market's precision, blank where there is none."""
    rows = []
    for s in sorted(signals, key=lambda s: (s.timestamp, s.signal_id), reverse=True):
        fill = fills_by_order.get(s.outcome) if s.status == "executed" else None
        rows.append(
            {
                "time": utc_minute(s.timestamp),
                "signal_id": s.signal_id,
                "source": s.source,
                "symbol": s.symbol,
                "action": s.action,
                "amount": precision.amount(s.symbol, s.amount) if s.amount else "",
                "status": s.status,
                "outcome": s.outcome,
                "reason": s.reason,
                "processed": utc_minute(s.processed_at),
                "trade_id": fill.trade_id if fill else "",
                "fill_price": precision.price(s.symbol, fill.price) if fill else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "time",
            "signal_id",
            "source",
            "symbol",
            "action",
            "amount",
            "status",
            "outcome",
            "reason",
            "processed",
            "trade_id",
            "fill_price",
        ],
    )


def _signals(ctx: PageContext, key: str) -> None:
    signals = data.signals(key)
    st.subheader(f"External signals ({len(signals)})")
    if not ctx.config.external_signals:
        st.caption("`external_signals` is off in the config: new rows are not executed.")
    if not signals:
        st.caption(
            "No external signal received yet. Other systems insert rows into the Signals table "
            '(README "External signals"; `bot.py signal` does it by hand).'
        )
        return
    f = st.columns(3)
    status = f[0].selectbox("Status", [ALL, "new", "executed", "rejected"], key="signals_status")
    source = f[1].selectbox("Source", [ALL, *sorted({s.source for s in signals})], key="signals_source")
    symbol = f[2].selectbox("Symbol", [ALL, *sorted({s.symbol for s in signals})], key="signals_symbol")
    chosen = [
        s
        for s in signals
        if (status == ALL or s.status == status)
        and (source == ALL or s.source == source)
        and (symbol == ALL or s.symbol == symbol)
    ]
    first = min(s.timestamp for s in signals)
    fills = {t.order_id: t for t in data.trades(key, since=first, algo=EXTERNAL_ALGO) if t.order_id}
    counts = pd.Series([s.status for s in signals]).value_counts()
    st.caption(" · ".join(f"{k} {v}" for k, v in counts.items()))
    frame = signals_frame(chosen, fills, ctx.precision)
    st.dataframe(
        frame.head(SHOWN),
        hide_index=True,
        width="stretch",
        key="signals_table",
        column_config={
            "time": columns.text("Sent (UTC)"),
            "signal_id": columns.text("Signal id"),
            "source": columns.text("Source"),
            "symbol": columns.text("Symbol"),
            "action": columns.text("Side"),
            "amount": columns.text("Amount"),
            "status": columns.text("Status"),
            "outcome": columns.text("Outcome"),
            "reason": columns.text("Reason"),
            "processed": columns.text("Processed (UTC)"),
            "trade_id": columns.text("Fill id"),
            "fill_price": columns.text(f"Fill price ({ctx.quote})"),
        },
    )
    if len(frame) > SHOWN:
        st.caption(f"Newest {SHOWN} of {len(frame)} shown.")


def events_frame(events: list[Event]) -> pd.DataFrame:
    """Events in the order given (newest first): ``time``, ``kind``, ``rule``, ``strategy``,
    ``symbol``, ``message``, ``data`` (the rule's numbers as JSON)."""
    rows = [
        {
            "time": utc_minute(e.timestamp),
            "kind": e.kind,
            "rule": e.rule,
            "strategy": e.algo,
            "symbol": e.symbol,
            "message": e.message,
            "data": json.dumps(e.data, default=str) if e.data else "",
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=["time", "kind", "rule", "strategy", "symbol", "message", "data"])


def _rejections(key: str) -> None:
    st.subheader("Why it didn't trade")
    recent = data.events(key, None, SCAN)
    if not recent:
        st.caption("No refused entries or other events stored yet.")
        return
    f = st.columns(3)
    rule = f[0].selectbox("Reason (rule)", [ALL, *sorted({e.rule for e in recent if e.rule})], key="events_rule")
    algo = f[1].selectbox("Strategy", [ALL, *sorted({e.algo for e in recent if e.algo})], key="events_algo")
    symbol = f[2].selectbox("Symbol", [ALL, *sorted({e.symbol for e in recent if e.symbol})], key="events_symbol")
    pool = recent if rule == ALL else data.events(key, rule, SCAN)
    shown = [e for e in pool if (algo == ALL or e.algo == algo) and (symbol == ALL or e.symbol == symbol)][:SHOWN]
    counts = pd.Series([e.rule or e.kind for e in recent]).value_counts()
    st.caption(f"Last {len(recent)} events by reason: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    st.dataframe(
        events_frame(shown),
        hide_index=True,
        width="stretch",
        key="events_table",
        column_config={
            "time": columns.text("Time (UTC)"),
            "kind": columns.text("Kind"),
            "rule": columns.text("Rule"),
            "strategy": columns.text("Strategy"),
            "symbol": columns.text("Symbol"),
            "message": columns.text("Message"),
            "data": columns.text("Numbers"),
        },
    )
