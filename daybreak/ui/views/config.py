"""Config: the editor of ``config.json`` (:mod:`daybreak.ui.config_form`), offering the symbols
the store has prices for besides the configured ones."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from daybreak.ui import config_form, data
from daybreak.ui.context import PageContext
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
    config_form.render(config_path, stored)
