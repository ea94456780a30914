"""The dashboard's entry point: resolves the config and its store, draws the sidebar (page
navigation, Pause / Resume / Flatten, store and refresh settings) and runs the selected page.

Pages (``st.navigation``, one script each in ``daybreak/ui/pages/``): Operations (the default),
Performance, Trades, Chart, Signals, Logs, Config. A broken ``config.json`` shows its error on
every page and the pages keep reading the store of the last good config (see
:mod:`daybreak.ui.context`).
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import streamlit as st

from daybreak.ui import auth, context, controls, data
from daybreak.ui.context import AUDIT_USER, PageContext
from storage import StorageError

PAGES_DIR = Path(__file__).resolve().parent / "pages"
PAGES = (
    # (script, title, icon, url path)
    ("operations.py", "Operations", ":material/monitor_heart:", "operations"),
    ("performance.py", "Performance", ":material/show_chart:", "performance"),
    ("trades.py", "Trades", ":material/receipt_long:", "trades"),
    ("chart.py", "Chart", ":material/candlestick_chart:", "chart"),
    ("signals.py", "Signals", ":material/inbox:", "signals"),
    ("logs.py", "Logs", ":material/article:", "logs"),
    ("config.py", "Config", ":material/tune:", "config"),
)


VIEWS = ("operations", "performance", "trades", "chart", "signals", "logs", "config")
_prewarm_lock = threading.Lock()
_prewarmed: list[threading.Thread] = []


def prewarm() -> threading.Thread:
    """Import every page's view module (Altair, the reporting code, the strategies) and build one
    tiny chart in a background thread, once per process: the first visit to a chart page would
    otherwise spend a second or more importing Altair and loading its schema. Returns the
    thread (started by the first call)."""
    with _prewarm_lock:
        if not _prewarmed:
            _prewarmed.append(threading.Thread(target=_warm, name="daybreak-prewarm", daemon=True))
            _prewarmed[0].start()
        return _prewarmed[0]


def _warm() -> None:
    for view in VIEWS:
        importlib.import_module(f"daybreak.ui.views.{view}")
    import altair as alt  # lazy: the point of the thread (about a second, off the first chart page)
    import pandas as pd  # lazy: with altair

    alt.Chart(pd.DataFrame({"x": [0.0]})).mark_point().encode(x="x:Q").to_dict()  # loads the schema


def main(config_path: Path) -> None:
    """Render the dashboard for ``config_path``."""
    st.set_page_config(page_title="Daybreak", page_icon="📈", layout="wide")
    prewarm()
    st.session_state[AUDIT_USER] = f"dashboard:{auth.require_login()}"  # nothing below runs before the login
    ctx = context.build(config_path)
    page = st.navigation(
        [
            st.Page(PAGES_DIR / script, title=title, icon=icon, url_path=url, default=i == 0)
            for i, (script, title, icon, url) in enumerate(PAGES)
        ]
    )
    sidebar(ctx, config_path)
    if ctx is not None and ctx.config_error:
        st.error(
            f"{ctx.config_error}\n\nThe bot refuses this file and keeps trading on its last good config. "
            f"Shown here: the store of the {ctx.config_source} config. Fix the file on the Config page."
        )
    elif ctx is None:
        st.error(
            f"{context.current_error()}\n\nThe bot refuses this file and keeps trading on its last good "
            "config; which store that is cannot be read from this file. Fix it by hand."
        )
    page.run()


def sidebar(ctx: PageContext | None, config_path: Path) -> None:
    """Controls (always here, whatever the page), then where the data comes from."""
    with st.sidebar:
        st.markdown("**Controls**")
        if ctx is None:
            controls.buttons(
                None,
                0,
                data.clear_after_write,
                "No usable config: fix it on the Config page.",
                source=st.session_state[AUDIT_USER],
            )
        else:
            key, present = ctx.store()
            why = "" if present else f"No store at {ctx.config.storage.path} yet: start the bot first."
            try:
                n_open = len(data.positions(key)) if present else 0
            except StorageError:
                n_open = 0
            controls.buttons(
                (lambda: data.store(key)) if present else None,
                n_open,
                data.clear_after_write,
                why,
                source=st.session_state[AUDIT_USER],
            )
        st.divider()
        st.toggle("Auto-refresh", value=True, key="auto_refresh", help="Re-read storage every few seconds")
        st.caption(f"Config `{config_path}`")
        if ctx is not None:
            s = ctx.config.storage
            where = s.path if s.backend == "sqlite" else f"{s.table_prefix}* ({s.endpoint_url or s.region})"
            st.caption(
                f"Store {s.backend} `{where}`  \nTimes in UTC"
                + (f"; trading day in {ctx.day_zone}" if ctx.day_zone != "UTC" else "")
            )
