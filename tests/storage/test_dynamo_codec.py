"""The one Decimal codec: numbers come back as the same typed values, bad values are named."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daybreak.core.domain import Action, Event, Position, Trade
from storage.base import StorageError
from storage.dynamo_codec import decode_item, encode_value, record_item, to_decimal
from storage.records import SignalRecord, StatusRecord


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_crosses_as_decimal_and_back_unchanged(x):
    assert to_decimal(x) == Decimal(str(x))
    back = decode_item(Position, record_item(Position("A", "S", x, x, 0, x, "t")))
    assert back.amount == x and back.entry_price == x


@pytest.mark.parametrize(
    "value,stored",
    [
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-8, "1E-8"),
        (123456.78, "123456.78"),
        (-7.5, "-7.5"),
        (1_617_321_600_000, "1617321600000"),
    ],
)
def test_numbers_are_stored_as_their_shortest_decimal(value, stored):
    assert encode_value(value) == {"N": stored}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_with_the_field_name(bad):
    with pytest.raises(StorageError, match=r"price=.*not a finite number"):  # the bot handles StorageError
        record_item(Trade("t", 1, "BTC/USDT", Action.BUY, 1.0, bad, 0.0, "A"))


def test_nan_inside_a_dict_field_is_kept_like_sqlite_keeps_it():
    back = decode_item(StatusRecord, record_item(StatusRecord(1, "paper", "RUNNING", detail={"equity": math.nan})))
    assert math.isnan(back.detail["equity"])


def test_none_is_omitted_and_comes_back_as_the_default():
    item = record_item(Trade("t", 1, "BTC/USDT", Action.BUY, 1.0, 2.0, 0.0, "A"))
    assert "pnl" not in item and "exit_reason" not in item
    assert decode_item(Trade, item).pnl is None


def test_index_keys_never_carry_empty_strings():
    item = record_item(Event("e", 1, "", "m"), {"bucket": "all"}, frozenset({"kind", "bucket"}))
    assert "kind" not in item and item["bucket"] == {"S": "all"}
    assert decode_item(Event, item, frozenset({"kind", "bucket"})).kind == ""


def test_dict_fields_round_trip_with_exact_nested_numbers():
    data = {"ratio": 0.1 + 0.2, "tiny": 1e-8, "nested": {"list": [1, 2.5, None]}}
    back = decode_item(Event, record_item(Event("e", 1, "error", "m", data=data)))
    assert back.data == data


def test_a_map_written_by_another_system_is_accepted():
    item = {
        "event_id": {"S": "e"},
        "timestamp": {"N": "5"},
        "kind": {"S": "k"},
        "message": {"S": "m"},
        "data": {"M": {"price": {"N": "100000.5"}, "n": {"N": "3"}}},
    }
    assert decode_item(Event, item).data == {"price": 100000.5, "n": 3}


def test_another_systems_numbers_as_strings_are_read_and_bad_ones_named():
    item = {
        "signal_id": {"S": "s"},
        "timestamp": {"N": "1.6173216E12"},
        "symbol": {"S": "BTC/USDT"},
        "action": {"S": "buy"},
        "amount": {"S": "0.001"},
    }
    sig = decode_item(SignalRecord, item)
    assert sig.timestamp == 1_617_321_600_000 and sig.amount == 0.001
    with pytest.raises(ValueError, match=r"amount='lots' is not a number"):
        decode_item(SignalRecord, {**item, "amount": {"S": "lots"}})
    with pytest.raises(ValueError, match=r"lacks required attribute\(s\) \['symbol'\]"):
        decode_item(SignalRecord, {k: v for k, v in item.items() if k != "symbol"})
