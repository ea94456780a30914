"""One bot process per store: an exclusive ``flock`` on a lock file beside the store.

Two bot processes on one store would both trade every signal. The lock is released by the OS when
the process exits, also on a crash, so a stale lock never blocks a restart.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from daybreak.core.config import StorageSettings


class AlreadyRunning(RuntimeError):
    """Another bot process holds the store's lock; the message names the lock file and its PID."""


def lock_path(storage: StorageSettings) -> Path:
    """``<sqlite file>.lock``, or ``data/dynamodb-<prefix>-<region>.lock`` for DynamoDB."""
    if storage.backend == "sqlite":
        return Path(storage.path + ".lock")
    return Path("data") / f"dynamodb-{storage.table_prefix}-{storage.region}.lock"


def acquire(storage: StorageSettings):
    """Take the lock (returns the open file; keep it for the process's life). Raises AlreadyRunning."""
    path = lock_path(storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        pid = fh.read().strip() or "?"
        fh.close()
        raise AlreadyRunning(f"another bot process (pid {pid}) is running on this store ({path}); stop it first") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh
