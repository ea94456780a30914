"""Bot status section: heartbeat (with age), mode, state and reason, last error, market-data feed
errors, the risk limits with their distance to triggering, alert deliveries (failures stand out)
and the config version the bot runs.

Reads the bot's :class:`storage.records.StatusRecord`. ``detail["limits"]`` (written by the bot)
holds ``daily_loss_used``/``daily_loss_limit``, ``trades_today``/``max_trades_per_day``,
``loss_streak``/``max_consecutive_losses`` and ``paused_until`` (ms or None); ``detail["feed"]``
maps a symbol to ``{"last_candle": ms, "error": str}``; ``detail["storage"]``, present while writes
wait to be stored, is ``{"unsaved": n, "error": str, "since": ms}``. A limit of ``None`` means the
rule is off.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from daybreak.core.domain import BotState
from daybreak.ui.fmt import age, utc
from storage.records import StatusRecord

STALE_FACTOR = 3
"""The heartbeat is stale when older than this many ``poll_seconds``."""

LIMIT_PAIRS = (
    ("Daily loss", "daily_loss_used", "daily_loss_limit"),
    ("Trades today", "trades_today", "max_trades_per_day"),
    ("Loss streak", "loss_streak", "max_consecutive_losses"),
)
_SHOWN_ELSEWHERE = {k for _, used, lim in LIMIT_PAIRS for k in (used, lim)} | {"paused_until"}


def heartbeat_age_seconds(status: StatusRecord, now_ms: int) -> float:
    """Seconds since the bot's last heartbeat (never negative)."""
    return max(0.0, (now_ms - status.timestamp) / 1000)


def heartbeat_is_stale(age_seconds: float, poll_seconds: float) -> bool:
    """True when no heartbeat came for more than ``STALE_FACTOR`` polls."""
    return age_seconds > STALE_FACTOR * poll_seconds


def limit_rows(limits: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per risk limit the bot reports: ``limit``, ``used``, ``max`` and ``left``
    (``max - used``, the distance to triggering; None when the rule is off)."""
    rows = []
    for label, used_key, max_key in LIMIT_PAIRS:
        if used_key not in limits and max_key not in limits:
            continue
        used, cap = limits.get(used_key), limits.get(max_key)
        left = None if cap is None or used is None else cap - used
        rows.append({"limit": label, "used": used, "max": cap, "left": left})
    return rows


def other_limit_facts(limits: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``limits`` not shown as a limit row (e.g. the trading ``day``), set ones only."""
    return {k: v for k, v in limits.items() if k not in _SHOWN_ELSEWHERE and v not in (None, "")}


def feed_rows(feed: dict[str, dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
    """One row per symbol: last closed candle (UTC), its age and the feed error (empty if fine)."""
    rows = []
    for symbol, info in sorted(feed.items()):
        last = (info or {}).get("last_candle")
        rows.append({
            "symbol": symbol,
            "last candle": utc(last),
            "age": age((now_ms - last) / 1000) if last else "-",
            "error": (info or {}).get("error") or "",
        })
    return rows


def alerts_line(notify: dict | None) -> tuple[bool, str]:
    """(trouble, text) for the bot's alert counters (``detail["notify"]``, None: alerts off)."""
    if not notify:
        return False, "Alerts: off (no notification URLs configured, or notify.enabled is false)"
    text = (f"Alerts: {notify.get('sent', 0)} sent to {notify.get('targets', 0)} target(s), "
            f"{notify.get('suppressed', 0)} held back by de-duplication or rate limit")
    failed, dropped = notify.get("failed", 0), notify.get("dropped", 0)
    if not failed and not dropped:
        return False, text
    when = notify.get("last_error_at")
    last = f"; last error ({utc(int(when * 1000))}): {notify.get('last_error')}" if when else ""
    return True, f"{text}; {failed} delivery(ies) failed, {dropped} dropped{last}"


def _alerts(notify: dict | None, config_version: int | None) -> None:
    trouble, text = alerts_line(notify)
    if config_version is not None:
        text += f" · running config version {config_version}"
    (st.warning if trouble else st.caption)(text)
def storage_line(storage: dict[str, Any], now_ms: int) -> str:
    """What the trader reads while the bot's writes fail: how many wait, since when, and why."""
    since = storage.get("since")
    when = f" for {age((now_ms - since) / 1000)} (since {utc(since)})" if since else ""
    return (f"Storage failing{when}: {storage.get('unsaved', 0)} write(s) kept in memory and retried every "
            f"cycle; new entries are paused until they are stored (exits still run). Error: {storage.get('error')}")


def render(status: StatusRecord | None, poll_seconds: float, now_ms: int, quote: str = "quote") -> None:
    """Draw the status section. ``quote`` names the quote currency of equity and cash."""
    st.subheader("Bot status")
    if status is None:
        st.info("No heartbeat yet: the bot has not written to this store. Start it with "
                "`python bot.py run --config <this config>`.")
        return
    heartbeat_age = heartbeat_age_seconds(status, now_ms)
    detail = status.detail or {}
    c1, c2, c3 = st.columns([2.2, 1, 1.4])
    c1.metric("State", status.state, help=status.reason or None)
    c2.metric("Mode", status.mode)
    c3.metric("Last heartbeat", f"{age(heartbeat_age)} ago", help=utc(status.timestamp))
    money = [(f"Equity ({quote})", detail.get("equity"), "Cash plus open positions at the last price"),
             (f"Cash ({quote})", detail.get("cash"), None)]
    money = [m for m in money if isinstance(m[1], (int, float))]
    if money:
        for col, (label, value, help_) in zip(st.columns([2.2, 1, 1.4]), money):
            col.metric(label, f"{value:,.2f}", help=help_)
    caption = f"Heartbeat at {utc(status.timestamp)}"
    if status.reason:
        caption += f" · reason: {status.reason}"
    st.caption(caption)
    if status.state == BotState.SHUTDOWN.value:
        st.info(f"The bot stopped at {utc(status.timestamp)} ({age(heartbeat_age)} ago); figures below are "
                "from its last run. Controls are acted on when it runs again.")
    elif heartbeat_is_stale(heartbeat_age, poll_seconds):
        st.warning(f"No heartbeat for {age(heartbeat_age)} (more than {STALE_FACTOR} × poll_seconds "
                   f"= {STALE_FACTOR * poll_seconds:g} s): the bot is stopped or stuck.")
    state_line = f"{status.state}: {status.reason}" if status.reason else status.state
    if status.state == BotState.ERROR.value:
        st.error(state_line)
    elif status.state in (BotState.PAUSED_MANUAL.value, BotState.PAUSED_RISK_LIMIT.value):
        st.warning(state_line)
    storage = detail.get("storage")
    if storage:
        st.error(storage_line(storage, now_ms))
    elif status.last_error:
        st.error(f"Last error ({utc(status.last_error_at)}): {status.last_error}")
    _alerts(detail.get("notify"), detail.get("config_version"))

    feed = feed_rows(detail.get("feed") or {}, now_ms)
    for row in feed:
        if row["error"]:
            st.error(f"Market data for {row['symbol']} failing (exchange unreachable?): {row['error']}")
    limits = detail.get("limits") or {}
    if limits.get("paused_until"):
        st.warning(f"New entries paused until {utc(limits['paused_until'])}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Risk limits** (left = distance to triggering; empty max = rule off)")
        rows = limit_rows(limits)
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="status_limits")
        else:
            st.caption("The bot reports no risk limits.")
        facts = other_limit_facts(limits)
        if facts:
            st.caption(" · ".join(f"{k}: {v}" for k, v in facts.items()))
    with right:
        st.markdown("**Market data feed**")
        if feed:
            st.dataframe(pd.DataFrame(feed), hide_index=True, width="stretch", key="status_feed")
        else:
            st.caption("The bot reports no feed status.")
