"""Config versions panel: every stored version (number, time, who, note), the diff of a chosen
version to the one before it, and a one-click rollback (itself a new version, validated like
any save; :func:`daybreak.ops.config_versions.rollback`)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from daybreak.core.config import ConfigError
from daybreak.ops import config_versions
from daybreak.ui.columns import in_words
from daybreak.ui.config_form import show_saved
from daybreak.ui.fmt import utc
from storage import StorageError, Store
from storage.records import ConfigVersionRecord

LIMIT = 50
_NOTICE = "versions_notice"


def versions_frame(rows: list[ConfigVersionRecord], in_file: int | None, running: int | None) -> pd.DataFrame:
    """Newest first: ``version``, ``time`` (UTC), ``who``, ``note``, ``state`` (``in file`` /
    ``bot runs it``)."""

    def state(v: int) -> str:
        return ", ".join(s for s, on in (("in file", v == in_file), ("bot runs it", v == running)) if on)

    return pd.DataFrame(
        [
            {"version": r.version, "time": utc(r.timestamp), "who": r.author, "note": r.note, "state": state(r.version)}
            for r in rows
        ],
        columns=["version", "time", "who", "note", "state"],
    )


def _rollback(store: Store, path: Path, version: int, author: str) -> None:
    try:
        saved = config_versions.rollback(version, path, store, author, int(time.time() * 1000))
    except (ConfigError, StorageError) as err:
        st.session_state[_NOTICE] = ("error", f"Not rolled back: {err}")
        return
    st.session_state[_NOTICE] = ("saved", saved, f"Rolled back to version {version}")


def render(store: Store, path: Path, author: str, running: int | None = None) -> None:
    """Draw the panel for the config file ``path`` whose versions live in ``store``; ``running``
    is the version the bot reports in its status row."""
    st.subheader("Config versions")
    notice = st.session_state.pop(_NOTICE, None)
    if notice and notice[0] == "error":
        st.error(notice[1])
    elif notice:
        show_saved(notice[1], notice[2])
    rows = store.list_config_versions(limit=LIMIT)
    if not rows:
        st.caption("No config version stored yet: the bot stores one when it starts, the editor at each save.")
        return
    try:
        on_disk = config_versions.canonical(config_versions.read_document(path))
    except ConfigError:
        on_disk = None
    in_file = next((r.version for r in rows if config_versions.canonical(r.document) == on_disk), None)
    st.dataframe(
        versions_frame(rows, in_file, running),
        hide_index=True,
        width="stretch",
        key="versions_table",
        column_config=in_words(["version", "time", "who", "note", "state"], time="Saved (UTC)"),
    )
    chosen = st.selectbox(
        "Version",
        [r.version for r in rows],
        key="versions_pick",
        format_func=lambda v: f"{v} ({next(r.author for r in rows if r.version == v)})",
    )
    rec = next(r for r in rows if r.version == chosen)
    previous = store.get_config_version(chosen - 1) if chosen > 1 else None
    change = config_versions.diff(
        previous.document if previous is not None else None,
        rec.document,
        f"version {chosen - 1}" if previous else "(none)",
        f"version {chosen}",
    )
    st.code(change or "No change to the version before.", language="diff")
    st.button(
        f"Roll back to version {chosen}",
        key="versions_rollback",
        disabled=chosen == in_file,
        help="Writes this version's config again, as a new version",
        on_click=_rollback,
        args=(store, path, chosen, author),
    )
