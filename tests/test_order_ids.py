"""Client order ids: deterministic per decision, distinct across decisions, valid for Binance.

A restarted bot recomputes the id of a decision it already sent and looks it up on the exchange
before resending; a backtest and a replay of the same candles store the same trade ids. Both rely
on the same decision always giving the same id, and different decisions never sharing one.
"""

from __future__ import annotations

import itertools
import re

from daybreak.core.domain import Action, client_order_id

BINANCE_CLIENT_ORDER_ID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")  # newClientOrderId filter


def test_the_same_decision_gets_the_same_id_every_time():
    args = ("MA_Crossover", "BTC/USDT", Action.BUY, 1_700_000_060_000, "")
    assert client_order_id(*args) == client_order_id(*args)
    assert client_order_id("External", "ETH/USDT", Action.SELL, 5, "sig-42") == client_order_id(
        "External", "ETH/USDT", Action.SELL, 5, "sig-42"
    )


def test_ids_are_valid_binance_client_order_ids_even_for_long_names_and_far_dates():
    long_algo = "Multi_Timeframe_Confirmation_With_A_Very_Long_Name"
    for ts in (0, 1_700_000_060_000, 17_592_186_044_415):  # 1970, 2023, the last ms of 2527
        oid = client_order_id(long_algo, "1000SATS/USDT", Action.SELL, ts, "flatten|" + "x" * 200)
        assert BINANCE_CLIENT_ORDER_ID.match(oid), oid
        assert oid.startswith("db-")


def test_different_decisions_never_share_an_id():
    algos = ["MA_Crossover", "RSI_Reversion", "External"]
    symbols = ["BTC/USDT", "ETH/USDT"]
    times = [0, 1, 15, 16, 60_000, 1_700_000_000_000, 1_700_000_060_000]
    salts = ["", "a", "stop_loss|db-1|0.5", "take_profit|db-1|0.5", "flatten|ctrl-1|db-1"]
    decisions = list(itertools.product(algos, symbols, list(Action), times, salts))
    ids = {client_order_id(*d) for d in decisions}
    assert len(ids) == len(decisions)
