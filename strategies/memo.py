"""Indicator memo: while a parameter search runs, an indicator is computed once per distinct input
and window, not once per trial.

Indicator helpers decorated with :func:`memoized` (``strategies.conditions``, ``strategies.indicators``)
behave exactly as without it unless a memo is active for the calling context (``with use_memo(memo):``,
which ``daybreak.drivers.trials`` does around each trial's ``populate``). Then a call whose input
series hold the same values and whose other arguments are equal returns the stored result instead of
computing it again. The result is the same: the decorated functions are positional (row ``i`` of the
output depends on the values, never on index labels), so the stored arrays are handed back on the
caller's index, read-only (a strategy that wrote into an indicator would raise instead of
corrupting the memo).

Inputs are identified by content: a SHA-1 digest of each input array's bytes, remembered by memory
address, shape and strides for the arrays the memo has seen lately (each entry keeps its memory
alive, so the address cannot be reused), so the base candle columns a strategy reads directly are
hashed once. Inputs must therefore not be modified in place while a memo is active (strategies
never modify their input; the search's candle frames are never written). A DataFrame argument is identified by its candle columns only (``timestamp``,
``open``, ``high``, ``low``, ``close``, ``volume``), the only columns the decorated helpers read.
The memo is bounded in bytes (least recently used results go first). There is no module-level
memo: one is created per search worker and activated through a :class:`contextvars.ContextVar`,
so concurrent contexts never see each other's memo.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np
import pandas as pd

CANDLE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
DEFAULT_MAX_BYTES = 512 * 2**20
_IDENTITY_SLOTS = 64
"""Arrays whose digest is remembered by identity (each entry keeps its array alive)."""

F = TypeVar("F", bound=Callable[..., Any])
_ACTIVE: ContextVar[IndicatorMemo | None] = ContextVar("daybreak_indicator_memo", default=None)


class IndicatorMemo:
    """Stored indicator results, least recently used first out once ``max_bytes`` is exceeded.

    ``hits`` / ``misses`` count the calls answered from the memo / computed.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.hits = self.misses = 0
        self._results: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._digests: OrderedDict[tuple, tuple[np.ndarray, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._results)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def digest(self, values: np.ndarray) -> bytes:
        """Content digest of ``values`` (dtype, shape and bytes), remembered by array identity."""
        ident = (values.__array_interface__["data"][0], values.shape, values.strides, values.dtype.str)
        known = self._digests.get(ident)
        if known is not None:  # the entry keeps that memory alive: nothing else can be at that address
            self._digests.move_to_end(ident)
            return known[1]
        data = np.ascontiguousarray(values)
        d = hashlib.sha1(data.view(np.uint8).reshape(-1).data if data.size else b"")  # .data: the bytes, not copied
        d.update(f"{values.dtype.str}{values.shape}".encode())
        digest = d.digest()
        self._digests[ident] = (values, digest)
        if len(self._digests) > _IDENTITY_SLOTS:
            self._digests.popitem(last=False)
        return digest

    def key_of(self, arg: Any) -> Any:
        if isinstance(arg, pd.Series):
            return ("S", self.digest(arg.to_numpy()))
        if isinstance(arg, pd.DataFrame):
            return ("F", tuple((c, self.digest(arg[c].to_numpy())) for c in CANDLE_COLUMNS if c in arg))
        if isinstance(arg, np.ndarray):
            return ("A", self.digest(arg))
        hash(arg)  # scalars only: an unhashable argument is a programming error here
        return ("V", type(arg).__name__, arg)

    def lookup(self, key: tuple) -> Any:
        found = self._results.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._results.move_to_end(key)
        return found[0]

    def store(self, key: tuple, stored: Any) -> None:
        size = _nbytes(stored)
        if size > self.max_bytes:
            return
        self._results[key] = (stored, size)
        self._bytes += size
        while self._bytes > self.max_bytes and self._results:
            _, (_, freed) = self._results.popitem(last=False)
            self._bytes -= freed


@contextmanager
def use_memo(memo: IndicatorMemo | None) -> Iterator[IndicatorMemo | None]:
    """Activate ``memo`` for the calling context (``None``: compute everything, the default)."""
    token = _ACTIVE.set(memo)
    try:
        yield memo
    finally:
        _ACTIVE.reset(token)


def memoized(fn: F) -> F:
    """Decorator for a positional indicator helper (Series / DataFrame / scalar arguments; a Series,
    a dict of Series or a tuple of Series as result): answered from the active memo when there is one."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        memo = _ACTIVE.get()
        if memo is None:
            return fn(*args, **kwargs)
        key = (name, tuple(memo.key_of(a) for a in args), tuple(sorted((k, memo.key_of(v)) for k, v in kwargs.items())))
        stored = memo.lookup(key)
        index = _index_of(args, kwargs)
        if stored is None:
            result = fn(*args, **kwargs)
            memo.store(key, _freeze(result))
            return result
        return _thaw(stored, index)

    return wrapper  # type: ignore[return-value]


def _index_of(args: tuple, kwargs: dict) -> pd.Index:
    for a in (*args, *kwargs.values()):
        if isinstance(a, (pd.Series, pd.DataFrame)):
            return a.index
    raise TypeError("a memoized indicator needs a Series or DataFrame argument")


def _freeze(result: Any) -> Any:
    """The arrays of ``result`` (read-only) with the series names, to be re-wrapped later."""
    if isinstance(result, pd.Series):
        values = result.to_numpy(copy=True)
        values.flags.writeable = False
        return ("S", values, result.name)
    if isinstance(result, dict):
        return ("D", {k: _freeze(v) for k, v in result.items()})
    if isinstance(result, tuple):
        return ("T", tuple(_freeze(v) for v in result))
    raise TypeError(f"cannot memoize a result of type {type(result).__name__}")


def _thaw(stored: tuple, index: pd.Index) -> Any:
    kind = stored[0]
    if kind == "S":
        return pd.Series(stored[1], index=index, name=stored[2], copy=False)
    if kind == "D":
        return {k: _thaw(v, index) for k, v in stored[1].items()}
    return tuple(_thaw(v, index) for v in stored[1])


def _nbytes(stored: tuple) -> int:
    kind = stored[0]
    if kind == "S":
        return int(stored[1].nbytes)
    items = stored[1].values() if kind == "D" else stored[1]
    return sum(_nbytes(v) for v in items)
