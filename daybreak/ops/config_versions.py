"""Config versions: every accepted ``config.json`` is stored (ConfigVersions table) with its number,
time, author and the whole document, so any change can be seen and rolled back.

Who writes a version: a dashboard save (``dashboard:<user>``), ``bot.py config rollback``
(``cli``), and the running bot when it applies a file edit it did not write itself
(``file edit``: :func:`track`). A save stores the version *before* replacing the file, so the bot
finds the document it picks up already stored and never records it a second time. Documents are
compared in canonical JSON (sorted keys), so re-indenting a file is no new version.

A rollback is itself a new version (note ``rollback to version N``), validated like any save.
Keys the running bot applies only at a restart (:data:`RESTART_KEYS`) are named by
:func:`save`: the bot then keeps its whole previous config until restarted, never half of it.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from daybreak.core.config import Config, ConfigError
from daybreak.ops.config_file import load_config, parse_config, save_config_atomic
from storage.base import Store
from storage.records import ConfigVersionRecord

RESTART_KEYS = ("storage", "mode", "exchange")
"""Top-level keys a running bot does not change on the fly."""
FILE_EDIT = "file edit"
_ATTEMPTS = 10


def canonical(document: dict) -> str:
    """``document`` as canonical JSON (sorted keys, no spaces): equal configs give equal text."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def read_document(path: str | os.PathLike) -> dict:
    """The JSON object in ``path``. Raises :class:`ConfigError` (unreadable, not JSON, not an object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read the config: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (root) = {type(data).__name__}: must be a JSON object")
    return data


def latest(store: Store) -> ConfigVersionRecord | None:
    """The newest stored version, or None."""
    rows = store.list_config_versions(limit=1)
    return rows[0] if rows else None


def record(store: Store, document: dict, author: str, now_ms: int, note: str = "") -> ConfigVersionRecord:
    """Store ``document`` as the next version number (retried when another writer took it).
    Raises :class:`storage.base.StorageError`."""
    for _ in range(_ATTEMPTS):
        newest = latest(store)
        rec = ConfigVersionRecord((newest.version + 1) if newest else 1, now_ms, author, document, note)
        if store.put_config_version(rec):
            return rec
    raise RuntimeError(f"config version not stored: {_ATTEMPTS} writers raced for the next number")


def track(store: Store, document: dict, author: str, now_ms: int, note: str = "") -> ConfigVersionRecord:
    """The version holding ``document``: the newest one when it is equal, else a new one."""
    newest = latest(store)
    if newest is not None and canonical(newest.document) == canonical(document):
        return newest
    return record(store, document, author, now_ms, note)


def diff(old: dict | None, new: dict, old_name: str = "previous", new_name: str = "this") -> str:
    """A unified diff of two documents as indented, key-sorted JSON ('' when equal)."""

    def lines(doc: dict | None) -> list[str]:
        return [] if doc is None else json.dumps(doc, indent=2, sort_keys=True).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(old), lines(new), old_name, new_name))


def restart_keys_changed(old: Config | None, new: Config) -> list[str]:
    """The :data:`RESTART_KEYS` whose validated value differs between ``old`` and ``new``."""
    if old is None:
        return []
    return [key for key in RESTART_KEYS if getattr(old, key) != getattr(new, key)]


@dataclass(frozen=True)
class Saved:
    """The outcome of :func:`save`: the version now in the file, whether it is new, and the
    restart-only keys it changes (the running bot keeps its old config until restarted)."""

    version: ConfigVersionRecord
    new: bool
    restart_keys: list[str]


def save(document: dict, path: str | os.PathLike, store: Store, author: str, now_ms: int, note: str = "") -> Saved:
    """Validate ``document``, store it as a version, then replace ``path`` atomically.

    Raises :class:`ConfigError` (invalid; nothing stored, the file untouched) and
    :class:`storage.base.StorageError` (the version could not be stored; the file untouched).
    """
    cfg = parse_config(document, str(path))
    try:
        current = load_config(path)
    except ConfigError:
        current = None  # the file on disk is broken: nothing to compare with
    before = latest(store)
    if before is None and current is not None:  # keep the config being replaced, to roll back to
        before = record(store, read_document(path), FILE_EDIT, now_ms, "in force before the first stored save")
    rec = track(store, document, author, now_ms, note)
    save_config_atomic(document, path)
    return Saved(rec, before is None or rec.version != before.version, restart_keys_changed(current, cfg))


def rollback(version: int, path: str | os.PathLike, store: Store, author: str, now_ms: int) -> Saved:
    """Make stored ``version`` the config again, as a new version. Raises :class:`ConfigError`
    when it does not exist or no longer validates (e.g. a strategy since removed)."""
    old = store.get_config_version(version)
    if old is None:
        raise ConfigError(f"config version {version} does not exist")
    try:
        return save(old.document, path, store, author, now_ms, note=f"rollback to version {version}")
    except ConfigError as err:
        raise ConfigError(f"config version {version} cannot be rolled back to: {err}") from None
