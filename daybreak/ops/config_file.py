"""``config.json`` on disk: read, validate against the registered strategies, write atomically.

The model is :mod:`daybreak.core.config` (pure); this module is where the strategy registry is
resolved (the model takes it as a :class:`~daybreak.core.config.StrategyCatalog`) and where the
file is read and replaced.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

from daybreak.core import config as model
from daybreak.core.config import DEFAULT_CONFIG_PATH, Config, ConfigError
from daybreak.ops.atomic_file import write_atomic
from strategies import registry


def parse_config(data: Any, source: str = "config") -> Config:
    """Validate a decoded JSON object against the model and the registered strategies.
    Raises :class:`ConfigError` (one line naming the field and the value)."""
    return model.parse_config(data, registry, source)


def load_config(path: str | os.PathLike = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate ``path``. Raises :class:`ConfigError` (missing file, bad JSON, bad value)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{p}: cannot read: {err.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{p}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    return parse_config(data, str(p))


def save_config_atomic(data: dict, path: str | os.PathLike = DEFAULT_CONFIG_PATH) -> Config:
    """Validate ``data`` with the same model the bot uses, then replace ``path`` atomically.

    The file is written to a temporary sibling, fsynced and renamed over the target, so the bot
    never reads half a file. Raises :class:`ConfigError` and leaves ``path`` untouched when
    ``data`` is invalid.
    """
    cfg = parse_config(data, str(path))
    text = json.dumps(data, indent=2) + "\n"
    write_atomic(path, lambda fh: _write(fh, text.encode("utf-8")))
    return cfg


def _write(fh: BinaryIO, data: bytes) -> None:
    fh.write(data)
