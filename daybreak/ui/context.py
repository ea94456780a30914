"""What every page of one run needs: the config (or, when the file is broken, the last good one
or what can be salvaged of it), the store it names and its identity, the quote currency, the
trader's day timezone and market precisions. Built once per run by :func:`build` in the entry
point and handed to the page scripts through the session (:func:`current`).

A broken ``config.json`` never hides the operations view: the bot keeps trading on its last
good config, so the dashboard keeps showing that store. Preference: the file as it is; the last
good config this dashboard process read from that path; the file's own ``storage`` / ``log`` /
``symbols`` sections validated alone (other keys at their defaults); nothing when the file is not
JSON at all (then only the error and the editor's explanation are shown).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from daybreak.core.config import Config, ConfigError, LogSettings, StorageSettings
from daybreak.core.markets import load_snapshot
from daybreak.ops.config_file import load_config
from daybreak.ui.fmt import Precision

_SESSION_KEY = "daybreak.page_context"
_PATH_KEY = "daybreak.config_path"
_ERROR_KEY = "daybreak.config_error"

AUDIT_USER = "audit_user"
"""Session key of who is logged in (``dashboard:<user>``): stored on controls and config versions."""


@dataclass(frozen=True)
class PageContext:
    """One run's view of the deployment. ``config_error`` is the refusal message of a broken
    file and ``config_source`` says which config is shown then (``file``, ``last good``,
    ``salvaged``)."""

    config_path: Path
    config: Config
    config_error: str | None
    config_source: str
    quote: str
    precision: Precision

    @property
    def day_zone(self) -> str:
        """The trader's day timezone (``risk.day_timezone``)."""
        return self.config.risk.day_timezone

    def store(self) -> tuple[str, bool]:
        """``(key, present)`` of the store now (:func:`store_identity`; checked on every call,
        so an auto-refreshing fragment notices a deleted store)."""
        return store_identity(self.config)

    @staticmethod
    def now_ms() -> int:
        """Wall clock, UTC epoch ms."""
        return int(time.time() * 1000)


@st.cache_resource(show_spinner=False)
def _last_good() -> dict[str, Config]:
    """Per config path, the last config this process read successfully (a per-process cache, as
    the bot keeps its own last good config)."""
    return {}


def resolve_config(path: Path) -> tuple[Config | None, str | None, str]:
    """``(config, error, source)``: see the module docstring. ``config`` None only when nothing
    usable is left (then the page shows the editor and the error)."""
    memory = _last_good()
    try:
        config = load_config(path)
    except ConfigError as err:
        kept = memory.get(str(path))
        if kept is not None:
            return kept, str(err), "last good"
        return _salvage(path), str(err), "salvaged"
    memory[str(path)] = config
    return config, None, "file"


def _salvage(path: Path) -> Config | None:
    """The file's ``storage``, ``log`` and ``symbols`` validated alone; None when the file is not
    a JSON object at all (its store cannot be known, and guessing could show another store)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    try:
        storage = StorageSettings.model_validate(raw.get("storage", {}))
    except ValueError:
        return None
    try:
        log = LogSettings.model_validate(raw.get("log", {}))
    except ValueError:
        log = LogSettings()
    symbols = raw.get("symbols")
    if symbols is None:  # none given: the default symbols
        return Config(storage=storage, log=log)
    try:
        return Config(symbols=symbols, storage=storage, log=log)
    except ValueError:
        return Config(storage=storage, log=log)


def store_identity(config: Config) -> tuple[str, bool]:
    """``(key, present)``: the store's settings as JSON plus, for SQLite, the file's device and
    inode, so a deleted and re-created store is a new cache entry (no old data shown), and
    whether the file exists. DynamoDB tables are always present here (reads fail if not)."""
    settings = config.storage.model_dump_json()
    if config.storage.backend != "sqlite":
        return settings, True
    try:
        st_ = os.stat(config.storage.path)
    except OSError:
        return f"{settings}|missing", False
    return f"{settings}|{st_.st_dev}:{st_.st_ino}", True


def quote_currency(symbols: Iterable[str]) -> str:
    """The common quote currency of ``symbols`` (``USDT`` for BTC/USDT), else ``"quote"``."""
    quotes = {s.partition("/")[2] for s in symbols}
    return quotes.pop() if len(quotes) == 1 else "quote"


@st.cache_resource(show_spinner=False)
def _precision(exchange: str, symbols: tuple[str, ...]) -> Precision:
    snapshot = load_snapshot(exchange)
    return Precision.from_limits({s: snapshot[s] for s in symbols if s in snapshot})


def build(config_path: Path) -> PageContext | None:
    """This run's context, stored in the session for the page scripts; None when no config is
    usable at all."""
    st.session_state[_PATH_KEY] = config_path
    config, error, source = resolve_config(config_path)
    st.session_state[_ERROR_KEY] = error
    if config is None:
        st.session_state.pop(_SESSION_KEY, None)
        return None
    symbols = tuple(sorted(config.symbols))
    ctx = PageContext(config_path, config, error, source, quote_currency(symbols), _precision(config.exchange, symbols))
    st.session_state[_SESSION_KEY] = ctx
    return ctx


def current() -> PageContext | None:
    """The context :func:`build` stored for this run (page scripts call this)."""
    return st.session_state.get(_SESSION_KEY)


def current_path() -> Path:
    """The config path of this run (also when no config is usable)."""
    return st.session_state[_PATH_KEY]


def current_error() -> str | None:
    """Why this run's config file was refused (None: it is valid)."""
    return st.session_state.get(_ERROR_KEY)
