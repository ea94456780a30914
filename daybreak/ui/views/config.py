"""Config: the editor of ``config.json`` (:mod:`daybreak.ui.config_form`), offering the symbols
the store has prices for besides the configured ones."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from daybreak.ui import config_form, config_versions, data, doctor
from daybreak.ui.context import AUDIT_USER, PageContext
from storage import StorageError


def render(ctx: PageContext | None, config_path: Path) -> None:
    st.header("Config")
    stored: list[str] = []
    if ctx is not None:
        key, present = ctx.store()
        try:
            stored = data.price_symbols(key) if present else []
        except StorageError as err:
            st.error(f"Storage unavailable: {err} (the editor works without it).")
    who = st.session_state.get(AUDIT_USER, "dashboard:local")
    store = None
    if ctx is not None and ctx.store()[1]:
        try:
            store = data.store(ctx.store()[0])
        except StorageError as err:
            st.error(f"Storage unavailable: {err} (saves are not recorded as versions until it is back).")
    config_form.render(config_path, stored, author=who, store=store)
    with st.expander("Config versions", expanded=False):
        if store is None:
            st.caption("No store yet: versions are kept once the bot has created it.")
        else:
            status = data.status(ctx.store()[0]) if ctx is not None else None
            running = (status.detail or {}).get("config_version") if status else None
            config_versions.render(store, config_path, who, running)
    with st.expander("Health check", expanded=False):
        doctor.render(config_path, store)
