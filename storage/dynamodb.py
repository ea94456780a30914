"""DynamoDB store (production): the :class:`storage.base.Store` interface on the tables of
:mod:`storage.dynamo_schema`, through the one codec of :mod:`storage.dynamo_codec`.

Which writes wait for DynamoDB and which do not:

* ``put_trade``, ``put_signal``, ``put_control`` (conditional PutItem) and ``mark_signal``,
  ``ack_control`` (conditional UpdateItem) are synchronous: when they return, the write is stored
  (or was refused because the item exists / is no longer ``new``/``pending``). Throttling and
  transient errors are retried with back-off (:mod:`storage.dynamo_client`); a persistent failure
  raises :class:`StorageError`.
* Orders (``put_order``), the lease, position changes and ``set_state(..., durable=True)`` are
  synchronous too (:mod:`storage.dynamo_orders`; a position write waits for the table's queued
  writes first, so an older queued one never lands after it). Only a position update that a
  crash may lose (``put_position(..., durable=False)``: a new high-water mark) is queued.
* Stats, prices, events, status and the rest of state go through the background
  :class:`~storage.dynamo_writer.BatchWriter`: they return at once and are retried until stored.
  A read of a table first waits for that table's queued writes (read-your-writes, bounded by
  ``read_wait_seconds``), so the store reads like SQLite. ``flush()`` drains the queue.

Trade ids are unique on their own, not only per (trade_id, timestamp): ``put_trade`` first looks
for any item with the id (consistent Query on the partition), then puts with
``attribute_not_exists``. If an earlier attempt's outcome is unknown (the answer was lost, or an
earlier ``put_trade`` of the same trade raised StorageError), an identical stored trade counts
as this write (True), so a retry never turns a new trade into a "duplicate". ``put_signal``,
``put_control``, ``mark_signal`` and ``ack_control`` treat a lost answer the same way.

Reads use Query/GetItem, plus one filtered Scan of the Signals table (the inbox: see
:mod:`storage.dynamo_inbox`). GSI reads (trades, stats, signals, events, controls) are eventually
consistent on AWS (typically well under a second); base-table reads (prices, positions, status,
state, the trade-id check) are strongly consistent.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from daybreak.core.domain import Control, Event, Position, Trade
from storage.base import StorageError, Store
from storage.dynamo_client import (
    call_with_retries,
    error_code,
    make_client,
    storage_error,
)
from storage.dynamo_codec import decode_item, encode_value, record_item
from storage.dynamo_inbox import CLAIM_PREFIX, DynamoSignals
from storage.dynamo_orders import LEASE_KEY, OPEN_ORDERS_KEY, OrdersMixin
from storage.dynamo_schema import BUCKET, TABLES, query_args
from storage.dynamo_writer import BatchWriter, WriteOp, key_tuple
from storage.records import DAILY_STAT_PREFIX, ConfigVersionRecord, PriceRecord, SignalRecord, StatRecord, StatusRecord

if TYPE_CHECKING:
    from daybreak.core.config import StorageSettings

log = logging.getLogger(__name__)

PRICE_SYMBOLS_KEY = "storage:price_symbols"
"""State-table item whose string set ``symbols`` lists the symbols with stored prices."""
STATUS_ID = "bot"
CONFIG_BOOK = "config"
DAILY_BUCKET = "daily"
"""``bucket`` of the daily Stats aggregates (their own ``by_bucket`` partition)."""
OPEN_BOOK = "open"
_CCF = "ConditionalCheckFailedException"
_SEEN_EVENTS_MAX = 100_000
_KINDS = {
    Trade: "trades",
    StatRecord: "stats",
    PriceRecord: "prices",
    SignalRecord: "signals",
    Position: "positions",
    Event: "events",
    Control: "controls",
    StatusRecord: "status",
    ConfigVersionRecord: "config_versions",
}
_METHODS = {
    "PutItem": "put_item",
    "GetItem": "get_item",
    "UpdateItem": "update_item",
    "Query": "query",
    "Scan": "scan",
    "DeleteItem": "delete_item",
}


class DynamoStore(DynamoSignals, OrdersMixin, Store):
    """DynamoDB backend on tables ``<table_prefix><Name>`` (create them with ``init-db``).

    ``client`` is a boto3 DynamoDB client (see :func:`storage.dynamo_client.make_client`);
    ``price_retention_days`` sets HistoricalPrices ``expiry`` = candle time + retention when a
    price record has none. ``retry_seconds``: how long a synchronous call retries throttling,
    5xx and connection errors before StorageError; ``read_wait_seconds``: how long a read waits
    for queued writes of its table; ``flush_timeout``: ``flush``/``close``; ``max_backoff``: the
    writer's longest pause between attempts. All in seconds.
    """

    def __init__(
        self,
        client: Any,  # a boto3 DynamoDB client (no type hints)
        table_prefix: str = "Daybreak",
        price_retention_days: float = 30.0,
        retry_seconds: float = 20.0,
        read_wait_seconds: float = 30.0,
        flush_timeout: float = 60.0,
        max_backoff: float = 5.0,
        signal_retention_days: float = 7.0,
    ) -> None:
        self._client = client
        self._retry_seconds = retry_seconds
        self.tables = {kind: table_prefix + spec.suffix for kind, spec in TABLES.items()}
        self._retention_s = price_retention_days * 86_400
        self._signal_retention_s = int(signal_retention_days * 86_400)
        self._read_wait = read_wait_seconds
        self.flush_timeout = flush_timeout
        self.writer = BatchWriter(
            client, {self.tables[k]: s.key_names for k, s in TABLES.items()}, max_backoff=max_backoff
        )
        self._lock = threading.Lock()
        self._uncertain: set[str] = set()
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._known_symbols: set[str] = set()

    @classmethod
    def from_settings(cls, settings: StorageSettings, **kwargs: Any) -> DynamoStore:
        """A store for ``StorageSettings`` (region, table_prefix, endpoint_url, retention)."""
        client = make_client(settings.region, settings.endpoint_url)
        kwargs.setdefault("signal_retention_days", settings.signal_retention_days)
        return cls(client, settings.table_prefix, settings.price_retention_days, **kwargs)

    # -- plumbing ----------------------------------------------------------------------------
    def _call(self, operation: str, kind: str, **kwargs) -> dict:
        """Client call ``operation`` on table ``kind``, retried for ``retry_seconds``; errors other
        than a failed condition become StorageError."""
        try:
            return call_with_retries(
                getattr(self._client, _METHODS[operation]), self._retry_seconds, TableName=self.tables[kind], **kwargs
            )
        except (ClientError, BotoCoreError) as err:
            if error_code(err) == _CCF:
                raise
            raise storage_error(err, operation, self.tables[kind]) from err

    def _op(self, kind: str, item: dict, delete: bool = False) -> WriteOp:
        table, spec = self.tables[kind], TABLES[kind]
        key = key_tuple(item, spec.key_names)
        request = {"DeleteRequest": {"Key": item}} if delete else {"PutRequest": {"Item": item}}
        return WriteOp(table, key, request)

    def _item(self, kind: str, record, **extra) -> dict:
        return record_item(record, extra, TABLES[kind].index_keys)

    def _decode(self, cls, item: dict):
        kind = _KINDS[cls]
        return decode_item(cls, item, TABLES[kind].index_keys)

    def _barrier(self, kind: str) -> None:
        """Wait until queued writes of ``kind`` are stored (read-your-writes)."""
        table = self.tables[kind]
        if not self.writer.wait(table, timeout=self._read_wait):
            raise StorageError(
                f"dynamodb: {self.writer.pending(table)} write(s) to {table} not stored "
                f"after {self._read_wait:g} s: {self.writer.last_error}"
            )

    def _query(
        self,
        kind: str,
        hash_key: tuple[str, Any],
        index: str | None = None,
        lo=None,
        hi=None,
        forward: bool = True,
        limit: int | None = None,
        filters: dict | None = None,
        consistent: bool = False,
    ) -> list[dict]:
        """Items of one partition (of the table or GSI ``index``), range key in [lo, hi]."""
        if lo is not None and hi is not None and lo > hi:
            return []
        args = query_args(TABLES[kind], hash_key, index, lo, hi, forward, filters)
        if consistent:
            args["ConsistentRead"] = True
        out: list[dict] = []
        while True:
            if limit and not filters:
                args["Limit"] = limit - len(out)
            page = self._call("Query", kind, **args)
            out.extend(page.get("Items", []))
            if limit and len(out) >= limit:
                return out[:limit]
            if not page.get("LastEvaluatedKey"):
                return out
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _put_new(self, kind: str, record, item: dict) -> bool:
        """Conditional PutItem: False if an item with this key exists, unless it is ``record``
        stored by an earlier attempt of this very call (retried after a lost answer)."""
        name = TABLES[kind].hash_key
        try:
            self._call(
                "PutItem",
                kind,
                Item=item,
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": name},
            )
        except ClientError as err:
            return _retried(err) and self._stored_equals(kind, item, record)
        return True

    def _stored_equals(self, kind: str, item: dict, record) -> bool:
        key = {n: item[n] for n in TABLES[kind].key_names}
        stored = self._call("GetItem", kind, Key=key, ConsistentRead=True).get("Item")
        return stored is not None and self._decode(type(record), stored) == record

    def _update_if(
        self,
        kind: str,
        key: dict,
        values: dict,
        expect: str | None,
        may_be_absent: bool = False,
        remove: tuple[str, ...] = (),
    ) -> bool:
        """Conditional UpdateItem setting ``values`` (and removing the attributes ``remove``) where
        ``status`` equals ``expect`` (``None``: the item has no status; with ``may_be_absent``
        either). False if the condition fails, unless an earlier attempt of this call (retried
        after a lost answer) already set exactly ``values``."""
        names = {f"#a{i}": n for i, n in enumerate(values)} | {"#s": "status", "#k": TABLES[kind].hash_key}
        names |= {f"#r{i}": n for i, n in enumerate(remove)}
        vals = {f":a{i}": encode_value(v, n) for i, (n, v) in enumerate(values.items()) if v is not None}
        sets = [f"#a{i} = :a{i}" for i in range(len(values)) if f":a{i}" in vals]
        absent = "(attribute_exists(#k) AND attribute_not_exists(#s))"
        if expect is None:
            cond = absent
        else:
            vals[":expect"] = encode_value(expect)
            cond = "#s = :expect" + (f" OR {absent}" if may_be_absent else "")
            if not may_be_absent:
                del names["#k"]
        update = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove))) if remove else "",
            )
            if part
        )
        try:
            self._call(
                "UpdateItem",
                kind,
                Key=key,
                ConditionExpression=cond,
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": vals} if vals else {}),
            )
        except ClientError as err:
            if not _retried(err):
                return False
            stored = self._call("GetItem", kind, Key=key, ConsistentRead=True).get("Item") or {}
            return all(stored.get(names[t.split(" = ")[0]]) == vals[t.split(" = ")[1]] for t in sets)
        return True

    # -- trades ------------------------------------------------------------------------------
    def put_trade(self, trade: Trade) -> bool:
        item = self._item("trades", trade, bucket=BUCKET)
        stored = self._query("trades", ("trade_id", trade.trade_id), limit=1, consistent=True)
        with self._lock:
            uncertain = trade.trade_id in self._uncertain
        if stored:  # the id exists; ours only if an earlier call of ours ended without an answer
            ours = uncertain and self._decode(Trade, stored[0]) == trade
        else:
            try:
                ours = self._put_new("trades", trade, item)
            except StorageError:
                with self._lock:
                    self._uncertain.add(trade.trade_id)
                raise
        if ours:
            with self._lock:
                self._uncertain.discard(trade.trade_id)
        return ours

    def get_trade(self, trade_id: str) -> Trade | None:
        stored = self._query("trades", ("trade_id", trade_id), limit=1, consistent=True)
        return self._decode(Trade, stored[0]) if stored else None

    def list_trades(
        self,
        symbol: str | None = None,
        algo: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        until: int | None = None,
    ) -> list[Trade]:
        if symbol is not None:
            index, key, filters = "by_symbol", ("symbol", symbol), {"algo": algo} if algo is not None else None
        elif algo is not None:
            index, key, filters = "by_algo", ("algo", algo), None
        else:
            index, key, filters = "by_time", ("bucket", BUCKET), None
        items = self._query(
            "trades", key, index, lo=since, hi=until, forward=not newest_first, limit=limit, filters=filters
        )
        return [self._decode(Trade, it) for it in items]

    # -- stats -------------------------------------------------------------------------------
    def put_stats(self, stats: Iterable[StatRecord]) -> None:
        self.writer.submit([self._op("stats", self._item("stats", s, bucket=_stats_bucket(s))) for s in stats])

    def list_stats(self, daily: bool = False) -> list[StatRecord]:
        self._barrier("stats")
        items = self._query("stats", ("bucket", DAILY_BUCKET if daily else BUCKET), "by_bucket")
        rows = [self._decode(StatRecord, it) for it in items]
        return sorted(rows, key=lambda s: (s.algo, s.stat_type))

    # -- prices ------------------------------------------------------------------------------
    def put_prices(self, prices: Iterable[PriceRecord]) -> None:
        ops, new_symbols = [], set()
        for p in prices:
            if p.expiry is None:
                p = replace(p, expiry=int(p.timestamp // 1000 + self._retention_s))
            ops.append(self._op("prices", self._item("prices", p)))
            new_symbols.add(p.symbol)
        with self._lock:
            new_symbols -= self._known_symbols
            self._known_symbols |= new_symbols
        for symbol in sorted(new_symbols):
            ops.append(
                WriteOp(
                    self.tables["state"],
                    (PRICE_SYMBOLS_KEY, symbol),
                    {
                        "TableName": self.tables["state"],
                        "Key": {"key": {"S": PRICE_SYMBOLS_KEY}},
                        "UpdateExpression": "ADD symbols :s",
                        "ExpressionAttributeValues": {":s": {"SS": [symbol]}},
                    },
                    update=True,
                )
            )
        self.writer.submit(ops)

    def list_prices(
        self, symbol: str, since: int | None = None, until: int | None = None, limit: int | None = None
    ) -> list[PriceRecord]:
        self._barrier("prices")
        items = self._query(
            "prices", ("symbol", symbol), lo=since, hi=until, forward=not limit, limit=limit, consistent=True
        )
        rows = [self._decode(PriceRecord, it) for it in items]
        return rows[::-1] if limit else rows

    def price_symbols(self) -> list[str]:
        self._barrier("state")
        item = self._call("GetItem", "state", Key={"key": {"S": PRICE_SYMBOLS_KEY}}, ConsistentRead=True).get("Item")
        return sorted(item["symbols"]["SS"]) if item and "symbols" in item else []

    # -- positions ---------------------------------------------------------------------------
    def put_position(self, position: Position, durable: bool = True) -> None:
        item = self._item("positions", position, book=OPEN_BOOK, position_key=f"{position.algo}|{position.symbol}")
        if not durable:
            self.writer.submit([self._op("positions", item)])
            return
        self._barrier("positions")
        self._call("PutItem", "positions", Item=item)

    def delete_position(self, algo: str, symbol: str) -> None:
        key = {"book": {"S": OPEN_BOOK}, "position_key": {"S": f"{algo}|{symbol}"}}
        self._barrier("positions")
        self._call("DeleteItem", "positions", Key=key)

    def list_positions(self) -> list[Position]:
        self._barrier("positions")
        rows = [self._decode(Position, it) for it in self._query("positions", ("book", OPEN_BOOK), consistent=True)]
        return sorted(rows, key=lambda p: (p.algo, p.symbol))

    # -- events, controls, status, state -----------------------------------------------------
    def put_event(self, event: Event) -> bool:
        item = self._item("events", event, bucket=BUCKET)
        with self._lock:
            if event.event_id in self._seen_events:
                return False
            self._seen_events[event.event_id] = None
            if len(self._seen_events) > _SEEN_EVENTS_MAX:
                self._seen_events.popitem(last=False)
        self.writer.submit([self._op("events", item)])
        return True

    def list_events(self, kind: str | None = None, rule: str | None = None, limit: int = 200) -> list[Event]:
        self._barrier("events")
        index, key = ("by_kind", ("kind", kind)) if kind is not None else ("by_time", ("bucket", BUCKET))
        items = self._query(
            "events", key, index, forward=False, limit=limit, filters={"rule": rule} if rule is not None else None
        )
        return [self._decode(Event, it) for it in items]

    def put_control(self, control: Control) -> bool:
        return self._put_new("controls", control, self._item("controls", control, bucket=BUCKET))

    def list_controls(self, status: str | None = None, limit: int = 100) -> list[Control]:
        index, key = ("by_status", ("status", status)) if status is not None else ("by_time", ("bucket", BUCKET))
        rows = [self._decode(Control, it) for it in self._query("controls", key, index, limit=limit)]
        return sorted(rows, key=lambda c: (c.timestamp, c.control_id))

    def ack_control(self, control_id: str, status: str, result: str, acked_at: int) -> bool:
        return self._update_if(
            "controls",
            {"control_id": {"S": control_id}},
            {"status": status, "result": result, "acked_at": acked_at},
            "pending",
        )

    def put_status(self, status: StatusRecord) -> None:
        self.writer.submit([self._op("status", self._item("status", status, id=STATUS_ID))])

    def get_status(self) -> StatusRecord | None:
        self._barrier("status")
        item = self._call("GetItem", "status", Key={"id": {"S": STATUS_ID}}, ConsistentRead=True).get("Item")
        return self._decode(StatusRecord, item) if item else None

    def get_state(self, key: str) -> str | None:
        self._barrier("state")
        item = self._call("GetItem", "state", Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
        return item["value"]["S"] if item and "value" in item else None

    def set_state(self, key: str, value: str, durable: bool = False) -> None:
        if key in (PRICE_SYMBOLS_KEY, OPEN_ORDERS_KEY, LEASE_KEY) or key.startswith(CLAIM_PREFIX):
            raise ValueError(f"key={key!r} is reserved for the store's own bookkeeping")
        item = {"key": {"S": key}, "value": {"S": value}}
        if not durable:
            self.writer.submit([self._op("state", item)])
            return
        self._barrier("state")
        self._call("PutItem", "state", Item=item)

    # -- config versions -----------------------------------------------------------------------
    def put_config_version(self, record: ConfigVersionRecord) -> bool:
        return self._put_new("config_versions", record, self._item("config_versions", record, book=CONFIG_BOOK))

    def list_config_versions(self, limit: int = 100) -> list[ConfigVersionRecord]:
        items = self._query("config_versions", ("book", CONFIG_BOOK), forward=False, limit=limit, consistent=True)
        return [self._decode(ConfigVersionRecord, it) for it in items]

    def get_config_version(self, version: int) -> ConfigVersionRecord | None:
        key = {"book": {"S": CONFIG_BOOK}, "version": {"N": str(int(version))}}
        item = self._call("GetItem", "config_versions", Key=key, ConsistentRead=True).get("Item")
        return self._decode(ConfigVersionRecord, item) if item else None

    # -- lifecycle ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Write-queue health for the status row and dashboard: ``pending`` writes, ``rejected``
        (invalid, set aside), ``last_error`` text and ``last_error_at`` (epoch s or None)."""
        w = self.writer
        return {
            "pending": w.pending(),
            "rejected": len(w.rejected),
            "last_error": w.last_error,
            "last_error_at": w.last_error_at,
        }

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued write is stored; StorageError after ``timeout`` s
        (default ``flush_timeout``) with writes still pending (they stay queued)."""
        timeout = self.flush_timeout if timeout is None else timeout
        if not self.writer.wait(timeout=timeout):
            raise StorageError(
                f"dynamodb: {self.writer.pending()} write(s) not stored after {timeout:g} s: {self.writer.last_error}"
            )

    def close(self) -> None:
        """Flush (up to ``flush_timeout`` s) and stop the writer; StorageError if writes were left."""
        drained = self.writer.close(timeout=self.flush_timeout)
        if not drained:
            raise StorageError(
                f"dynamodb: closed with {self.writer.pending()} write(s) not stored: {self.writer.last_error}"
            )


def _stats_bucket(stat: StatRecord) -> str:
    """The ``by_bucket`` partition of a Stats item: totals in ``all``, daily aggregates apart."""
    return DAILY_BUCKET if stat.stat_type.startswith(DAILY_STAT_PREFIX) else BUCKET


def _retried(err: ClientError) -> bool:
    """True if an earlier attempt of this request may have been applied without us seeing the
    answer, so this conditional failure may be caused by our own write."""
    return (
        bool(getattr(err, "maybe_applied", False))
        or err.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
    )
