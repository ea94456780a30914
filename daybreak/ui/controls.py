"""Manual controls: pause (no new entries), resume (the bot resumes only when its risk limits
allow) and flatten (close every position at market; asks for confirmation first).

Each button writes one :class:`storage.records.Control` (made by
:func:`daybreak.core.domain.new_control`, as ``bot.py control`` does) with a fresh unique ``control_id``,
``source="dashboard"`` and ``status="pending"``; the bot acts on it within one poll and sets
``status`` to ``done``, ``refused`` or ``expired`` with ``acked_at`` and a ``result``. When no bot
is running on the store (no recent heartbeat) the notice says so instead. The latest controls
and their acknowledgements are listed below the buttons.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

from daybreak.core.domain import Control, new_control
from daybreak.ui.fmt import utc
from storage import StorageError, Store
from storage.records import StatusRecord

SOURCE = "dashboard"
_CONFIRM = "controls_flatten_confirm"
_NOTICE = "controls_notice"
_ERROR = "controls_error"


def controls_frame(controls: Iterable[Control]) -> pd.DataFrame:
    """Controls in the order given: ``time``, ``action``, ``source``, ``status``, ``acked``, ``result``."""
    rows = [
        {
            "time": utc(c.timestamp),
            "action": c.action,
            "source": c.source,
            "status": c.status,
            "acked": utc(c.acked_at) if c.acked_at else "",
            "result": c.result,
            "control_id": c.control_id,
        }
        for c in controls
    ]
    return pd.DataFrame(rows, columns=["time", "action", "source", "status", "acked", "result", "control_id"])


def sent_notice(
    action: str, at_ms: int, status: StatusRecord | None, poll_seconds: float, max_age_seconds: float
) -> str:
    """What the trader is told after a control is written: acted on within one poll when a bot
    is running (:meth:`~storage.records.StatusRecord.bot_running`), else that none is."""
    head = f"{action.capitalize()} requested at {utc(at_ms)}; "
    if status is not None and status.bot_running(at_ms, poll_seconds):
        return head + "the bot acts on it within one poll (Operations lists its answer)."
    return head + (
        f"no bot is running on this store: it waits for one to start and expires after "
        f"{max_age_seconds:g} s (control_max_age_seconds)."
    )


def _send(
    store: Callable[[], Store],
    action: str,
    on_sent: Callable[[], None],
    source: str = SOURCE,
    poll_seconds: float = 5.0,
    max_age_seconds: float = 300.0,
) -> None:
    record = new_control(action, source, int(time.time() * 1000))
    try:
        opened = store()
        opened.put_control(record)
        status = opened.get_status()
    except StorageError as err:
        st.session_state[_ERROR] = f"{action.capitalize()} not sent: storage unavailable: {err}"
        return
    on_sent()
    st.session_state[_NOTICE] = sent_notice(action, record.timestamp, status, poll_seconds, max_age_seconds)


def _set_confirm(on: bool) -> None:
    st.session_state[_CONFIRM] = on
    if not on:
        st.session_state[_NOTICE] = "Flatten cancelled; nothing was sent."


def _confirm_flatten(store: Callable[[], Store], on_sent: Callable[[], None], source: str = SOURCE) -> None:
    st.session_state[_CONFIRM] = False
    _send(store, "flatten", on_sent, source)


def buttons(
    store: Callable[[], Store] | None,
    open_positions: int,
    on_sent: Callable[[], None],
    why_not: str = "",
    source: str = SOURCE,
) -> None:
    """The three buttons (in the sidebar, so they are on every page). ``store()`` opens the store
    to write to; with ``store`` None the buttons are disabled and ``why_not`` says why.
    ``on_sent`` runs after a write (cache reset); ``source`` is who asked, stored on each control
    (``dashboard:<user>``).

    Buttons act in ``on_click`` callbacks, which run before the page is redrawn, so the
    confirmation and the list of controls are up to date in the same run.
    """
    off = store is None
    tip = why_not or None
    b1, b2 = st.columns(2)
    b1.button(
        "Pause",
        key="control_pause",
        help=tip or "No new entries; exits and stops still work",
        on_click=_send,
        args=(store, "pause", on_sent, source),
        disabled=off,
        width="stretch",
        icon=":material/pause:",
    )
    b2.button(
        "Resume",
        key="control_resume",
        help=tip or "The bot resumes only if its risk limits allow",
        on_click=_send,
        args=(store, "resume", on_sent, source),
        disabled=off,
        width="stretch",
        icon=":material/play_arrow:",
    )
    st.button(
        "Flatten all positions…",
        key="control_flatten",
        help=tip or "Close every position at market",
        on_click=_set_confirm,
        args=(True,),
        disabled=off,
        width="stretch",
        icon=":material/block:",
    )
    if st.session_state.get(_CONFIRM) and not off:
        st.warning(
            f"Flatten closes every open position ({open_positions}) at market and cancels open orders. Are you sure?"
        )
        y, n = st.columns(2)
        y.button(
            "Yes, flatten now",
            key="control_flatten_confirm",
            type="primary",
            on_click=_confirm_flatten,
            args=(store, on_sent, source),
        )
        n.button("Cancel", key="control_flatten_cancel", on_click=_set_confirm, args=(False,))
    if st.session_state.get(_NOTICE):
        st.success(st.session_state.pop(_NOTICE))
    if st.session_state.get(_ERROR):
        st.error(st.session_state.pop(_ERROR))
    if off and why_not:
        st.caption(why_not)


COLUMNS = {
    "time": "Sent (UTC)",
    "action": "Action",
    "source": "From",
    "status": "Status",
    "acked": "Acknowledged (UTC)",
    "result": "Result",
    "control_id": "Control id",
}


def history(rows: list[Control]) -> None:
    """The latest controls with their acknowledgements (newest first)."""
    if rows:
        st.dataframe(
            controls_frame(rows),
            hide_index=True,
            width="stretch",
            column_config={k: st.column_config.TextColumn(v) for k, v in COLUMNS.items()},
        )
    else:
        st.caption("No controls sent yet.")
