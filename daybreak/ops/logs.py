"""Logging: one readable line per event to stdout and a rotating file (INFO and above)."""
from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(message)s"


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
