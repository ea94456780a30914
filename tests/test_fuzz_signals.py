"""Generated Signals rows (hypothesis), written as other systems would (plain SQL on SQLite, plain
boto3 on moto), through the real bot services: no row stops the bot; after the bot has seen them
every row is in a final state (executed, failed, rejected, expired) unless its time has not come;
a rejected row's reason names the field and the value; a signal_id trades at most once."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from tests.helpers import write_config

NOW = 1_783_684_800_000
PRICES = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0}
FINAL = {"executed", "failed", "rejected", "expired"}
FIELDS = ("signal_id", "timestamp", "symbol", "action", "source", "amount", "status")


def mostly(valid, nasty):
    """``valid`` values about half the time, so rows get far enough to be traded."""
    return st.one_of(valid, nasty)


ids = mostly(st.sampled_from(["a", "b"]), st.sampled_from(["c", "", " ", "x" * 300, "tv-\n1", "é"]))
timestamps = mostly(
    st.integers(NOW - 200_000, NOW),
    st.one_of(
        st.integers(NOW - 400_000, NOW + 100_000),
        st.sampled_from([NOW + 0.5, NOW // 1000, NOW * 1000, 0, -1, NOW + 10**9, 2**62, NOW - 10**9]),
        st.floats(allow_nan=False),
    ),
)
symbols = mostly(
    st.sampled_from(["BTC/USDT", "ETH/USDT"]),
    st.sampled_from(["DOGE/USDT", "btcusdt", "BTC/USDT\n", "", "B" * 5000, "ＢTC/USDT"]),
)
actions = mostly(st.just("buy"), st.sampled_from(["sell", "BUY", "Sell", "hold", "", " buy"]))
amounts = mostly(
    st.sampled_from([None, 0.001, 0.01]),
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-5, 5),
        st.sampled_from([1e-12, 1e12, "0.01", "lots"]),
    ),
)
statuses = mostly(
    st.sampled_from([None, "new"]), st.sampled_from(["NEW", "New", "", "pending", "accepted", "done", "executed"])
)


def row_strategy(text_for_numbers: bool):
    value = st.one_of(st.text(max_size=5), st.integers(-3, 3)) if text_for_numbers else st.text(max_size=5)
    return st.fixed_dictionaries(
        {"signal_id": ids, "timestamp": timestamps, "symbol": symbols, "action": actions},
        optional={"source": st.one_of(st.text(max_size=8), value), "amount": amounts, "status": statuses},
    )


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        key = (r["signal_id"], r["timestamp"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _settle(ctx, rounds: int = 3) -> None:
    for k in range(rounds):
        ctx.signals._read_at = ctx.signals._scan_at = -float("inf")  # read the inbox every round
        ctx.process_external(NOW + k * 1000, PRICES)
        for symbol, price in PRICES.items():
            ctx.engine.fill_pending(symbol, price, NOW + k * 1000)


def _check(stored: list[dict], trades) -> None:
    for r in stored:
        ts = r["timestamp"]
        if isinstance(ts, (int, float)) and NOW < ts <= NOW + 60_000 and r["status"] not in FINAL:
            continue  # its time has not come (within the clock tolerance), or came in the last round
        assert r["status"] in FINAL, r
        if r["status"] == "rejected":
            assert " = " in r["reason"] or r["outcome"] in ("pending", "refused"), r
            assert len(r["reason"]) <= 1000
    executed = [r for r in stored if r["status"] == "executed" and r.get("processed_at")]  # by the bot
    assert len({r["signal_id"] for r in executed}) == len(executed), "a signal_id executed twice"
    assert len(trades) == len(executed)
    assert all(t.algo == "External" for t in trades)


REUSED_ID = [
    {"signal_id": "a", "timestamp": NOW - 2000, "symbol": "BTC/USDT", "action": "buy"},
    {"signal_id": "a", "timestamp": NOW - 1000, "symbol": "ETH/USDT", "action": "buy"},
]
TEXT_TIMESTAMP = [
    {"signal_id": "t", "timestamp": "soon", "symbol": "BTC/USDT", "action": "buy"},
    {"signal_id": "b", "timestamp": NOW - 1000, "symbol": "ETH/USDT", "action": "buy", "status": "NEW"},
]


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy(True), min_size=1, max_size=6))
@example(rows=REUSED_ID)
@example(rows=TEXT_TIMESTAMP)
def test_generated_rows_on_sqlite_all_reach_a_final_state(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("sig")
    cfg = write_config(tmp, algos={"MA_Crossover": False})
    ctx = build_context(cfg, load_config(cfg))
    try:
        with sqlite3.connect(tmp / "daybreak.db") as db:
            for r in _unique(rows):
                r = {k: v for k, v in r.items() if not (k == "status" and v is None)}
                try:
                    db.execute(
                        f"INSERT INTO signals ({', '.join(r)}) VALUES ({', '.join('?' for _ in r)})", list(r.values())
                    )
                except (sqlite3.IntegrityError, OverflowError):
                    pass  # SQLite itself refused it (NULL key, 64-bit overflow): never a row
        _settle(ctx)
        with sqlite3.connect(tmp / "daybreak.db") as db:
            db.row_factory = sqlite3.Row
            stored = [dict(r) for r in db.execute("SELECT * FROM signals")]
        _check(stored, ctx.store.list_trades())
    finally:
        ctx.shutdown()


@pytest.fixture
def moto_tables(aws_env):
    """A function making a fresh config whose DynamoDB tables (moto) are new and empty."""
    from moto import mock_aws

    from storage.init_db import init_db

    with mock_aws():

        def fresh(tmp):
            cfg = write_config(
                tmp,
                algos={"MA_Crossover": False},
                storage={"backend": "dynamodb", "region": "us-east-1", "table_prefix": tmp.name[-12:]},
            )
            init_db(load_config(cfg).storage)
            return cfg

        yield fresh


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy(False), min_size=1, max_size=5))
@example(rows=REUSED_ID)
def test_generated_rows_on_dynamodb_all_reach_a_final_state(tmp_path_factory, moto_tables, rows):
    import boto3

    cfg = moto_tables(tmp_path_factory.mktemp("dyn"))
    config = load_config(cfg)
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(config.storage.table_prefix + "Signals")
    ctx = build_context(cfg, config)
    try:
        for r in _unique(rows):
            item = {k: (Decimal(repr(v)) if isinstance(v, float) else v) for k, v in r.items() if v is not None}
            try:
                table.put_item(Item=item)
            except Exception:
                pass
        _settle(ctx)
        stored = [{**{f: None for f in FIELDS}, "reason": "", "outcome": "", **it} for it in table.scan()["Items"]]
        for r in stored:
            r["timestamp"] = int(r["timestamp"]) if r["timestamp"] == int(r["timestamp"]) else float(r["timestamp"])
        _check(stored, ctx.store.list_trades())
    finally:
        ctx.shutdown()
