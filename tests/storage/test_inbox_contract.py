"""The Signals inbox contract of the storage layer, on SQLite, moto and dynalite: rows another
system writes (with plain SQL or plain boto3, in any shape) are listed exactly as stored until
they reach a final status; a signal_id is claimed at most once whatever its timestamp; marks are
conditional on the status read; finished rows get their TTL on DynamoDB."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from daybreak.core.domain import Trade
from storage.base import Claim
from storage.sqlite import SQLiteStore

T0 = 1_783_684_800_000
REQUIRED = {"signal_id": "s-1", "timestamp": T0, "symbol": "BTC/USDT", "action": "buy", "source": "screener"}


def put_raw(store, row: dict) -> None:
    """Insert ``row`` as another system would: plain SQL, or plain boto3 ``put_item``."""
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as db:
            cols = ", ".join(row)
            db.execute(f"INSERT INTO signals ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
        return
    ser = TypeSerializer()
    item = {k: ser.serialize(Decimal(str(v)) if isinstance(v, float) else v) for k, v in row.items()}
    store._client.put_item(TableName=store.tables["signals"], Item=item)


def raw_item(store, signal_id, timestamp) -> dict:
    """The stored row as plain values (DynamoDB: via boto3's resource layer)."""
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as db:
            db.row_factory = sqlite3.Row
            return dict(
                db.execute(
                    "SELECT * FROM signals WHERE signal_id = ? AND timestamp = ?", (signal_id, timestamp)
                ).fetchone()
            )
    endpoint = store._client.meta.endpoint_url
    kw = {} if "amazonaws.com" in endpoint else {"endpoint_url": endpoint}
    table = boto3.resource("dynamodb", region_name="us-east-1", **kw).Table(store.tables["signals"])
    return table.get_item(Key={"signal_id": signal_id, "timestamp": Decimal(str(timestamp))}, ConsistentRead=True)[
        "Item"
    ]


def test_a_row_with_the_required_attributes_only_is_in_the_inbox(store_factory):
    store = store_factory()
    put_raw(store, REQUIRED)
    (row,) = store.inbox()
    assert (row.signal_id, row.timestamp) == ("s-1", T0)
    assert row.status in (None, "new")  # DynamoDB: absent; SQLite: the column's default
    assert {k: row.attrs[k] for k in REQUIRED} == REQUIRED


def test_odd_statuses_and_fractional_timestamps_are_listed_as_stored(store_factory):
    store = store_factory()
    for i, status in enumerate(["NEW", "New", "pending", "new"]):
        put_raw(store, {**REQUIRED, "signal_id": f"s-{i}", "status": status})
    put_raw(store, {**REQUIRED, "signal_id": "frac", "timestamp": T0 + 0.5, "status": "new"})
    put_raw(store, {**REQUIRED, "signal_id": "done", "status": "executed"})
    rows = {r.signal_id: r for r in store.inbox()}
    assert set(rows) == {"s-0", "s-1", "s-2", "s-3", "frac"}, "a finished row is not in the inbox"
    assert rows["s-2"].status == "pending"
    assert rows["frac"].timestamp == T0 + Decimal("0.5")
    # the exact stored key marks the row, also with a fractional timestamp
    assert store.mark_signal("frac", rows["frac"].timestamp, "rejected", "timestamp", "fractional", T0, "new")
    assert store.mark_signal("s-0", T0, "rejected", "status", "odd", T0, "NEW")
    assert store.mark_signal("s-2", T0, "rejected", "status", "odd", T0, "new") is False, (
        "conditional on the status read"
    )
    assert {r.signal_id for r in store.inbox()} == {"s-1", "s-2", "s-3"}


def test_a_signal_id_is_claimed_once_whatever_its_timestamp(store_factory):
    store = store_factory()
    put_raw(store, REQUIRED)
    put_raw(store, {**REQUIRED, "timestamp": T0 + 60_000})
    assert store.claim_signal("s-1", T0, "new", "db-1", "queued", T0 + 1) == (Claim.CLAIMED, None)
    assert store.claim_signal("s-1", T0 + 60_000, "new", "db-2", "queued", T0 + 2) == (Claim.DUPLICATE, T0)
    assert store.claim_signal("s-1", T0, "new", "db-1", "queued", T0 + 3) == (Claim.TAKEN, None)
    other = store_factory.reopen()  # a second bot process
    assert other.claim_signal("s-1", T0 + 60_000, "new", "db-3", "queued", T0 + 4)[0] is Claim.DUPLICATE
    stored = raw_item(store, "s-1", T0)
    assert (stored["status"], stored["outcome"]) == ("accepted", "db-1")
    assert raw_item(store, "s-1", T0 + 60_000).get("status") in (None, "new"), "the duplicate row is untouched"


def test_an_accepted_row_is_finished_once_and_gets_its_ttl(store_factory):
    store = store_factory(signal_retention_days=2)
    put_raw(store, REQUIRED)
    assert store.claim_signal("s-1", T0, "new", "db-1", "queued", T0 + 1)[0] is Claim.CLAIMED
    assert store.mark_signal("s-1", T0, "executed", "db-1", "bought", T0 + 2000, "new") is False
    assert store.mark_signal("s-1", T0, "executed", "db-1", "bought", T0 + 2000, "accepted") is True
    assert store.mark_signal("s-1", T0, "failed", "x", "again", T0 + 3000, "accepted") is False
    assert store.inbox() == []
    stored = raw_item(store, "s-1", T0)
    assert (stored["status"], stored["outcome"], stored["reason"]) == ("executed", "db-1", "bought")
    if store_factory.backend != "sqlite":
        assert stored["expiry"] == (T0 + 2000) // 1000 + 2 * 86_400


def test_reasons_are_cut_and_an_unknown_status_is_refused(store_factory):
    store = store_factory()
    put_raw(store, REQUIRED)
    assert store.mark_signal("s-1", T0, "rejected", "symbol", "x" * 50_000, T0, "new")
    assert len(raw_item(store, "s-1", T0)["reason"]) == 1000
    with pytest.raises(ValueError, match="status='done'"):
        store.mark_signal("s-1", T0, "done", "", "", T0)


def test_get_trade_reads_one_trade_by_id(store_factory):
    store = store_factory()
    t = Trade("db-7", T0, "BTC/USDT", "buy", 0.001, 60_000.0, 0.06, "External")
    assert store.get_trade("db-7") is None
    store.put_trade(t)
    assert store.get_trade("db-7") == t


def test_a_row_near_the_item_size_limit_is_still_marked(store_factory):
    if store_factory.backend == "sqlite":
        pytest.skip("SQLite has no item size limit")
    store = store_factory()
    for size in range(400 * 1024, 390 * 1024, -32):  # the largest row this server takes (its 400 KB limit)
        try:
            put_raw(store, {**REQUIRED, "symbol": "X" * size})
            break
        except store._client.exceptions.ClientError:
            continue
    (row,) = store.inbox()
    assert len(row.symbol if hasattr(row, "symbol") else row.attrs["symbol"]) > 390 * 1024
    assert store.mark_signal(row.signal_id, row.timestamp, "rejected", "symbol", "r" * 900, T0, None)
    stored = raw_item(store, "s-1", T0)
    assert stored["status"] == "rejected" and "symbol" not in stored
    assert (
        stored["reason"].startswith("symbol (")
        and "removed: the row was at DynamoDB's item size limit" in stored["reason"]
    )
