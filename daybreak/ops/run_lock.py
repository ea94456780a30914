"""One bot process per store: an exclusive ``flock`` on a lock file beside the store (one host),
and a lease in the store itself (every host, every folder: DynamoDB tables shared by many).

Two bot processes on one store would both trade every signal. The lock file is released by the
OS when the process exits, also on a crash. The lease (:class:`StoreLease`) is an item the store
replaces only by a conditional write: taken when none is held, when the holder's lease expired
(it stopped renewing: ``LEASE_SECONDS``), or when the holder was a process of this host that is
gone (a restart after a crash need not wait for the expiry); renewed every
``LEASE_SECONDS / 4`` by a background thread. A bot that finds its lease taken by another has
lost the store (:attr:`StoreLease.lost`) and must stop trading.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from daybreak.core.config import StorageSettings
from storage.base import StorageError, Store
from storage.records import Lease

log = logging.getLogger("daybreak")
LEASE_SECONDS = 60.0


class AlreadyRunning(RuntimeError):
    """Another bot process holds the store's lock or lease; the message names it."""


def lock_path(storage: StorageSettings) -> Path:
    """``<sqlite file>.lock``, or ``data/dynamodb-<prefix>-<region>.lock`` for DynamoDB."""
    if storage.backend == "sqlite":
        return Path(storage.path + ".lock")
    return Path("data") / f"dynamodb-{storage.table_prefix}-{storage.region}.lock"


def acquire(storage: StorageSettings) -> TextIO:
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
        raise AlreadyRunning(
            f"another bot process (pid {pid}) is running on this store ({path}); stop it first"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StoreLease:
    """This process's lease on ``store`` (wall-clock ms from ``clock``)."""

    def __init__(
        self, store: Store, seconds: float = LEASE_SECONDS, clock: Callable[[], int] = lambda: int(time.time() * 1000)
    ) -> None:
        self.store, self.seconds, self.clock = store, seconds, clock
        now = clock()
        self.mine = Lease(
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            socket.gethostname(),
            os.getpid(),
            os.getcwd(),
            now,
            now + int(seconds * 1000),
        )
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> StoreLease:
        """Take the lease or raise AlreadyRunning naming the holder; then keep renewing it."""
        held = self.store.read_lease()
        now = self.clock()
        self.mine = replace(self.mine, acquired_at=now, expires_at=now + int(self.seconds * 1000))
        if held is None:
            ok = self.store.write_lease(self.mine, None)
        elif held.expires_at < now or (held.host == self.mine.host and not _alive(held.pid)):
            ok = self.store.write_lease(self.mine, held.owner)
        else:
            raise AlreadyRunning(
                f"another bot (pid {held.pid} on {held.host}, folder {held.folder}) holds this "
                f"store's lease until {time.strftime('%H:%M:%S', time.gmtime(held.expires_at / 1000))} "
                "UTC; stop it first"
            )
        if not ok:
            raise AlreadyRunning("another bot took this store's lease at the same moment; stop it first")
        self._thread = threading.Thread(target=self._renew_loop, name="lease", daemon=True)
        self._thread.start()
        return self

    def renew(self) -> bool:
        """Extend the lease; False (and :attr:`lost` set) when another bot holds it now."""
        new = replace(self.mine, expires_at=self.clock() + int(self.seconds * 1000))
        if self.store.write_lease(new, self.mine.owner):
            self.mine = new
            return True
        held = self.store.read_lease()
        self.lost = f"the store's lease was taken by {held.owner if held else 'nobody'}"
        return False

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 4):
            try:
                if not self.renew():
                    log.error("LEASE LOST: %s; stop trading", self.lost)
                    return
            except StorageError as err:  # keep trying; expiry gives the margin
                log.error("lease not renewed: %s", err)

    def release(self) -> None:
        """Stop renewing and give the lease up (expired now), if still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.lost is None:
            try:
                self.store.write_lease(replace(self.mine, expires_at=0), self.mine.owner)
            except StorageError as err:
                log.error("lease not released (it expires by itself): %s", err)
