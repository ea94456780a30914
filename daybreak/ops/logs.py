"""Logging: one readable line per event to stdout and a rotating file (INFO and above), and
reading that file back (:func:`tail_records`, the dashboard's Logs page).

Line format: ``2021-05-12T14:03:00Z INFO TRADE ...`` (UTC). A record may continue on lines that
do not start with a timestamp: the traceback of ``log.exception``, a multi-line message.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import time
from calendar import timegm
from dataclasses import dataclass
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HEAD = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")


def setup_logging(path: str | None, level: str = "INFO") -> logging.Logger:
    """Configure the ``daybreak`` logger (UTC timestamps). The file rotates at 5 MB, 5 kept."""
    logger = logging.getLogger("daybreak")
    logger.handlers.clear()
    logger.setLevel(level)
    logger.propagate = False
    fmt = logging.Formatter(FORMAT, "%Y-%m-%dT%H:%M:%SZ")
    fmt.converter = time.gmtime
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record read back: ``timestamp`` UTC epoch ms (second resolution), ``level``, the
    first line ``message`` and the ``detail`` lines after it (a traceback), newline-joined."""

    timestamp: int
    level: str
    message: str
    detail: str = ""


def parse_records(lines: list[str]) -> list[LogRecord]:
    """Records of ``lines`` in file order. Lines before the first timestamped line (the cut end
    of a tail) are dropped; later lines without a timestamp belong to the record above."""
    out: list[LogRecord] = []
    extra: list[str] = []
    seconds: dict[str, int] = {}  # many lines share a second: parse each stamp once

    def close() -> None:
        if out and extra:
            last = out[-1]
            out[-1] = LogRecord(last.timestamp, last.level, last.message, "\n".join(extra))
        extra.clear()

    for line in lines:
        line = line.rstrip("\n")
        m = _HEAD.match(line)
        if m:
            close()
            stamp = m.group(1)
            when = seconds.get(stamp)
            if when is None:  # YYYY-MM-DDTHH:MM:SS by position: strptime costs 25 us a line
                when = seconds[stamp] = (
                    timegm(
                        (
                            int(stamp[:4]),
                            int(stamp[5:7]),
                            int(stamp[8:10]),
                            int(stamp[11:13]),
                            int(stamp[14:16]),
                            int(stamp[17:19]),
                            0,
                            0,
                            0,
                        )
                    )
                    * 1000
                )
            out.append(LogRecord(when, m.group(2), m.group(3)))
        elif out:
            extra.append(line)
    close()
    return out


def tail_records(path: str | os.PathLike, max_bytes: int = 1_000_000) -> list[LogRecord]:
    """The records in the last ``max_bytes`` of the log file ``path``, oldest first (reads
    only that much, however big the file). Raises OSError when the file cannot be read."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - max_bytes))
        data = fh.read()
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first line is cut
    return parse_records(lines)
