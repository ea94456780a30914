"""Replace a file atomically: readers see the old complete file or the new complete one, never half.

The content is written to a temporary sibling (same directory, so the same filesystem), flushed
and fsynced, then renamed over the target with :func:`os.replace` (atomic on POSIX and Windows).
On any error the temporary file is removed and the target is left untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a binary temporary file, then move it over ``path``."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
