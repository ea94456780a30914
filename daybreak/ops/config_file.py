"""``config.json`` on disk: read, validate against the registered strategies, write atomically.

The model is :mod:`daybreak.core.config` (pure); this module is where the strategy registry and
ccxt's exchange ids are resolved (the model takes them through its validation context) and where
the file is read and replaced.

Reading refuses, with one :class:`ConfigError` line each: a path that is not a regular file (a
directory, a FIFO, ``/dev/zero``: checked on the opened descriptor, so nothing blocks), more than
:data:`MAX_CONFIG_BYTES`, bytes that are not UTF-8, malformed JSON, ``NaN``/``Infinity`` (not
JSON), a key given twice in one object (JSON parsers silently keep the last one), and nesting
deeper than Python's parser allows.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from daybreak.core import config as model
from daybreak.core.config import DEFAULT_CONFIG_PATH, Config, ConfigError
from daybreak.ops.atomic_file import write_atomic
from strategies import registry

MAX_CONFIG_BYTES = 1_000_000


@lru_cache(maxsize=1)
def ccxt_exchange_ids() -> frozenset[str]:
    """``ccxt.exchanges`` of the installed ccxt. Read from the package's ``__init__.py`` (a
    literal list) without importing it: importing ccxt loads every exchange class (0.35 s), which
    only the commands that talk to an exchange need (and the dashboard must never load ccxt).
    Raises RuntimeError (a bug to fix on a ccxt upgrade) when the list is not found."""
    spec = importlib.util.find_spec("ccxt")
    if spec is not None and spec.origin is not None:  # None: ccxt not installed, or not from a file
        try:
            tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "exchanges" for t in node.targets):
                    return frozenset(ast.literal_eval(node.value))
        except (AttributeError, TypeError, OSError, SyntaxError, ValueError):
            pass
    raise RuntimeError(
        "cannot read ccxt's exchange list from its source (ccxt/__init__.py 'exchanges'); "
        "its layout changed: update ccxt_exchange_ids for the pinned ccxt version"
    )


def parse_config(data: Any, source: str = "config") -> Config:
    """Validate a decoded JSON object against the model, the registered strategies and ccxt's
    exchange ids. Raises :class:`ConfigError` (one line naming the field and the value)."""
    return model.parse_config(data, registry, source, ccxt_exchange_ids())


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _no_constant(token: str):
    raise ValueError(f"{token} is not a JSON number")


def decode_json(text: str, source: str) -> Any:
    """``text`` as JSON, strictly (see the module docstring). Raises :class:`ConfigError`."""
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{source}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except _DuplicateKey as err:
        raise ConfigError(
            f"{source}: {err.args[0]} = (given twice): a key appears twice in one object; "
            f"remove one (JSON readers silently keep the last)"
        ) from None
    except RecursionError:
        raise ConfigError(f"{source}: (root) = (nested too deeply): not a config") from None
    except ValueError as err:  # NaN/Infinity, integers beyond Python's digit limit
        detail = "a number has thousands of digits" if "digits" in str(err) else str(err)
        raise ConfigError(f"{source}: malformed JSON: {detail}") from None


def read_text_file(path: str | os.PathLike, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``max_bytes``). Opened non-blocking,
    so a FIFO or device never hangs the caller. Raises :class:`ConfigError`."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise ConfigError(f"{p}: cannot read: {err.strerror}") from None
    except ValueError as err:  # an embedded NUL byte
        raise ConfigError(f"{p!r}: cannot read: {err}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
            raise ConfigError(f"{p}: cannot read: {kind}")
        if info.st_size > max_bytes:
            raise ConfigError(f"{p}: {info.st_size} bytes: larger than {max_bytes} bytes, not a config")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as err:
        raise ConfigError(f"{p}: cannot read: {err.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise ConfigError(f"{p}: larger than {max_bytes} bytes, not a config")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: byte {err.start} = 0x{raw[err.start]:02x}: not UTF-8 text") from None


def load_config(path: str | os.PathLike = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate ``path``. Raises :class:`ConfigError` (unreadable file, bad JSON, bad value)."""
    return parse_config(decode_json(read_text_file(path), str(path)), str(path))


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
