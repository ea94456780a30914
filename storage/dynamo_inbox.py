"""The Signals inbox on DynamoDB (mixed into :class:`storage.dynamodb.DynamoStore`).

Rows reach the bot two ways: rows with status ``new`` or ``accepted`` through the ``by_status``
index (a Query each poll); rows another system wrote without a status, or with a status the bot
does not know, are in no index and are found by a filtered Scan of the table
(:meth:`DynamoSignals.inbox` with ``scan=True``). A Scan is billed for the whole table; finished
rows get ``expiry`` = finished time + ``signal_retention_days`` (the table's TTL deletes them),
which keeps it small (``benchmarks/inbox_cost.py``).

``claim_signal`` holds a signal_id for good with a conditional PutItem of the State item
``signal-claim:<signal_id>`` (value: the claiming row's timestamp) before its conditional
UpdateItem of the row; a crash between the two is resumed by the next attempt (the holder is
the same row), and no second row of that id can take it. Marks are conditional on the status
read, so two processes never finish one row twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from daybreak.core.domain import FINAL_SIGNAL_STATUSES, SignalStatus
from storage.base import Claim, StorageError, clip
from storage.dynamo_codec import encode_value, raw_value
from storage.dynamo_schema import TABLES
from storage.dynamo_writer import key_tuple
from storage.records import InboxRow, SignalRecord

log = logging.getLogger("storage.dynamodb")

SIGNAL_STATUSES = tuple(s.value for s in SignalStatus)
CLAIM_PREFIX = "signal-claim:"
"""State-table items ``signal-claim:<signal_id>`` hold each claimed signal_id (value: timestamp)."""

_R = TypeVar("_R")


class DynamoSignals:
    """The Signals methods of the DynamoDB store (see the module docstring)."""

    _signal_retention_s: int
    """Seconds a finished row is kept (its ``expiry``); set by :class:`storage.dynamodb.DynamoStore`."""

    if TYPE_CHECKING:  # the plumbing of storage.dynamodb.DynamoStore, which this class is mixed into

        def _call(self, operation: str, kind: str, **kwargs: Any) -> dict: ...

        def _item(self, kind: str, record: Any, **extra: Any) -> dict: ...

        def _decode(self, cls: type[_R], item: dict) -> _R: ...

        def _query(
            self,
            kind: str,
            hash_key: tuple[str, Any],
            index: str | None = None,
            lo: Any = None,
            hi: Any = None,
            forward: bool = True,
            limit: int | None = None,
            filters: dict | None = None,
            consistent: bool = False,
        ) -> list[dict]: ...

        def _put_new(self, kind: str, record: Any, item: dict) -> bool: ...

        def _update_if(
            self,
            kind: str,
            key: dict,
            values: dict,
            expect: str | None,
            may_be_absent: bool = False,
            remove: tuple[str, ...] = (),
        ) -> bool: ...

    def put_signal(self, signal: SignalRecord) -> bool:
        return self._put_new("signals", signal, self._item("signals", signal))

    def list_signals(
        self, status: str | None = None, until: int | None = None, limit: int | None = None
    ) -> list[SignalRecord]:
        rows: list[SignalRecord] = []
        for st in [status] if status is not None else SIGNAL_STATUSES:
            for item in self._query("signals", ("status", st), "by_status", hi=until, limit=limit):
                try:
                    rows.append(self._decode(SignalRecord, item))
                except ValueError as err:  # another system's malformed row: the inbox rejects it
                    log.warning("signal %s is not readable as a record: %s", item.get("signal_id"), err)
        rows.sort(key=lambda s: (s.timestamp, s.signal_id))
        return rows[:limit] if limit else rows

    def inbox(self, scan: bool = True) -> list[InboxRow]:
        items: dict[tuple, dict] = {}
        for st in (SignalStatus.NEW.value, SignalStatus.ACCEPTED.value):
            for item in self._query("signals", ("status", st), "by_status"):
                items[key_tuple(item, TABLES["signals"].key_names)] = item
        if scan:  # rows without a status (in no index) or with one the bot does not know
            known = {f":s{i}": {"S": v} for i, v in enumerate(SIGNAL_STATUSES)}
            args = {
                "FilterExpression": f"attribute_not_exists(#s) OR NOT (#s IN ({', '.join(known)}))",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": known,
            }
            while True:
                page = self._call("Scan", "signals", **args)
                for item in page.get("Items", []):
                    items[key_tuple(item, TABLES["signals"].key_names)] = item
                if not page.get("LastEvaluatedKey"):
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        rows = []
        for item in items.values():
            attrs = {name: raw_value(av) for name, av in item.items()}
            rows.append(InboxRow(attrs.get("signal_id"), attrs.get("timestamp"), attrs.get("status"), attrs))
        rows.sort(key=lambda r: (r.timestamp, r.signal_id))  # key types are fixed: S and N
        return rows

    def _signal_key(self, signal_id: Any, timestamp: Any) -> dict:
        return {"signal_id": {"S": signal_id}, "timestamp": encode_value(timestamp, "timestamp")}

    def mark_signal(
        self,
        signal_id: Any,
        timestamp: Any,
        status: str,
        outcome: str,
        reason: str,
        processed_at: int,
        expect: str | None = "new",
    ) -> bool:
        if status not in SIGNAL_STATUSES:
            raise ValueError(f"status={status!r} is not one of {SIGNAL_STATUSES}")
        key = self._signal_key(signal_id, timestamp)
        expiry = processed_at // 1000 + self._signal_retention_s if status in FINAL_SIGNAL_STATUSES else None
        values = {
            "status": status,
            "outcome": clip(outcome, 200),
            "reason": clip(reason),
            "processed_at": processed_at,
            "expiry": expiry,
        }
        absent_ok = expect == SignalStatus.NEW.value
        try:
            return self._update_if("signals", key, values, expect, absent_ok)
        except StorageError as err:
            if err.code != "ValidationException":
                raise
        # the row is at DynamoDB's 400 KB item limit (another system wrote a huge attribute, which
        # no valid row has): make room by removing its largest attribute, and say so
        stored = self._call("GetItem", "signals", Key=key, ConsistentRead=True).get("Item") or {}
        sizes = {n: len(str(v)) for n, v in stored.items() if n not in key and n != "status"}
        if not sizes:
            raise StorageError(f"dynamodb: signal {signal_id!r} cannot be marked: at the item size limit")
        big = max(sizes, key=sizes.__getitem__)
        values["reason"] = clip(
            f"{big} ({sizes[big]:,} bytes) removed: the row was at DynamoDB's item size limit; {reason}"
        )
        log.error(
            "signal %r: at DynamoDB's item size limit; removing its attribute %s to store status %s",
            signal_id[:60],
            big,
            status,
        )
        if not self._update_if("signals", key, {}, expect, absent_ok, remove=(big,)):
            return False
        return self._update_if("signals", key, values, expect, absent_ok)

    def claim_signal(
        self, signal_id: Any, timestamp: Any, expect: str | None, outcome: str, reason: str, processed_at: int
    ) -> tuple[Claim, Any]:
        holder = self._claim_holder(signal_id, str(int(timestamp)))
        if holder != str(int(timestamp)):
            return Claim.DUPLICATE, int(holder) if holder.lstrip("-").isdigit() else holder
        taken = self._update_if(
            "signals",
            self._signal_key(signal_id, timestamp),
            {
                "status": SignalStatus.ACCEPTED.value,
                "outcome": clip(outcome, 200),
                "reason": clip(reason),
                "processed_at": processed_at,
            },
            expect,
            may_be_absent=expect == SignalStatus.NEW.value,
        )
        return (Claim.CLAIMED if taken else Claim.TAKEN), None

    def _claim_holder(self, signal_id: str, timestamp: str) -> str:
        """The timestamp of the row holding ``signal_id``: this one's if it was free."""
        item = {"key": {"S": CLAIM_PREFIX + signal_id}, "value": {"S": timestamp}}
        try:
            self._call(
                "PutItem",
                "state",
                Item=item,
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": "key"},
            )
            return timestamp
        except ClientError:  # held already (perhaps by an earlier attempt of ours): read whose
            stored = self._call("GetItem", "state", Key={"key": item["key"]}, ConsistentRead=True).get("Item") or {}
            return stored.get("value", {}).get("S", "")
