"""The storage contract: the same test functions on SQLite, moto (mock_aws) and dynalite.

Each test states what the bot or the dashboard relies on. ``store_factory`` (tests/fixtures_dynamo.py)
is parametrised over the three backends.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from daybreak.core.domain import Action, Control, Event, ExitReason, Mode, Position, Trade
from storage.records import PriceRecord, SignalRecord, StatRecord, StatusRecord

T0 = 1_617_321_600_000  # 2021-04-02 00:00 UTC, ms
MIN = 60_000


def trade(i: int, symbol="BTC/USDT", algo="MA_Crossover", ts=None, **kw) -> Trade:
    values = dict(
        trade_id=f"db-{i:032x}",
        timestamp=ts if ts is not None else T0 + i * MIN,
        symbol=symbol,
        action=Action.BUY if i % 2 == 0 else Action.SELL,
        amount=0.0017,
        price=58720.45,
        fee=0.0998,
        algo=algo,
        pnl=None if i % 2 == 0 else 1.25,
        order_id=f"o{i}",
        exit_reason=None if i % 2 == 0 else ExitReason.SIGNAL,
    )
    return Trade(**{**values, **kw})


# -- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("price", 0.1 + 0.2),
        ("amount", 1e-8),
        ("price", 100_000.01),
        ("price", 126_011.0),
        ("pnl", -12.345678901234),
        ("pnl", -0.1 - 0.2),
        ("fee", 1e-12),
        ("amount", 123456789.123456789),
    ],
)
def test_numbers_round_trip_to_the_same_float(store_factory, field, value):
    store = store_factory()
    t = replace(trade(1), **{field: value})
    assert store.put_trade(t)
    (back,) = store.list_trades()
    assert getattr(back, field) == value and type(getattr(back, field)) is float
    assert back == t


def test_every_trade_field_round_trips(store_factory):
    store = store_factory()
    opening = trade(0)  # pnl None, exit_reason None
    closing = trade(
        1,
        pnl=-3.75,
        exit_reason=ExitReason.STOP_LOSS,
        mode=Mode.LIVE,
        order_id="",
        order_type="limit+market",
        ref_price=58_720.45,
    )
    assert store.put_trade(opening) and store.put_trade(closing)
    assert store.list_trades() == [opening, closing]
    assert isinstance(store.list_trades()[0].timestamp, int)
    back = store.list_trades()[1]  # the enums come back as enums, not their strings
    assert (type(back.action), type(back.exit_reason), type(back.mode)) == (Action, ExitReason, Mode)
    assert back.slippage_bps == closing.slippage_bps is not None


# -- trades ----------------------------------------------------------------------------------
def test_a_trade_id_is_stored_once(store_factory):
    store = store_factory()
    first = trade(1)
    assert store.put_trade(first) is True
    assert store.put_trade(first) is False
    assert store.put_trade(replace(first, price=1.0)) is False
    assert store.put_trade(replace(first, timestamp=first.timestamp + MIN)) is False
    assert store.list_trades() == [first]


def test_list_trades_filters_by_symbol_algo_and_time(store_factory):
    store = store_factory()
    trades = [trade(i, symbol=("BTC/USDT", "ETH/USDT")[i % 2], algo=("A", "B", "C")[i % 3]) for i in range(12)]
    for t in reversed(trades):
        store.put_trade(t)
    assert store.list_trades() == trades
    assert store.list_trades(newest_first=True) == trades[::-1]
    assert store.list_trades(symbol="ETH/USDT") == [t for t in trades if t.symbol == "ETH/USDT"]
    assert store.list_trades(algo="B") == [t for t in trades if t.algo == "B"]
    assert store.list_trades(symbol="BTC/USDT", algo="C") == [
        t for t in trades if t.symbol == "BTC/USDT" and t.algo == "C"
    ]
    assert store.list_trades(since=trades[5].timestamp) == trades[5:]
    assert store.list_trades(until=trades[2].timestamp) == trades[:3]
    assert store.list_trades(since=trades[2].timestamp, until=trades[4].timestamp) == trades[2:5]
    assert (
        store.list_trades(algo="B", until=trades[4].timestamp, newest_first=True, limit=1)
        == [t for t in trades[:5] if t.algo == "B"][-1:]
    )
    assert store.list_trades(limit=3, newest_first=True) == trades[:-4:-1]
    assert store.list_trades(symbol="BTC/USDT", algo="A", limit=2) == [trades[0], trades[6]]
    assert store.list_trades(symbol="SOL/USDT") == []


def test_trades_written_from_several_threads_are_all_stored(store_factory):
    store = store_factory()
    results = []

    def writer(k):
        results.extend(store.put_trade(trade(k * 100 + i)) for i in range(15))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count(True) == 60
    assert len({t.trade_id for t in store.list_trades()}) == 60


def test_data_survives_reopening_the_store(store_factory):
    store = store_factory()
    store.put_trade(trade(1))
    store.put_stats([StatRecord("pnl", "total", -1.5, "2021-04-02")])
    store.set_state("cursor:BTC/USDT", str(T0))
    store.close()
    again = store_factory.reopen()
    assert again.list_trades() == [trade(1)]
    assert again.list_stats() == [StatRecord("pnl", "total", -1.5, "2021-04-02")]
    assert again.get_state("cursor:BTC/USDT") == str(T0)


# -- stats -----------------------------------------------------------------------------------
def test_stats_upsert_by_type_and_algo(store_factory):
    store = store_factory()
    store.put_stats(
        [
            StatRecord("pnl", "total", 1.0, "2021-04-02"),
            StatRecord("pnl", "A", 0.5, "2021-04-02"),
            StatRecord("win_rate", "A", 0.5, "2021-04-02"),
        ]
    )
    store.put_stats([StatRecord("pnl", "total", -0.30000000000000004, "2021-04-03")])
    assert store.list_stats() == [
        StatRecord("pnl", "A", 0.5, "2021-04-02"),
        StatRecord("win_rate", "A", 0.5, "2021-04-02"),
        StatRecord("pnl", "total", -0.30000000000000004, "2021-04-03"),
    ]


def test_daily_stats_are_listed_apart_from_the_totals(store_factory):
    store = store_factory()
    days = [StatRecord(f"day:2021-04-0{d}:pnl", "A", d * 1.5, "2021-04-03") for d in (1, 2)]
    store.put_stats(
        [StatRecord("pnl", "A", 4.5, "2021-04-03"), *days, StatRecord("day:2021-04-01:wins", "B", 1.0, "2021-04-03")]
    )
    store.put_stats([StatRecord("day:2021-04-02:pnl", "A", 3.25, "2021-04-03")])  # upserted like any stat
    assert store.list_stats() == [StatRecord("pnl", "A", 4.5, "2021-04-03")]  # the totals alone: a small read
    assert store.list_stats(daily=True) == [
        days[0],
        StatRecord("day:2021-04-02:pnl", "A", 3.25, "2021-04-03"),
        StatRecord("day:2021-04-01:wins", "B", 1.0, "2021-04-03"),
    ]


# -- prices ----------------------------------------------------------------------------------
def price(i, symbol="BTC/USDT", **kw) -> PriceRecord:
    values = dict(
        symbol=symbol,
        timestamp=T0 + i * MIN,
        price=58720.45 + i,
        open=58700.0,
        high=58800.5,
        low=58690.01,
        volume=61.685675,
        expiry=(T0 + i * MIN) // 1000 + 86_400,
    )
    return PriceRecord(**{**values, **kw})


def test_prices_upsert_and_list_by_time(store_factory):
    store = store_factory()
    rows = [price(i) for i in range(50)] + [price(i, "ETH/USDT", price=2000.0 + i) for i in range(5)]
    store.put_prices(rows)
    store.put_prices([price(3, price=1.5)])  # the candle was re-read
    btc = [r for r in rows if r.symbol == "BTC/USDT"]
    btc[3] = price(3, price=1.5)
    assert store.list_prices("BTC/USDT") == btc
    assert store.list_prices("BTC/USDT", since=btc[10].timestamp, until=btc[12].timestamp) == btc[10:13]
    assert store.list_prices("BTC/USDT", limit=5) == btc[-5:]
    assert store.list_prices("BTC/USDT", until=btc[4].timestamp, limit=2) == btc[3:5]
    assert store.list_prices("BTC/USDT", since=btc[9].timestamp, until=btc[2].timestamp) == []
    assert store.price_symbols() == ["BTC/USDT", "ETH/USDT"]


def test_a_price_without_ohlcv_keeps_them_empty(store_factory):
    store = store_factory()
    row = PriceRecord("BTC/USDT", T0, 100_000.5, expiry=T0 // 1000 + 60)
    store.put_prices([row])
    assert store.list_prices("BTC/USDT") == [row]


# -- signals ---------------------------------------------------------------------------------
def signal(i, **kw) -> SignalRecord:
    return SignalRecord(
        **{
            **dict(
                signal_id=f"sig-{i}",
                timestamp=T0 + i * 1000,
                symbol="BTC/USDT",
                action="buy",
                source="tradingview",
                amount=0.001,
            ),
            **kw,
        }
    )


def test_signal_inbox_lists_new_signals_in_time_order(store_factory):
    store = store_factory()
    for i in (3, 1, 2):
        assert store.put_signal(signal(i))
    assert store.put_signal(signal(1)) is False
    assert store.put_signal(signal(4, amount=None)) is True
    assert [s.signal_id for s in store.list_signals(status="new")] == ["sig-1", "sig-2", "sig-3", "sig-4"]
    assert [s.signal_id for s in store.list_signals(status="new", until=T0 + 2000)] == ["sig-1", "sig-2"]
    assert [s.signal_id for s in store.list_signals(status="new", limit=1)] == ["sig-1"]
    assert store.list_signals(status="new")[3] == signal(4, amount=None)


def test_a_signal_is_marked_once(store_factory):
    store = store_factory()
    store.put_signal(signal(1))
    store.put_signal(signal(2))
    assert store.mark_signal("sig-1", T0 + 1000, "executed", "db-trade", "bought 0.001", T0 + 5000) is True
    assert store.mark_signal("sig-1", T0 + 1000, "rejected", "stale", "too old", T0 + 6000) is False
    assert store.mark_signal("sig-9", T0, "executed", "x", "no such signal", T0) is False
    done = signal(1, status="executed", outcome="db-trade", reason="bought 0.001", processed_at=T0 + 5000)
    assert store.list_signals(status="executed") == [done]
    assert store.list_signals() == [done, signal(2)]
    assert store.list_signals(status="new") == [signal(2)]


# -- positions -------------------------------------------------------------------------------
def test_positions_upsert_delete_and_keep_every_field(store_factory):
    store = store_factory()
    pos = Position(
        "A",
        "BTC/USDT",
        0.0017,
        58720.45,
        T0,
        0.0998,
        "db-1",
        high_watermark=59000.0,
        stop_price=None,
        partial_taken=True,
        extra={"entries": [1, 2.5], "note": "x"},
    )
    other = Position("AB", "ETH/USDT", 1e-8, 2000.0, T0, 0.0, "db-2")
    store.put_position(other)
    store.put_position(replace(pos, amount=1.0))
    store.put_position(pos)
    assert store.list_positions() == [pos, other]
    store.delete_position("A", "BTC/USDT")
    store.delete_position("A", "SOL/USDT")  # nothing there: no error
    assert store.list_positions() == [other]


# -- events ----------------------------------------------------------------------------------
def test_events_are_listed_newest_first_with_filters(store_factory):
    store = store_factory()
    events = [
        Event(
            f"ev-{i}",
            T0 + i,
            ("rejection", "error")[i % 2],
            f"message {i}",
            algo="A",
            symbol="BTC/USDT",
            rule=("max_positions", "daily_loss", "")[i % 3],
            data={"limit": 0.1 + 0.2, "i": i},
        )
        for i in range(9)
    ]
    for e in events:
        assert store.put_event(e) is True
    assert store.put_event(events[0]) is False
    assert store.list_events() == events[::-1]
    assert store.list_events(limit=2) == events[:-3:-1]
    assert store.list_events(kind="error") == [e for e in events[::-1] if e.kind == "error"]
    assert store.list_events(rule="daily_loss") == [e for e in events[::-1] if e.rule == "daily_loss"]
    assert store.list_events(kind="rejection", rule="max_positions", limit=1) == [events[6]]


# -- controls, status, state -----------------------------------------------------------------
def test_controls_are_acknowledged_once(store_factory):
    store = store_factory()
    pause = Control("c-1", T0, "pause", "dashboard")
    flat = Control("c-2", T0 + 1, "flatten", "cli")
    assert store.put_control(flat) and store.put_control(pause)
    assert store.put_control(pause) is False
    assert store.list_controls(status="pending") == [pause, flat]
    assert store.ack_control("c-1", "done", "paused", T0 + 10) is True
    assert store.ack_control("c-1", "refused", "again", T0 + 11) is False
    assert store.ack_control("c-9", "done", "", T0) is False
    assert store.list_controls(status="pending") == [flat]
    assert store.list_controls() == [replace(pause, status="done", result="paused", acked_at=T0 + 10), flat]
    assert store.list_controls(limit=1) == [replace(pause, status="done", result="paused", acked_at=T0 + 10)]


def test_status_row_is_replaced(store_factory):
    store = store_factory()
    assert store.get_status() is None
    store.put_status(StatusRecord(T0, "paper", "BOOTING"))
    latest = StatusRecord(
        T0 + 5000,
        "paper",
        "ERROR",
        reason="storage",
        last_error="boom",
        last_error_at=T0 + 4000,
        detail={"pending_writes": 3, "ratio": 0.25},
    )
    store.put_status(latest)
    assert store.get_status() == latest


def test_state_values_are_upserted(store_factory):
    store = store_factory()
    assert store.get_state("cursor:BTC/USDT") is None
    store.set_state("cursor:BTC/USDT", "1")
    store.set_state("cursor:BTC/USDT", "2")
    store.set_state("empty", "")
    assert store.get_state("cursor:BTC/USDT") == "2"
    assert store.get_state("empty") == ""
