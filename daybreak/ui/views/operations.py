"""Operations: is all well? One calm screen, refreshed every ``dashboard.refresh_seconds``.

State with its reason and the heartbeat on the bot's own clock (replays labelled, with their
market time); equity, today's P&L and today's max drawdown; the daily checklist; each risk limit's
distance to triggering; the market-data feed; open positions with unrealized P&L and time in
trade; pending orders; the latest manual controls. Pause / Resume / Flatten are in the sidebar.

Today is the trading day in ``risk.day_timezone`` on the bot's clock. Today's P&L = equity now
(the bot's, cash plus positions at its last prices) minus equity at the day's start, rebuilt from
today's fills and stored prices (:func:`daybreak.reporting.performance.marked_curve`); today's
max drawdown is the deepest fall of that curve from its running high. Without an equity in the
status row (an older bot), both count realized P&L only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from daybreak.core.domain import Position
from daybreak.reporting.performance import (
    holdings,
    marked_curve,
    position_rows,
    realized_curve,
)
from daybreak.reporting.stats import TOTAL
from daybreak.ui import account, checklist, columns, controls, data
from daybreak.ui.context import PageContext
from daybreak.ui.fmt import age, duration, money, order_type, pct, utc, utc_minute, when
from daybreak.ui.health import ERROR, OK, WARN, Health, alerts_line, assess, limit_rows, limit_text, storage_line
from daybreak.ui.views.common import (
    DAY_MS,
    bot_now,
    day_start,
    refresh_every,
    storage_down,
    store_key,
)
from storage import StorageError
from storage.records import StatusRecord

MARK = {True: ":green[✔]", False: ":red[✘]", None: ":gray[●]"}
SPARK_POINTS = 120
"""Points of today's equity line under the Equity figure (it also loads the chart library in the
browser on the first page, so the first chart page does not wait for it)."""
LOG_TAIL_BYTES = 256_000
"""Log tail read for the "no repeated errors" check (the last hour of a busy bot)."""


def render(ctx: PageContext | None) -> None:
    st.header("Operations")
    if ctx is None:
        store_key(ctx)
        return
    st.fragment(run_every=refresh_every(ctx, ctx.config.dashboard.refresh_seconds))(_body)(ctx)


def _body(ctx: PageContext) -> None:
    key = store_key(ctx)
    if key is None:
        return
    try:
        status = data.status(key)
        health = assess(status, ctx.now_ms(), ctx.config.poll_seconds)
        _banner(ctx, health, status)
        now = bot_now(status, ctx.now_ms())
        positions = data.positions(key, as_of=status.timestamp if status else None)
        prices = data.last_prices(key, tuple(sorted({p.symbol for p in positions})))
        pos = position_rows(positions, {s: v[1] for s, v in prices.items()}, now)
        today = today_figures(ctx, key, status, positions, now)
        trips = data.round_trips(key, now - DAY_MS, now)
        _figures(ctx, status, today, pos, trips)
        left, right = st.columns([1.15, 1])
        with left:
            st.subheader("Daily checklist")
            detail = (status.detail if status else {}) or {}
            items = [
                checklist.services(health),
                checklist.risk_limits(health, detail.get("limits") or {}),
                checklist.repeated_errors(
                    data.log_records(ctx.config.log.path, LOG_TAIL_BYTES),
                    ctx.now_ms(),
                    ctx.config.dashboard.repeated_errors,
                    ctx.config.log.path,
                ),
                checklist.pnl_band(
                    today["pnl"],
                    today["start_equity"],
                    ctx.config.dashboard.daily_pnl_min_ratio,
                    ctx.config.dashboard.daily_pnl_max_ratio,
                ),
                checklist.positions(pos, ctx.config, ctx.config.poll_seconds),
                checklist.notifications(detail),
                checklist.last_day(trips, ctx.config.dashboard.min_win_rate_ratio),
            ]
            st.markdown("  \n".join(f"{MARK[c.ok]} **{c.name}**: {c.reason}" for c in items))
        with right:
            _limits(ctx, detail)
            _feed(detail, ctx.now_ms())
        _positions(ctx, pos)
        _pending(ctx, data.pending_orders(key))
        _resting(ctx, data.open_orders(key))
        account.render(detail.get("account"), data.orders(key))  # live: the exchange account and its orders
        with st.expander("Latest controls", expanded=False):
            controls.history(data.controls(key))
    except StorageError as err:
        storage_down(ctx, err)


def _banner(ctx: PageContext, health: Health, status: StatusRecord | None) -> None:
    show = {OK: st.success, WARN: st.warning, ERROR: st.error}.get(health.level, st.info)
    label = "REPLAY · " if health.replay else ""
    show(f"**{label}{health.state}**: {health.headline}" + "".join(f"  \n{n}" for n in health.notes))
    if status is None:
        return
    facts = [f"mode {status.mode}", f"heartbeat {age(health.age_s or 0)} ago"]
    if health.replay:
        facts.insert(0, f"replay at market time {when(status.timestamp, ctx.day_zone)}")
    else:
        facts.append(f"bot clock {when(status.timestamp, ctx.day_zone)}")
    if status.last_error:
        clock = _replay_clock(status, ctx.now_ms()) if health.replay else ""
        facts.append(f"last error {utc(status.last_error_at)}{clock}: {status.last_error}")
    st.caption(" · ".join(facts))
    detail = status.detail or {}
    if isinstance(detail.get("storage"), dict):
        st.error(storage_line(detail["storage"], ctx.now_ms()))
    trouble, text = alerts_line(detail.get("notify"))
    if detail.get("config_version") is not None:
        text += f" · running config version {detail['config_version']}"
    (st.warning if trouble else st.caption)(text)


def _replay_clock(status: StatusRecord, wall_ms: int) -> str:
    """Which clock a replay's last error is on: the bot stamps some with the market time of the
    candle, others (a config file refused, say) with the wall clock; the nearer one is named."""
    at = status.last_error_at or 0
    wall = (status.detail or {}).get("wall_ms") or wall_ms
    return " (wall clock)" if abs(at - wall) < abs(at - status.timestamp) else " (market time)"


def today_figures(ctx: PageContext, key: str, status: StatusRecord | None, positions: list[Position], now: int) -> dict:
    """``day_start`` (ms), ``realized`` (today's closed P&L), ``pnl`` (today's P&L),
    ``start_equity`` (equity at the day's start), ``max_drawdown_ratio`` of today and ``curve``
    (today's equity, thinned) (see the module docstring). Money in quote currency. Computed once
    per status row (cached: the page refreshes every few seconds)."""
    detail = (status.detail if status else {}) or {}
    cash, equity = detail.get("cash"), detail.get("equity")
    if not (isinstance(cash, (int, float)) and isinstance(equity, (int, float))):
        cash = equity = None
    return _today(key, now, ctx.day_zone, ctx.config.paper.starting_balance, cash, equity, tuple(positions))


@st.cache_data(ttl=data.WINDOW_TTL_SECONDS, show_spinner=False, max_entries=8)
def _today(
    key: str, now: int, zone: str, starting_balance: float, cash: float | None, equity: float | None, positions
) -> dict:
    start = day_start(now, zone)
    fills = data.trades(key, since=start, until=now)
    realized = sum(t.pnl for t in fills if t.pnl is not None)
    if cash is not None and equity is not None:
        held = holdings(positions)
        marks = data.marks(key, tuple(sorted(set(held) | {t.symbol for t in fills})), start, now)
        curve = marked_curve(fills, marks, float(cash), held, start, now)
        curve = pd.concat([curve.iloc[:-1], pd.DataFrame({"timestamp": [now], "equity": [float(equity)]})])
    else:
        total = data.summary(key).get(TOTAL, {}).get("pnl", 0.0)
        start_equity = starting_balance + total - realized
        curve = realized_curve(fills, start, start_equity)
    eq = curve["equity"].to_numpy(float)
    peak = pd.Series(eq).cummax().to_numpy()
    dd = float((1 - eq / peak).max()) if len(eq) else 0.0
    return {
        "day_start": start,
        "realized": realized,
        "pnl": float(eq[-1] - eq[0]),
        "start_equity": float(eq[0]),
        "equity": float(eq[-1]),
        "max_drawdown_ratio": max(dd, 0.0),
        "curve": eq[np.unique(np.linspace(0, len(eq) - 1, SPARK_POINTS).astype(int))].round(2).tolist()
        if len(eq)
        else [],
    }


def _figures(ctx: PageContext, status, today: dict, pos: pd.DataFrame, trips: pd.DataFrame) -> None:
    q = ctx.quote
    detail = (status.detail if status else {}) or {}
    c = st.columns(5)
    c[0].metric(
        f"Equity ({q})",
        money(detail.get("equity")) if "equity" in detail else money(today["equity"]),
        help="Cash plus open positions at the bot's last prices; the line: today's equity",
        chart_data=today["curve"] if len(today["curve"]) > 1 else None,
        chart_type="area",
    )
    c[1].metric(
        f"Today's P&L ({q})",
        money(today["pnl"], signed=True),
        delta=pct(today["pnl"] / today["start_equity"], signed=True) if today["start_equity"] else None,
        help=f"Since {when(today['day_start'], ctx.day_zone)}: realized {money(today['realized'], signed=True)}, "
        "the rest is the change of open positions' value",
    )
    c[2].metric(
        "Today's max drawdown",
        pct(today["max_drawdown_ratio"]),
        help="Deepest fall of today's equity (marked to market) from its running high",
    )
    upnl = float(pos["unrealized_pnl"].sum()) if len(pos) else 0.0
    c[3].metric(
        "Open positions",
        f"{len(pos)}",
        delta=f"{money(upnl, signed=True)} {q} open" if len(pos) else None,
        delta_color="normal",
        help="Unrealized P&L: entry fee included, exit fee not",
    )
    wins = int((trips["pnl"] > 0).sum()) if len(trips) else 0
    c[4].metric(
        "Last 24 h",
        f"{len(trips)} trades",
        delta=f"{pct(wins / len(trips))} won" if len(trips) else None,
        delta_color="off",
        help="Closed trades (round trips) in the 24 h before the bot's clock",
    )


def _limits(ctx: PageContext, detail: dict) -> None:
    st.subheader("Risk limits")
    limits = detail.get("limits") or {}
    rows = limit_rows(limits)
    if not rows:
        st.caption("The bot reports no risk limits.")
        return
    shown = []
    for r in rows:
        used, cap, left = limit_text(r)
        shown.append(
            {
                "limit": r["limit"],
                "used": used,
                "max": cap,
                "left": left,
                "left_ratio": "off" if r["left_ratio"] is None else pct(r["left_ratio"]),  # not "None"
            }
        )
    st.dataframe(
        pd.DataFrame(shown),
        hide_index=True,
        width="stretch",
        key="status_limits",
        column_config={
            "limit": columns.text("Limit"),
            "used": columns.text("Used"),
            "max": columns.text("Limit value"),
            "left": columns.text("Left before it triggers"),
            "left_ratio": columns.text("Left (%)"),
        },
    )
    extra = [f"trading day {limits['day']} ({ctx.day_zone})"] if limits.get("day") else []
    if limits.get("paused_until"):
        extra.append(f"entries paused until {utc(limits['paused_until'])}")
    if limits.get("manual_pause"):
        extra.append(f"paused by {limits['manual_pause']}")
    if extra:
        st.caption(" · ".join(extra))


def _feed(detail: dict, now_ms: int) -> None:
    feed = detail.get("feed") or {}
    if not feed:
        return
    st.markdown("**Market data**")
    rows = [
        {
            "symbol": s,
            "last_candle": utc_minute((i or {}).get("last_candle")),
            "age": age((now_ms - i["last_candle"]) / 1000) if (i or {}).get("last_candle") else "-",
            "error": (i or {}).get("error") or "",
        }
        for s, i in sorted(feed.items())
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key="status_feed",
        column_config={
            "symbol": columns.text("Symbol"),
            "last_candle": columns.text("Last closed candle (UTC)"),
            "age": columns.text("Age"),
            "error": columns.text("Error"),
        },
    )


def _positions(ctx: PageContext, pos: pd.DataFrame) -> None:
    st.subheader(f"Open positions ({len(pos)})")
    if pos.empty:
        st.caption("Flat: no open positions.")
        return
    p = ctx.precision
    shown = pd.DataFrame(
        {
            "algo": pos["algo"],
            "symbol": pos["symbol"],
            "amount": [p.amount(s, a) for s, a in zip(pos["symbol"], pos["amount"], strict=True)],
            "entry_price": [p.price(s, v) for s, v in zip(pos["symbol"], pos["entry_price"], strict=True)],
            "last_price": [p.price(s, v) for s, v in zip(pos["symbol"], pos["last_price"], strict=True)],
            "unrealized_pnl": pos["unrealized_pnl"],
            "unrealized_ratio": columns.as_percent(pos["unrealized_ratio"]),
            "stop_price": [p.price(s, v) for s, v in zip(pos["symbol"], pos["stop_price"], strict=True)],
            "time_in_trade": [duration(v) for v in pos["time_in_trade_ms"]],
            "entry_time": [utc_minute(v) for v in pos["entry_time"]],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="positions",
        column_config={
            "algo": columns.text("Strategy"),
            "symbol": columns.text("Symbol"),
            "amount": columns.text("Amount"),
            "entry_price": columns.text("Entry price"),
            "last_price": columns.text("Last price"),
            "unrealized_pnl": columns.money("Unrealized P&L", ctx.quote),
            "unrealized_ratio": columns.percent("Unrealized"),
            "stop_price": columns.text("Stop"),
            "time_in_trade": columns.text("Time in trade"),
            "entry_time": columns.text("Entry (UTC)"),
        },
    )


def _resting(ctx: PageContext, orders) -> None:
    """Orders open on the exchange (live: entries, maker exits, protective stops and take-profits),
    from the Orders table; nothing in paper mode."""
    if not orders:
        return
    st.subheader(f"Orders open on the exchange ({len(orders)})")
    rows = [
        {
            "time": utc_minute(o.created_at),
            "strategy": o.algo,
            "symbol": o.symbol,
            "side": o.side.value,
            "type": order_type(o.type),
            "role": getattr(o.role, "value", o.role),
            "price": ctx.precision.price(o.symbol, o.price) if o.price else "",
            "trigger": ctx.precision.price(o.symbol, o.stop_price) if o.stop_price else "",
            "amount": ctx.precision.amount(o.symbol, o.amount),
            "filled": ctx.precision.amount(o.symbol, o.filled or 0.0),
            "status": o.status.value,
            "client_order_id": o.client_order_id,
        }
        for o in orders
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key="resting_orders",
        column_config=columns.in_words(rows[0], time="Placed (UTC)", type="Order type", trigger="Trigger price"),
    )


def _pending(ctx: PageContext, orders: list[dict]) -> None:
    st.subheader(f"Open orders ({len(orders)})")
    if not orders:
        st.caption(
            "No open orders: every decided order has filled. Orders the bot decided and has not seen "
            "filled yet (sent to the exchange, or waiting for the next price) are listed here."
        )
        return
    p = ctx.precision
    rows = [
        {
            "client_order_id": o.get("client_order_id"),
            "algo": o.get("algo"),
            "symbol": o.get("symbol"),
            "action": o.get("action"),
            "amount": p.amount(o.get("symbol", ""), o.get("amount")),
            "decided_at": utc_minute(o.get("decided_at")),
            "reason": o.get("reason") or "entry",
        }
        for o in orders
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key="pending_orders",
        column_config={
            "client_order_id": columns.text("Client order id"),
            "algo": columns.text("Strategy"),
            "symbol": columns.text("Symbol"),
            "action": columns.text("Side"),
            "amount": columns.text("Amount"),
            "decided_at": columns.text("Decided (UTC)"),
            "reason": columns.text("Why"),
        },
    )
