"""The dashboard page: wires the sections of :mod:`daybreak.ui` to one config file and its store.

Layout: the bot status and manual controls on top, then tabs for trades and P&L, the price
chart, recent events and the config editor. Everything but the editor sits in a fragment that
re-reads storage every few seconds (:data:`REFRESH_SECONDS` or ``poll_seconds``, whichever is
longer) while auto-refresh is on.
"""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from daybreak.core.config import Config, ConfigError
from daybreak.ops.config_file import load_config
from daybreak.ui import account, charts, config_form, controls, data, events, status, trades
from storage import StorageError

REFRESH_SECONDS = 5


def main(config_path: Path) -> None:
    """Render the whole page for ``config_path``."""
    st.set_page_config(page_title="Daybreak", page_icon="📈", layout="wide")
    st.title("Daybreak")
    try:
        config = load_config(config_path)
    except ConfigError as err:
        st.error(f"{err}\n\nThe bot refuses this file and keeps its last good config. Fix it below or by hand.")
        config_form.render(config_path)
        return
    st.sidebar.markdown(f"**Config** `{config_path}`  \n**Store** {config.storage.backend} "
                        f"`{config.storage.path if config.storage.backend == 'sqlite' else config.storage.table_prefix}`")
    auto = st.sidebar.toggle("Auto-refresh", value=True, key="auto_refresh",
                             help="Re-read storage every few seconds")
    every = max(REFRESH_SECONDS, config.poll_seconds) if auto else None
    st.fragment(run_every=every)(_live)(config)
    with st.expander("Configuration editor", expanded=False):
        config_form.render(config_path, _safe(lambda: data.price_symbols(data.store_key(config)), []))


def _safe(read, fallback):
    try:
        return read()
    except StorageError as err:
        st.error(f"Storage unavailable: {err}")
        return fallback


def _live(config: Config) -> None:
    """Status, controls, trades, chart and events: everything read from storage."""
    key = data.store_key(config)
    try:
        store = data.store(key)
        now_ms = int(time.time() * 1000)
        bot_status = data.status(key)
        status.render(bot_status, config.poll_seconds, now_ms, trades.quote_currency(config.symbols))
        account.render((bot_status.detail or {}).get("account") if bot_status else None, data.orders(key))
        open_positions = data.positions(key)
        controls.render(store, lambda: data.controls(key), len(open_positions), on_sent=data.controls.clear,
                        poll_seconds=config.poll_seconds, max_age_seconds=config.control_max_age_seconds)
        tab_trades, tab_chart, tab_events = st.tabs(["Trades & P&L", "Price chart", "Events"])
        with tab_trades:
            trades.render(lambda symbol, algo, limit: data.trades(key, symbol, algo, limit), lambda: data.summary(key),
                          sorted(set(config.symbols) | set(data.price_symbols(key))), open_positions,
                          lambda symbol: data.last_price(key, symbol), data.open_orders(key))
        with tab_chart:
            charts.render(data.price_symbols(key), lambda symbol, since: data.prices(key, symbol, since),
                          lambda symbol: data.trades(key, symbol, None), lambda symbol: data.last_price(key, symbol))
        with tab_events:
            events.render(lambda rule, limit: data.events(key, rule, limit))
    except StorageError as err:
        st.error(f"Storage unavailable ({config.storage.backend}): {err}. Retrying on the next refresh.")
