"""DynamoDB: the Orders table and the one-bot lease, written synchronously (mixed into
:class:`storage.dynamodb.DynamoStore`).

An order record is a conditional ``PutItem`` the server acknowledged before the call returns:
``attribute_not_exists(client_order_id) OR version < :v``, so a record never goes back to an older
version (a retried write whose first attempt was applied counts as done). The ids of the orders
not done are kept in one State item (``orders:open``, a string set) with ``ADD`` before an open
record is written and ``DELETE`` after a done one is, so the open orders are read with strongly
consistent ``GetItem`` calls, never a (eventually consistent) index. A crash between the two
writes leaves an id in the set whose record is missing (never sent: dropped when read) or done
(removed when read).

The lease is the State item ``lease``, replaced only by a conditional ``PutItem`` naming the
owner it replaces (or requiring that none exists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from daybreak.core.order_record import OrderRecord
from storage.base import StorageError
from storage.dynamo_client import error_code
from storage.dynamo_codec import decode_item, encode_value, record_item
from storage.dynamo_schema import BUCKET, TABLES
from storage.records import Lease

OPEN_ORDERS_KEY = "orders:open"
LEASE_KEY = "lease"
_CCF = "ConditionalCheckFailedException"


class OrdersMixin:
    """put_order / get_order / list_orders and the lease on :class:`~storage.dynamodb.DynamoStore`."""

    if TYPE_CHECKING:  # the plumbing of storage.dynamodb.DynamoStore, which this class is mixed into
        tables: dict[str, str]

        def _call(self, operation: str, kind: str, **kwargs: Any) -> dict: ...

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

    def _open_set(self, op: str, client_order_id: str) -> None:
        self._call(
            "UpdateItem",
            "state",
            Key={"key": {"S": OPEN_ORDERS_KEY}},
            UpdateExpression=f"{op} ids :i",
            ExpressionAttributeValues={":i": {"SS": [client_order_id]}},
        )

    def put_order(self, order: OrderRecord) -> None:
        if not order.done:
            self._open_set("ADD", order.client_order_id)
        item = record_item(order, {"bucket": BUCKET}, TABLES["orders"].index_keys)
        try:
            self._call(
                "PutItem",
                "orders",
                Item=item,
                ConditionExpression="attribute_not_exists(#k) OR #v < :v",
                ExpressionAttributeNames={"#k": "client_order_id", "#v": "version"},
                ExpressionAttributeValues={":v": encode_value(order.version, "version")},
            )
        except ClientError as err:
            if error_code(err) != _CCF:
                raise
            stored = self.get_order(order.client_order_id)
            if stored is None or stored.version < order.version:
                raise StorageError(
                    f"dynamodb PutItem on {self.tables['orders']}: order {order.client_order_id} "
                    f"version {order.version} refused"
                ) from err
        if order.done:
            self._open_set("DELETE", order.client_order_id)

    def get_order(self, client_order_id: str) -> OrderRecord | None:
        item = self._call(
            "GetItem", "orders", Key={"client_order_id": {"S": client_order_id}}, ConsistentRead=True
        ).get("Item")
        return decode_item(OrderRecord, item, TABLES["orders"].index_keys) if item else None

    def list_orders(self, open_only: bool = False, limit: int | None = None) -> list[OrderRecord]:
        if not open_only:
            items = self._query("orders", ("bucket", BUCKET), "by_time", forward=False, limit=limit)
            return [decode_item(OrderRecord, it, TABLES["orders"].index_keys) for it in items]
        item = self._call("GetItem", "state", Key={"key": {"S": OPEN_ORDERS_KEY}}, ConsistentRead=True).get("Item")
        out = []
        for cid in sorted((item or {}).get("ids", {}).get("SS", [])):
            record = self.get_order(cid)
            if record is None or record.done:  # a crash between the set and the record: tidy up
                self._open_set("DELETE", cid)
            else:
                out.append(record)
        return sorted(out, key=lambda r: (r.created_at, r.client_order_id))

    # -- lease -------------------------------------------------------------------------------
    def read_lease(self) -> Lease | None:
        item = self._call("GetItem", "state", Key={"key": {"S": LEASE_KEY}}, ConsistentRead=True).get("Item")
        return decode_item(Lease, item) if item else None

    def write_lease(self, lease: Lease, replace_owner: str | None) -> bool:
        item = record_item(lease, {"key": LEASE_KEY})
        if replace_owner is None:
            cond, names, values = "attribute_not_exists(#k)", {"#k": "key"}, {}
        else:
            cond, names, values = "#o = :o", {"#o": "owner"}, {":o": {"S": replace_owner}}
        kwargs = {"ExpressionAttributeValues": values} if values else {}
        try:
            self._call(
                "PutItem", "state", Item=item, ConditionExpression=cond, ExpressionAttributeNames=names, **kwargs
            )
        except ClientError as err:
            if error_code(err) != _CCF:
                raise
            stored = self.read_lease()  # our own earlier attempt may have been applied
            return stored is not None and stored == lease
        return True
