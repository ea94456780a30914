"""Live account section: the exchange's quote balance, coins the bot does not manage, dust, the
last reconciliation, and the recent live orders with their exchange outcome.

Reads ``detail["account"]`` of the bot's status row (written by the live bot:
:meth:`daybreak.drivers.account.Account.detail`: ``quote``, ``free``, ``locked``, ``synced_at``
(ms), ``unmanaged`` {asset: amount}, ``dust`` {symbol: amount}, ``reconciled`` (text),
``day_start_equity``) and the Orders table (:class:`~daybreak.core.order_record.OrderRecord`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from daybreak.core.order_record import OrderRecord
from daybreak.ui.columns import in_words
from daybreak.ui.fmt import utc

ORDER_COLUMNS = [
    "time",
    "strategy",
    "symbol",
    "side",
    "amount",
    "status",
    "filled",
    "average",
    "fee",
    "reason",
    "error",
    "client_order_id",
]


def unmanaged_rows(account: dict) -> list[dict]:
    """One row per asset the account holds beyond the bot's positions and dust."""
    return [{"asset": a, "amount": v} for a, v in sorted((account.get("unmanaged") or {}).items())]


def orders_frame(orders: Iterable[OrderRecord]) -> pd.DataFrame:
    """Orders in the order given (newest first from the store), columns :data:`ORDER_COLUMNS`."""
    rows = [
        {
            "time": utc(o.created_at),
            "strategy": o.algo,
            "symbol": o.symbol,
            "side": o.side.value,
            "amount": o.amount,
            "status": o.status.value if o.done else f"{o.status.value} (in progress)",
            "filled": o.filled,
            "average": o.average or None,
            "fee": o.fee,
            "reason": o.reason.value if o.reason else "",
            "error": o.error,
            "client_order_id": o.client_order_id,
        }
        for o in orders
    ]
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def render(account: dict | None, orders: list[OrderRecord]) -> None:
    """Draw the section (nothing in paper mode: no ``account`` and no orders)."""
    if not account and not orders:
        return
    st.subheader("Exchange account")
    if account:
        quote = account.get("quote", "")
        st.caption(
            f"{quote} free {account.get('free', 0):,.2f} · locked in orders {account.get('locked', 0):,.2f} · "
            f"read {utc(account.get('synced_at'))} · day-start equity {account.get('day_start_equity') or 0:,.2f}"
        )
        if account.get("reconciled"):
            st.warning(f"Reconciled with the exchange: {account['reconciled']}")
        rows = unmanaged_rows(account)
        if rows:
            st.info("Not managed: coins the bot did not buy. It never sells them (flatten included).")
            st.dataframe(
                pd.DataFrame(rows),
                hide_index=True,
                key="account_unmanaged",
                column_config=in_words(["asset", "amount"]),
            )
        dust = account.get("dust") or {}
        if dust:
            st.caption(
                "Dust (too little to sell alone; sold with the next exit): "
                + ", ".join(f"{s} {v:.8g}" for s, v in sorted(dust.items()))
            )
    if orders:
        st.markdown("**Recent orders**")
        st.dataframe(
            orders_frame(orders),
            hide_index=True,
            width="stretch",
            key="account_orders",
            column_config=in_words(ORDER_COLUMNS, time="Time (UTC)", average="Average price"),
        )
