"""Background batch writer: the trading loop hands writes over and never waits for DynamoDB.

Writes are queued per item key: a newer write of the same key replaces the queued one (both are
full-item puts or deletes, so the last one wins, as it would on the server), which also keeps a
batch free of the duplicate keys BatchWriteItem rejects. One daemon thread sends up to 25 items
per BatchWriteItem (the API limit). ``UnprocessedItems`` (throttling) and failed calls are put
back and retried with exponential back-off and full jitter; nothing is dropped. Only an item the
server rejects as invalid (``ValidationException``) is set aside in :attr:`BatchWriter.rejected`
and logged, so it cannot block the rest. Set-additions (``UpdateItem ... ADD``) are idempotent and
go through the same queue.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from storage.dynamo_client import error_code

log = logging.getLogger(__name__)

BATCH_LIMIT = 25
"""Most items one BatchWriteItem call may carry (DynamoDB API limit)."""


@dataclass(frozen=True)
class WriteOp:
    """One queued write; ``key`` is :func:`key_tuple` of the item. ``request`` is a BatchWriteItem request (``{"PutRequest": ..}`` or
    ``{"DeleteRequest": ..}``) or, with ``update=True``, UpdateItem keyword arguments."""

    table: str
    key: tuple
    request: dict[str, Any]
    update: bool = False


def key_tuple(item: dict[str, dict], names: tuple[str, ...]) -> tuple:
    """The key of a wire item: its key attributes' raw values, in key order."""
    return tuple(next(iter(item[n].values())) for n in names)


class BatchWriter:
    """Queue and send writes on a daemon thread. Thread-safe.

    ``key_names`` maps each table name to its key attribute names; back-off in seconds.
    """

    def __init__(
        self, client: Any, key_names: dict[str, tuple[str, ...]], max_backoff: float = 5.0, base_backoff: float = 0.05
    ) -> None:
        self._client = client
        self._key_names = key_names
        self._max_backoff = max_backoff
        self._base_backoff = base_backoff
        self._pending: OrderedDict[tuple, WriteOp] = OrderedDict()
        self._inflight: dict[str, int] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._failures = 0
        self.rejected: list[tuple[WriteOp, str]] = []
        self.last_error = ""
        self.last_error_at: float | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="dynamodb-writer", daemon=True)
        self._thread.start()

    # -- producer side -----------------------------------------------------------------------
    def submit(self, ops: list[WriteOp]) -> None:
        """Queue ``ops`` (returns at once)."""
        if not ops:
            return
        with self._cond:
            if self._stopping:
                raise RuntimeError("the DynamoDB writer is closed")
            for op in ops:
                self._pending.pop((op.table, op.key), None)
                self._pending[(op.table, op.key)] = op
            self._cond.notify_all()

    def pending(self, table: str | None = None) -> int:
        """Writes not yet stored (queued or being sent), for ``table`` or in all."""
        with self._cond:
            return self._count(table)

    def _count(self, table: str | None) -> int:
        if table is None:
            return len(self._pending) + sum(self._inflight.values())
        return sum(1 for t, _ in self._pending if t == table) + self._inflight.get(table, 0)

    def wait(self, table: str | None = None, timeout: float | None = None) -> bool:
        """Block until every write (of ``table``) is stored; False if ``timeout`` s passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._count(table):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 1.0)
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Drain the queue (up to ``timeout`` s) and stop the thread. True if nothing is left."""
        drained = self.wait(timeout=timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        return drained

    # -- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                batch = self._take()
            ok = self._send(batch)
            with self._cond:
                for op in batch:
                    self._inflight[op.table] -= 1
                self._cond.notify_all()
            if ok:
                self._failures = 0
            else:
                self._failures += 1
                delay = min(self._max_backoff, self._base_backoff * 2**self._failures)
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(random.uniform(delay / 2, delay))

    def _take(self) -> list[WriteOp]:
        first = next(iter(self._pending.values()))
        if first.update:
            batch = [first]
        else:
            batch = [op for op in self._pending.values() if not op.update][:BATCH_LIMIT]
        for op in batch:
            del self._pending[(op.table, op.key)]
            self._inflight[op.table] = self._inflight.get(op.table, 0) + 1
        return batch

    def _requeue(self, ops: list[WriteOp]) -> None:
        """Put ``ops`` back at the front unless a newer write of the same key is queued."""
        with self._cond:
            for op in reversed(ops):
                k = (op.table, op.key)
                if k not in self._pending:
                    self._pending[k] = op
                    self._pending.move_to_end(k, last=False)

    def _send(self, batch: list[WriteOp]) -> bool:
        """Send ``batch``; True when all of it is stored (or set aside as invalid)."""
        try:
            if batch[0].update:
                self._client.update_item(**batch[0].request)
                self.written += 1
                return True
            request_items: dict[str, list] = {}
            for op in batch:
                request_items.setdefault(op.table, []).append(op.request)
            answer = self._client.batch_write_item(RequestItems=request_items)
        except Exception as err:
            if error_code(err) != "ValidationException":
                self._note(err, batch)
                self._requeue(batch)
                return False
            if len(batch) > 1:  # find the invalid item: send the batch one item at a time
                return all([self._send([op]) for op in batch])
            self.rejected.append((batch[0], str(err)))
            self._note(err, batch)
            log.error("DynamoDB rejected a write to %s (kept in writer.rejected): %s", batch[0].table, err)
            return True
        unprocessed = answer.get("UnprocessedItems") or {}
        by_key = {(op.table, op.key): op for op in batch}
        left = [by_key[(table, self._key_of(table, r))] for table, reqs in unprocessed.items() for r in reqs]
        self.written += len(batch) - len(left)
        if left:
            self._note(RuntimeError(f"{len(left)} unprocessed item(s) (throttled)"), left)
            self._requeue(left)
            return False
        return True

    def _key_of(self, table: str, request: dict) -> tuple:
        item = request["PutRequest"]["Item"] if "PutRequest" in request else request["DeleteRequest"]["Key"]
        return key_tuple(item, self._key_names[table])

    def _note(self, err: BaseException, ops: list[WriteOp]) -> None:
        self.last_error = f"{error_code(err)}: {err}"
        self.last_error_at = time.time()
        level = logging.WARNING if self._failures < 3 else logging.ERROR
        log.log(
            level,
            "DynamoDB write of %d item(s) to %s failed, will retry: %s",
            len(ops),
            ",".join(sorted({o.table for o in ops})),
            self.last_error,
        )
