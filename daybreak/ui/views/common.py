"""Pieces every page uses: the store guard and page prologue, the bot's clock, trading-day bounds and time windows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from daybreak.ui.context import PageContext
from storage import StorageError
from storage.records import StatusRecord

DAY_MS = 86_400_000
WINDOWS = {"24 h": DAY_MS, "7 d": 7 * DAY_MS, "30 d": 30 * DAY_MS, "90 d": 90 * DAY_MS, "All": None}
"""Look-back windows, ending at the bot's clock (so a finished replay still shows its data)."""


def store_key(ctx: PageContext | None) -> str | None:
    """The store key of ``ctx``, or None after saying why there is nothing to read."""
    if ctx is None:
        st.info(
            "No usable config: `config.json` is not valid JSON, so the store it names is unknown. "
            "Fix the file (Config page)."
        )
        return None
    key, present = ctx.store()
    if not present:
        st.info(
            f"No store at `{ctx.config.storage.path}` yet: the bot has not run with this config "
            "(or the file was deleted). Start it with `python bot.py run --config "
            f"{ctx.config_path}`."
        )
        return None
    return key


def store_page(
    title: str, ctx: PageContext | None, body: Callable[[PageContext, str], None], refresh_seconds: float
) -> None:
    """A page that reads the store: its header, the store guard (:func:`store_key`), then
    ``body(ctx, store_key)`` as a fragment re-run every ``refresh_seconds`` (:func:`refresh_every`);
    a storage failure inside it is shown as such (:func:`storage_down`) instead of an exception."""
    st.header(title)
    key = store_key(ctx)
    if key is None or ctx is None:
        return

    @functools.wraps(body)  # the fragment is known by the body's name
    def guarded(ctx: PageContext, key: str) -> None:
        try:
            body(ctx, key)
        except StorageError as err:
            storage_down(ctx, err)

    st.fragment(run_every=refresh_every(ctx, refresh_seconds))(guarded)(ctx, key)


def storage_down(ctx: PageContext, err: Exception) -> None:
    st.error(f"Storage unavailable ({ctx.config.storage.backend}): {err}. Retrying on the next refresh.")


def bot_now(status: StatusRecord | None, wall_ms: int) -> int:
    """The bot's own clock: its last heartbeat time (market time in a replay), else the wall clock."""
    return int(status.timestamp) if status is not None else wall_ms


def day_start(ms: int, zone: str) -> int:
    """Epoch ms of midnight in ``zone`` starting the trading day that contains ``ms``."""
    local = datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


def day_bounds(day: date, zone: str) -> tuple[int, int]:
    """``[start, end]`` ms of the calendar ``day`` (a ``date``) in ``zone``, end inclusive."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    end = start + timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1


def window_since(window: str, end_ms: int) -> int | None:
    """Start (ms) of the look-back ``window`` (a :data:`WINDOWS` key) ending at ``end_ms``."""
    span = WINDOWS[window]
    return None if span is None else end_ms - span


def refresh_every(ctx: PageContext, seconds: float) -> float | None:
    """The auto-refresh period of a page fragment: ``seconds`` (at least ``poll_seconds``), or
    None when the trader turned auto-refresh off (sidebar toggle)."""
    if not st.session_state.get("auto_refresh", True):
        return None
    return max(seconds, ctx.config.poll_seconds)
