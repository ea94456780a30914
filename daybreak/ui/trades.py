"""Trades section: P&L summary (from :func:`daybreak.stats.summarize`, the one stats
implementation), the trades table newest first with symbol and strategy filters, and open
positions.

Frames shown (money in quote currency, amounts in base, times UTC):

* trades: ``time``, ``symbol``, ``strategy``, ``action``, ``amount``, ``price``, ``fee``,
  ``pnl`` (realized, on closing trades), ``exit_reason``, ``order_type``, ``slippage_bps``,
  ``mode``, ``trade_id``;
* slippage per strategy (:func:`daybreak.reporting.costs.slippage_by_strategy`) over the trades shown;
* P&L per strategy: ``strategy`` plus every key of ``summarize`` (``pnl``, ``fees``, ``trades``,
  ``closed_trades``, ``wins``, ``losses``, ``win_rate``), the ``total`` row last;
* positions: ``strategy``, ``symbol``, ``amount``, ``entry_price``, ``entry_time``,
  ``stop_price``, ``high_watermark``, ``last_price`` (newest stored price), ``on_exchange`` (its
  protective orders resting on the exchange);
* open orders (live, beside the positions: orders not done, :class:`~daybreak.core.order_record.OrderRecord`):
  ``time``, ``strategy``, ``symbol``, ``side``, ``type``, ``role``, ``price``, ``trigger``,
  ``amount``, ``filled``, ``status``, ``client_order_id``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

from daybreak.core.domain import Position, Trade
from daybreak.core.order_record import OrderRecord
from daybreak.reporting.costs import slippage_by_strategy
from daybreak.reporting.stats import STAT_TYPES, TOTAL, summarize
from daybreak.ui.fmt import utc
from storage.records import PriceRecord

ALL = "All"
TRADE_COLUMNS = ["time", "symbol", "strategy", "action", "amount", "price", "fee", "pnl",
                 "exit_reason", "order_type", "slippage_bps", "mode", "trade_id"]
OPEN_ORDER_COLUMNS = ["time", "strategy", "symbol", "side", "type", "role", "price", "trigger", "amount", "filled",
                      "status", "client_order_id"]


def trades_frame(trades: Iterable[Trade]) -> pd.DataFrame:
    """The trades table, in the order given (the store returns newest first)."""
    rows = [{
        "time": utc(t.timestamp), "symbol": t.symbol, "strategy": t.algo, "action": t.action,
        "amount": t.amount, "price": t.price, "fee": t.fee, "pnl": t.pnl,
        "exit_reason": t.exit_reason or "", "order_type": t.order_type, "slippage_bps": t.slippage_bps,
        "mode": t.mode, "trade_id": t.trade_id,
    } for t in trades]
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)


def summary_frame(summary: dict[str, dict[str, float]]) -> pd.DataFrame:
    """``summarize()`` output as one row per strategy, ``total`` last."""
    order = sorted(k for k in summary if k != TOTAL) + [TOTAL]
    rows = [{"strategy": name, **{k: summary[name][k] for k in STAT_TYPES}} for name in order]
    frame = pd.DataFrame(rows, columns=["strategy", *STAT_TYPES])
    for col in ("trades", "closed_trades", "wins", "losses"):
        frame[col] = frame[col].astype(int)
    return frame


def quote_currency(symbols: Iterable[str]) -> str:
    """The common quote currency of ``symbols`` (``USDT`` for BTC/USDT), else ``"quote"``."""
    quotes = {s.partition("/")[2] for s in symbols}
    return quotes.pop() if len(quotes) == 1 else "quote"


def positions_frame(positions: Iterable[Position], last_price: Callable[[str], PriceRecord | None],
                    open_orders: Iterable[OrderRecord] = ()) -> pd.DataFrame:
    """Open positions with the newest stored price of their symbol and, in ``on_exchange``, the
    protective orders resting for them (e.g. ``stop 49500 (limit 49252.5); take_profit 50200``)."""
    resting: dict[tuple[str, str], list[str]] = {}
    for o in open_orders:
        if o.role.protective:
            what = f"{o.role.value} {o.stop_price:.8g} (limit {o.price:.8g})" if o.stop_price else f"{o.role.value} {o.price:.8g}"
            resting.setdefault((o.algo, o.symbol), []).append(what)
    rows = []
    for p in positions:
        last = last_price(p.symbol)
        rows.append({
            "strategy": p.algo, "symbol": p.symbol, "amount": p.amount, "entry_price": p.entry_price,
            "entry_time": utc(p.entry_timestamp), "stop_price": p.stop_price,
            "high_watermark": p.high_watermark or None, "last_price": last.price if last else None,
            "on_exchange": "; ".join(resting.get((p.algo, p.symbol), [])),
        })
    return pd.DataFrame(rows, columns=["strategy", "symbol", "amount", "entry_price", "entry_time",
                                       "stop_price", "high_watermark", "last_price", "on_exchange"])


def open_orders_frame(orders: Iterable[OrderRecord]) -> pd.DataFrame:
    """Orders not done (resting on the exchange, in flight, or not booked yet), oldest first."""
    rows = [{"time": utc(o.created_at), "strategy": o.algo, "symbol": o.symbol, "side": o.side.value, "type": o.type,
             "role": o.role.value, "price": o.price, "trigger": o.stop_price, "amount": o.amount, "filled": o.filled,
             "status": o.status.value, "client_order_id": o.client_order_id} for o in orders]
    return pd.DataFrame(rows, columns=OPEN_ORDER_COLUMNS)


PAGE = 500
"""Trades shown in the table (newest first); P&L figures always cover every trade."""


def render(load_trades: Callable[[str | None, str | None, int | None], list[Trade]],
           load_summary: Callable[[], dict[str, dict[str, float]]], symbols: list[str],
           positions: list[Position], last_price: Callable[[str], PriceRecord | None],
           open_orders: list[OrderRecord] = ()) -> None:
    """Draw P&L, the filterable trades table, slippage per strategy, the open positions and,
    beside them, the open orders.

    ``load_trades(symbol, algo, limit)`` returns stored trades newest first (None = no filter or
    no limit); ``load_summary()`` the per-strategy P&L of every trade (the Stats table). Without a
    symbol filter the figures come from that summary, so the page reads one page of trades however
    long the history; with one, from that symbol's trades.
    """
    everything = load_summary()
    st.subheader("Trades and P&L")
    f1, f2 = st.columns(2)
    symbol = f1.selectbox("Symbol", [ALL, *symbols], key="trades_symbol")
    algo = f2.selectbox("Strategy", [ALL, *sorted(k for k in everything if k != TOTAL)], key="trades_algo")
    sym, alg = (None if symbol == ALL else symbol), (None if algo == ALL else algo)
    if sym is None:
        summary = everything if alg is None else {alg: everything[alg], TOTAL: everything[alg]}
    else:
        summary = summarize(load_trades(sym, alg, None))
    chosen = load_trades(sym, alg, PAGE)
    total = summary[TOTAL]
    quote = quote_currency([sym] if sym else symbols)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Total P&L ({quote})", f"{total['pnl']:,.2f}", help="Realized, fees of both legs included")
    m2.metric("Closed trades", f"{int(total['closed_trades'])}")
    m3.metric("Wins / losses", f"{int(total['wins'])} / {int(total['losses'])}")
    m4.metric("Win rate", f"{total['win_rate']:.1%}")
    if symbol != ALL or algo != ALL:
        st.caption(f"Filtered: symbol {symbol}, strategy {algo}.")
    st.markdown("**P&L per strategy**")
    st.dataframe(summary_frame(summary), hide_index=True, width="stretch", column_config={
        "pnl": st.column_config.NumberColumn(f"pnl ({quote})", format="%.2f"),
        "fees": st.column_config.NumberColumn(f"fees ({quote})", format="%.2f"),
        "win_rate": st.column_config.NumberColumn("win_rate", format="percent"),
    })
    shown = f"newest {len(chosen)} of {int(total['trades'])}" if total["trades"] > len(chosen) else f"{len(chosen)}, newest first"
    st.markdown(f"**Trades** ({shown})")
    if chosen:
        st.dataframe(trades_frame(chosen), hide_index=True, width="stretch", column_config={
            "pnl": st.column_config.NumberColumn(f"pnl ({quote})", format="%.4f"),
            "fee": st.column_config.NumberColumn(f"fee ({quote})", format="%.4f"),
        })
        slip = pd.DataFrame(slippage_by_strategy(chosen))
        if len(slip):
            st.markdown("**Slippage per strategy** (the trades shown; bps against the decision's price, "
                        "positive = cost)")
            st.dataframe(slip, hide_index=True, width="stretch", column_config={
                "avg_slippage_bps": st.column_config.NumberColumn("avg slippage (bps)", format="%.2f"),
                "slippage_cost": st.column_config.NumberColumn(f"slippage cost ({quote})", format="%.4f")})
    else:
        st.caption("No trades stored yet.")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Open positions** ({len(positions)})")
        if positions:
            st.dataframe(positions_frame(positions, last_price, open_orders), hide_index=True, width="stretch")
        else:
            st.caption("No open positions.")
    with right:
        st.markdown(f"**Open orders** ({len(open_orders)})")
        if open_orders:
            st.dataframe(open_orders_frame(open_orders), hide_index=True, width="stretch", key="open_orders")
        else:
            st.caption("No order resting or in flight.")
