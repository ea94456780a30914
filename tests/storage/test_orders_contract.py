"""The storage contract of live orders, durable state and the one-bot lease, on SQLite, moto and
dynalite: what the order tracker's crash recovery and the lease rely on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daybreak.core.domain import Action, ExitReason, Order, Position
from daybreak.core.order_record import OrderRecord, OrderStatus, Role
from storage.records import Lease

T0 = 1_617_321_600_000


def intent(i: int = 1, **kw) -> OrderRecord:
    order = Order(f"db-{i:027x}", "MA_Crossover", "BTC/USDT", Action.SELL, 0.00099, T0 + i, ExitReason.STOP_LOSS)
    return replace(OrderRecord.intent(order, T0 + i + 5, ref_price=58720.45), **kw)


def test_an_order_round_trips_with_every_field(store_factory):
    store = store_factory()
    rec = intent(1)
    store.put_order(rec)
    assert store.get_order(rec.client_order_id) == rec
    filled = rec.next(
        T0 + 99,
        status=OrderStatus.EXPIRED,
        exchange_order_id="123",
        filled=0.0005,
        average=58000.5,
        fee=0.029,
        fee_base=0.0,
        fee_currency="USDT",
        sent_at=T0 + 7,
        filled_at=T0 + 8,
        error="partly filled",
        price=None,
        stop_price=57000.0,
    )
    store.put_order(filled)
    back = store.get_order(rec.client_order_id)
    assert back == filled and back.side is Action.SELL and back.status is OrderStatus.EXPIRED
    assert back.reason is ExitReason.STOP_LOSS and isinstance(back.filled_at, int)
    assert store.get_order("db-unknown") is None


def test_a_resting_orders_type_role_parent_and_list_round_trip(store_factory):
    store = store_factory()
    order = Order(
        "db-stop-1",
        "MA_Crossover",
        "BTC/USDT",
        Action.SELL,
        0.00099,
        T0,
        ExitReason.TRAILING_STOP,
        "stop_limit",
        49_252.5,
        49_500.0,
    )
    rec = OrderRecord.intent(order, T0 + 1, role=Role.STOP, parent="db-entry-1", stop_price=49_500.0, list_id="db-l1")
    store.put_order(rec)
    back = store.get_order("db-stop-1")
    assert back == rec and back.role is Role.STOP and back.role.protective
    assert (back.type, back.price, back.stop_price, back.parent, back.list_id) == (
        "stop_loss_limit",
        49_252.5,
        49_500.0,
        "db-entry-1",
        "db-l1",
    )
    assert back.order().kind == "stop_limit" and back.order().ref_price == 49_500.0
    assert store.list_orders(open_only=True) == [rec]


def test_an_order_never_goes_back_to_an_older_version(store_factory):
    store = store_factory()
    rec = intent(2)
    newer = rec.next(T0 + 50, status=OrderStatus.FILLED, filled=0.00099, average=58000.0)
    store.put_order(rec)
    store.put_order(newer)
    store.put_order(rec)  # a late retry of the first write
    assert store.get_order(rec.client_order_id) == newer
    store.put_order(newer)  # the same version again: a no-op
    assert store.get_order(rec.client_order_id) == newer


def test_open_orders_are_those_not_done_oldest_first(store_factory):
    store = store_factory()
    a, b, c = intent(3), intent(4), intent(5)
    for rec in (b, a, c):
        store.put_order(rec)
    assert [r.client_order_id for r in store.list_orders(open_only=True)] == [
        a.client_order_id,
        b.client_order_id,
        c.client_order_id,
    ]
    filled_not_booked = a.next(T0 + 60, status=OrderStatus.FILLED, filled=0.00099, average=1.0)
    done = b.next(T0 + 60, status=OrderStatus.EXPIRED)  # nothing filled: done
    booked = c.next(T0 + 60, status=OrderStatus.FILLED, filled=0.00099, average=1.0, booked_filled=0.00099)
    for rec in (filled_not_booked, done, booked):
        store.put_order(rec)
    assert store.list_orders(open_only=True) == [filled_not_booked]
    newest = store.list_orders(limit=2)
    assert [r.client_order_id for r in newest] == [c.client_order_id, b.client_order_id]


def test_durable_position_and_state_writes_are_read_back_at_once(store_factory):
    store = store_factory()
    pos = Position(
        "MA_Crossover", "BTC/USDT", 0.000999, 58000.0, T0, 0.058, "db-1", 58000.0, None, False, {"last_order": "db-1"}
    )
    store.put_position(replace(pos, high_watermark=58100.0), durable=False)  # queued
    store.put_position(pos)  # durable: never overtaken
    reopened = store_factory.reopen()
    assert reopened.list_positions() == [pos]
    store.set_state("cursor:BTC/USDT", "123", durable=True)
    assert store_factory.reopen().get_state("cursor:BTC/USDT") == "123"
    store.delete_position("MA_Crossover", "BTC/USDT")
    assert store_factory.reopen().list_positions() == []


def test_the_lease_is_replaced_only_by_its_owner(store_factory):
    store = store_factory()
    mine = Lease("host:1:aa", "host", 1, "/srv/bot", T0, T0 + 60_000)
    other = Lease("other:2:bb", "other", 2, "/srv/bot", T0, T0 + 60_000)
    assert store.read_lease() is None
    assert store.write_lease(mine, None)
    assert not store.write_lease(other, None), "someone holds it"
    assert not store.write_lease(other, "nobody")
    assert store.write_lease(replace(mine, expires_at=T0 + 120_000), mine.owner), "renewed"
    assert store.read_lease().expires_at == T0 + 120_000
    assert store.write_lease(other, mine.owner), "taken over (after the holder's expiry or death)"
    assert not store.write_lease(replace(mine, expires_at=T0 + 999_999), mine.owner), "the old holder lost it"
    assert store.read_lease() == other


@pytest.mark.parametrize("key", ["orders:open", "lease"])
def test_the_stores_own_state_keys_are_reserved(store_factory, key):
    store = store_factory()
    if store_factory.backend == "sqlite":
        pytest.skip("SQLite keeps orders and the lease in their own tables")
    with pytest.raises(ValueError, match="reserved"):
        store.set_state(key, "x")
