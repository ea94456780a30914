"""Cached storage reads for the dashboard (never the exchange).

Every function takes ``store_key`` (:meth:`daybreak.ui.context.PageContext.store`: the
``storage`` section as JSON plus the SQLite file's identity), so two stores never share a cache
entry and a re-created store is read afresh. Reads go by key and time range (trades between two
times, prices of one symbol since a time, the Stats table), never the whole history unless the
trader asks for "All". Small reads are cached for :data:`TTL_SECONDS`, window reads for
:data:`WINDOW_TTL_SECONDS` (``st.cache_data``); the store is opened once per key
(``st.cache_resource``). Backend failures raise :class:`storage.StorageError`.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import streamlit as st

from daybreak.core.config import StorageSettings
from daybreak.core.domain import Control, Event, Position, Trade
from daybreak.core.order_record import OrderRecord
from daybreak.ops.logs import LogRecord, tail_records
from daybreak.reporting.performance import window_round_trips
from daybreak.reporting.stats import daily_from_records, from_records, summarize
from storage import Store, open_store
from storage.records import SignalRecord, StatRecord, StatusRecord

TTL_SECONDS = 5
WINDOW_TTL_SECONDS = 15
LOOKBACK_FILLS = 50
"""Fills read back before a window to find the buy of a position the window closes."""
PRICE_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]


@st.cache_resource(show_spinner=False, max_entries=8)
def store(store_key: str) -> Store:
    """The opened store named by ``store_key`` (one per key and process)."""
    return open_store(StorageSettings.model_validate_json(store_key.partition("|")[0]))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def status(store_key: str) -> StatusRecord | None:
    """The bot's heartbeat row, or None before its first heartbeat."""
    return store(store_key).get_status()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def stat_rows(store_key: str, daily: bool = False) -> list[StatRecord]:
    """The Stats table the bot keeps: totals per strategy, or (``daily``) the daily aggregates."""
    return store(store_key).list_stats(daily=daily)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def summary(store_key: str) -> dict[str, dict[str, float]]:
    """P&L per strategy and ``total`` of every trade, from the Stats table the bot keeps
    (:func:`daybreak.reporting.stats.from_records`); from the trades when the table is empty."""
    return from_records(stat_rows(store_key)) or _summary_from_trades(store_key)


@st.cache_data(ttl=WINDOW_TTL_SECONDS, show_spinner=False)
def _summary_from_trades(store_key: str) -> dict[str, dict[str, float]]:
    return summarize(store(store_key).list_trades())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def daily(store_key: str) -> pd.DataFrame:
    """Daily aggregates per strategy from the Stats table (empty for a bot that keeps none)."""
    return daily_from_records(stat_rows(store_key, daily=True))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def trades(
    store_key: str,
    since: int | None = None,
    until: int | None = None,
    symbol: str | None = None,
    algo: str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[Trade]:
    """Stored fills in ``[since, until]`` (ms), optionally of one symbol and/or strategy."""
    return store(store_key).list_trades(
        symbol=symbol, algo=algo, since=since, until=until, limit=limit, newest_first=newest_first
    )


@st.cache_data(ttl=WINDOW_TTL_SECONDS, show_spinner=False)
def round_trips(store_key: str, since: int | None, until: int | None = None) -> pd.DataFrame:
    """Round trips closed in ``[since, until]`` (:func:`daybreak.reporting.performance.window_round_trips`;
    positions opened before ``since`` are paired with their buy, read back by strategy and symbol)."""
    s = store(store_key)
    fills = trades(store_key, since=since, until=until)  # the page's own read of the window, when it has one

    def earlier(algo: str, symbol: str) -> list[Trade]:
        assert since is not None  # window_round_trips asks for earlier fills only for a window with a start
        return s.list_trades(symbol=symbol, algo=algo, until=since - 1, newest_first=True, limit=LOOKBACK_FILLS)

    return window_round_trips(fills, since, earlier)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def positions(store_key: str, as_of: int | None = None) -> list[Position]:
    """Open positions (one per strategy and symbol). ``as_of`` (the status row's time) only keys
    the cache: a page that marks positions against the status row's cash passes it, so the
    positions are read again whenever the status row moved on (a fast replay books many fills
    per TTL; positions older than the cash would show a phantom P&L)."""
    return store(store_key).list_positions()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def pending_orders(store_key: str) -> list[dict]:
    """Orders decided but not filled yet (the bot's ``pending_orders`` state: client order id,
    strategy, symbol, side, amount, decision time, exit reason)."""
    raw = store(store_key).get_state("pending_orders")
    return json.loads(raw) if raw else []


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def price_symbols(store_key: str) -> list[str]:
    """Symbols with stored prices."""
    return store(store_key).price_symbols()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def last_prices(store_key: str, symbols: tuple[str, ...]) -> dict[str, tuple[int, float]]:
    """Symbol -> (candle open ms, close) of its newest stored price (symbols without any left out)."""
    out = {}
    for sym in symbols:
        rows = store(store_key).list_prices(sym, limit=1)
        if rows:
            out[sym] = (rows[-1].timestamp, rows[-1].price)
    return out


@st.cache_data(ttl=WINDOW_TTL_SECONDS, show_spinner=False)
def candles(store_key: str, symbol: str, since: int | None = None, until: int | None = None) -> pd.DataFrame:
    """Stored prices of ``symbol`` in ``[since, until]`` as candles: :data:`PRICE_COLUMNS`
    (``timestamp`` candle open ms; ``close`` the stored price; open/high/low/volume NaN where the
    bot stored only a close), oldest first."""
    rows = store(store_key).list_prices(symbol, since=since, until=until)
    frame = pd.DataFrame([(p.timestamp, p.open, p.high, p.low, p.price, p.volume) for p in rows], columns=PRICE_COLUMNS)
    return frame.astype({"timestamp": "int64", **{c: "float64" for c in PRICE_COLUMNS[1:]}})


@st.cache_data(ttl=WINDOW_TTL_SECONDS, show_spinner=False)
def marks(store_key: str, symbols: tuple[str, ...], since: int, until: int) -> dict[str, pd.DataFrame]:
    """Per symbol, the stored closes to mark positions with over ``[since, until]``: frames of
    ``timestamp`` (candle open ms) and ``price``, starting with the newest price before ``since``
    (what was known at the window's start), then every stored price in the window."""
    out = {}
    for sym in symbols:
        rows = store(store_key).list_prices(sym, until=since - 1, limit=1)
        rows += store(store_key).list_prices(sym, since=since, until=until)
        out[sym] = pd.DataFrame([(p.timestamp, p.price) for p in rows], columns=["timestamp", "price"]).astype(
            {"timestamp": "int64", "price": "float64"}
        )
    return out


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def events(store_key: str, rule: str | None = None, limit: int = 200) -> list[Event]:
    """Recent events, newest first, optionally only those of one ``rule``."""
    return store(store_key).list_events(rule=rule, limit=limit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def signals(store_key: str) -> list[SignalRecord]:
    """Every external signal (all statuses), oldest first."""
    return store(store_key).list_signals()


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


def clear_after_write() -> None:
    """Forget cached controls (after the dashboard wrote one)."""
    controls.clear()


def log_records(path: str, max_bytes: int = 1_000_000) -> list[LogRecord] | None:
    """The records in the last ``max_bytes`` of the log file ``path`` (None when it cannot be
    read), cached until the file changes."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return _log_tail(path, max_bytes, info.st_size, info.st_mtime_ns)


@st.cache_data(ttl=60, show_spinner=False, max_entries=4)
def _log_tail(path: str, max_bytes: int, size: int, mtime_ns: int) -> list[LogRecord] | None:
    try:
        return tail_records(path, max_bytes)
    except OSError:
        return None
