"""The argument types of ``bot.py``: every numeric argument has a range, every date a plausible
span, every output path a folder that exists. A bad argument raises :class:`UsageError` (one
line naming the argument and the value; ``bot.py`` exits 2) before any work is done.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from daybreak.core.timeframes import parse_utc_ms


class UsageError(ValueError):
    """A bad command-line argument; the message names it and its value."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors raised as :class:`UsageError` (argparse prints the usage
    and exits; ``bot.py`` prints one line and exits 2, and tests can call ``main`` in-process)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def number(lo: float, hi: float, unit: str) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[lo, hi]`` (``unit`` names it in the message)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit} from {lo:g} to {hi:g}")
        return value

    parse.__name__ = unit
    return parse


def count(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {lo} to {hi:,}")
        return value

    parse.__name__ = "count"
    return parse


def utc_date(text: str) -> int:
    """An argparse type: ``YYYY-MM-DD`` or an ISO datetime (UTC), 2009-2100 -> UTC epoch ms."""
    try:
        return parse_utc_ms(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def output_file(text: str) -> str:
    """An argparse type: a file to (over)write, in a folder that exists and is writable."""
    path = Path(text)
    if not text or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text!r}: not writable")
    return text


def check_span(start: int | None, end: int | None) -> None:
    """Raise UsageError when ``--to`` is not after ``--from``."""
    if start is not None and end is not None and end <= start:
        raise UsageError(f"--to = {_iso(end)} is not after --from = {_iso(start)}: nothing to do")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
