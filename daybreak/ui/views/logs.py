"""Logs: the tail of the bot's log file (``log.path``), newest first, filtered by level and
searched by text, and the last error with its traceback. Reads the last megabyte of the file
(:func:`daybreak.ops.logs.tail_records`), so a long-running bot's log never loads whole.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from daybreak.ops.logs import LEVELS, LogRecord
from daybreak.ui import data
from daybreak.ui.context import PageContext
from daybreak.ui.fmt import utc, utc_minute
from daybreak.ui.views.common import refresh_every

SHOWN = 1000


def render(ctx: PageContext | None) -> None:
    st.header("Logs")
    if ctx is None:
        st.info("No usable config, so the log file is unknown: fix config.json (Config page).")
        return
    f = st.columns([2, 2])
    levels = f[0].multiselect(
        "Levels", list(LEVELS), default=["INFO", "WARNING", "ERROR", "CRITICAL"], key="logs_levels"
    )
    text = f[1].text_input("Search", key="logs_search", placeholder="e.g. BTC/USDT, TRADE, timeout")
    st.fragment(run_every=refresh_every(ctx, 10))(_body)(ctx, tuple(levels), text)


def select(records: list[LogRecord], levels: tuple[str, ...], text: str) -> list[LogRecord]:
    """Records of the chosen ``levels`` whose message or traceback contains ``text``
    (case-insensitive), newest first."""
    needle = text.strip().lower()
    return [
        r
        for r in reversed(records)
        if r.level in levels and (not needle or needle in r.message.lower() or needle in r.detail.lower())
    ]


def last_error(records: list[LogRecord]) -> LogRecord | None:
    """The newest ERROR or CRITICAL record, or None."""
    return next((r for r in reversed(records) if r.level in ("ERROR", "CRITICAL")), None)


def _body(ctx: PageContext, levels: tuple[str, ...], text: str) -> None:
    path = ctx.config.log.path
    records = data.log_records(path)
    if records is None:
        st.info(
            f"No log file at `{path}` on this machine (the bot writes it once it runs; the dashboard reads "
            "the same path, so run both on one host)."
        )
        return
    err = last_error(records)
    if err is not None:
        with st.expander(f"Last error, {utc(err.timestamp)}: {err.message[:120]}", expanded=False):
            st.code(err.message + ("\n" + err.detail if err.detail else ""), language=None)
    chosen = select(records, levels, text)
    st.caption(
        f"`{path}`: {len(records)} records in the last megabyte; {len(chosen)} match"
        + (f", newest {SHOWN} shown" if len(chosen) > SHOWN else "")
    )
    frame = pd.DataFrame(
        [
            {"time": utc_minute(r.timestamp), "level": r.level, "message": r.message, "traceback": r.detail}
            for r in chosen[:SHOWN]
        ],
        columns=["time", "level", "message", "traceback"],
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="logs_table",
        column_config={
            "time": st.column_config.TextColumn("Time (UTC)", width="small"),
            "level": st.column_config.TextColumn("Level", width="small"),
            "message": st.column_config.TextColumn("Message", width="large"),
            "traceback": st.column_config.TextColumn("Traceback", width="small"),
        },
    )
