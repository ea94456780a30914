"""Cached storage reads for the dashboard (never the exchange).

Every function takes ``store_key``: the ``storage`` section of the config as JSON
(:func:`store_key`), so two configs naming different stores never share a cache entry. Reads are
cached for :data:`TTL_SECONDS` (``st.cache_data``): the page refreshes often, the store is read at
most once per TTL. The store itself is opened once per key (``st.cache_resource``). Backend
failures raise :class:`storage.StorageError`.
"""
from __future__ import annotations

import streamlit as st

from daybreak.core.config import Config, StorageSettings
from daybreak.core.domain import Control, Event, Position, Trade
from daybreak.core.order_record import OrderRecord
from storage import Store, open_store
from storage.records import PriceRecord, StatusRecord

TTL_SECONDS = 5


def store_key(config: Config) -> str:
    """The cache key of ``config``'s store: its ``storage`` section as JSON."""
    return config.storage.model_dump_json()


@st.cache_resource(show_spinner=False)
def store(store_key: str) -> Store:
    """The opened store named by ``store_key`` (one per key and process)."""
    return open_store(StorageSettings.model_validate_json(store_key))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def status(store_key: str) -> StatusRecord | None:
    """The bot's heartbeat row, or None before its first heartbeat."""
    return store(store_key).get_status()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def trades(store_key: str, symbol: str | None = None, algo: str | None = None,
           limit: int | None = None) -> list[Trade]:
    """Stored trades, newest first, optionally of one symbol and/or one strategy, at most ``limit``."""
    return store(store_key).list_trades(symbol=symbol, algo=algo, newest_first=True, limit=limit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def summary(store_key: str) -> dict[str, dict[str, float]]:
    """P&L per strategy and ``total`` as the bot keeps it in the Stats table (the same
    :func:`daybreak.stats.stat_records` computation); from the trades when the table is empty."""
    from daybreak.reporting.stats import from_records, summarize

    kept = from_records(store(store_key).list_stats())
    return kept or summarize(store(store_key).list_trades())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def positions(store_key: str) -> list[Position]:
    """Open positions (one per strategy and symbol)."""
    return store(store_key).list_positions()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def price_symbols(store_key: str) -> list[str]:
    """Symbols with stored prices."""
    return store(store_key).price_symbols()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def last_price(store_key: str, symbol: str) -> PriceRecord | None:
    """The newest stored price of ``symbol``, or None."""
    rows = store(store_key).list_prices(symbol, limit=1)
    return rows[-1] if rows else None


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def prices(store_key: str, symbol: str, since: int | None = None) -> list[PriceRecord]:
    """Stored prices of ``symbol`` from ``since`` (ms, candle open) on, oldest first."""
    return store(store_key).list_prices(symbol, since=since)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def events(store_key: str, rule: str | None = None, limit: int = 200) -> list[Event]:
    """Recent events, newest first, optionally only those of one ``rule``."""
    return store(store_key).list_events(rule=rule, limit=limit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def orders(store_key: str, last: int = 50) -> list[OrderRecord]:
    """The ``last`` live orders, newest first."""
    return store(store_key).list_orders(limit=last)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def open_orders(store_key: str) -> list[OrderRecord]:
    """Orders not done (resting on the exchange, in flight, not booked yet), oldest first."""
    return store(store_key).list_orders(open_only=True)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def controls(store_key: str, last: int = 20) -> list[Control]:
    """The ``last`` control commands, newest first, with their acknowledgement status."""
    rows = store(store_key).list_controls(limit=1_000_000)
    return list(reversed(rows[-last:]))
