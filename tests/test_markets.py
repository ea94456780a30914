"""Market limits: step rounding a trader can rely on, rejection reasons, snapshot and ccxt parsing."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daybreak.core.markets import (
    DECIMAL_PLACES,
    MarketLimits,
    default_limits,
    from_ccxt_markets,
    limits_for,
    load_snapshot,
)
from tests.fakes.binance_state import BinanceState

BTC = MarketLimits(
    "BTC/USDT", amount_step=0.00001, price_tick=0.01, min_amount=0.0001, min_notional=10.0, max_amount=9000.0
)


@pytest.mark.parametrize(
    "step, amount, expected",
    [
        (0.00001, 0.0012345, 0.00123),
        (0.1, 0.3, 0.3),  # 0.3 / 0.1 == 2.9999999999999996 in floats
        (0.1, 0.1 + 0.2, 0.3),  # 0.30000000000000004
        (0.1, 0.7, 0.7),  # 0.7 / 0.1 == 6.999999999999999
        (0.001, 0.0029999999999999996, 0.003),
        (1.0, 12.9, 12.0),
        (0.01, 0.009, 0.0),  # under one step: nothing to trade
        (0.00001, -1.0, 0.0),
    ],
)
def test_round_amount_floors_to_the_step_without_float_error(step, amount, expected):
    limits = MarketLimits("X/USDT", amount_step=step, price_tick=0.01, min_amount=step, min_notional=1.0)
    assert limits.round_amount(amount) == expected


@given(
    n=st.integers(min_value=0, max_value=10**9),
    step=st.sampled_from(["0.00001", "0.0001", "0.001", "0.01", "0.1", "1"]),
)
def test_an_amount_already_on_the_step_is_kept_exactly(n, step):
    amount = float(Decimal(n) * Decimal(step))
    limits = MarketLimits("X/USDT", amount_step=float(step), price_tick=0.01, min_amount=0.0, min_notional=0.0)
    assert limits.round_amount(amount) == amount
    if amount > 0:
        assert limits.rejection(amount, 1.0) is None


@given(amount=st.floats(min_value=1e-9, max_value=1e6, allow_nan=False))
def test_rounding_never_rounds_up_by_more_than_float_noise_and_loses_less_than_a_step(amount):
    rounded = BTC.round_amount(amount)
    assert rounded <= amount + BTC.amount_step * 1e-9
    assert amount - rounded < BTC.amount_step * (1 + 1e-9)


def test_round_amount_refuses_nan():
    with pytest.raises(ValueError, match="amount = nan"):
        BTC.round_amount(float("nan"))


def test_rejection_names_the_rule_and_the_numbers():
    assert BTC.rejection(0.00001, 50_000) == "amount 0.00001 below LOT_SIZE minQty 0.0001"
    assert BTC.rejection(9001, 50_000) == "amount 9001 above LOT_SIZE maxQty 9000"
    assert BTC.rejection(0.0012345, 50_000).startswith("amount 0.0012345 not a multiple of LOT_SIZE stepSize 0.00001")
    reason = BTC.rejection(0.0001, 50_000)
    assert reason == "notional 5 USDT (amount 0.0001 x price 50000) below NOTIONAL minNotional 10"
    assert BTC.rejection(0.0002, 50_000) is None
    assert BTC.rejection(0.0, 50_000) == "amount 0 must be a positive number"
    assert BTC.rejection(0.001, 0.0) == "price 0 must be a positive number"


def test_min_notional_is_inclusive():
    assert BTC.rejection(0.0002, 50_000) is None  # exactly 10 USDT


def test_bad_limits_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="amount_step = -1"):
        MarketLimits("X/USDT", amount_step=-1, price_tick=0.01, min_amount=0, min_notional=0)


def test_snapshot_has_the_published_filters_of_the_sample_symbols():
    snap = load_snapshot()
    btc, eth = snap["BTC/USDT"], snap["ETH/USDT"]
    assert (btc.amount_step, btc.price_tick, btc.min_amount, btc.min_notional) == (0.00001, 0.01, 0.00001, 1.0)
    assert (eth.amount_step, eth.price_tick, eth.min_amount, eth.min_notional) == (0.0001, 0.01, 0.0001, 5.0)
    for limits in snap.values():
        assert limits.round_amount(limits.min_amount) == limits.min_amount  # minQty lies on the step


def test_unknown_exchange_gets_the_binance_us_snapshot():
    assert load_snapshot("kraken") == load_snapshot("binanceus")


def test_a_symbol_missing_from_the_snapshot_gets_conservative_defaults():
    limits = limits_for(load_snapshot(), "DOT/USDT")
    assert limits == default_limits("DOT/USDT")
    assert limits.min_notional == 10.0
    assert limits.rejection(1.0, 9.99) is not None and limits.rejection(1.0, 10.0) is None


@pytest.mark.parametrize("notional_filter", ["NOTIONAL", "MIN_NOTIONAL"])
def test_from_ccxt_markets_reads_binance_filters_as_parsed_by_real_ccxt(notional_filter):
    state = BinanceState(notional_filter=notional_filter)
    for symbol in ("BTC/USDT", "ETH/USDT", "XRP/USDT"):
        state.add_market(symbol)
    client = ccxt.binanceus()
    client.options["crossMarginPairsData"], client.options["isolatedMarginPairsData"] = [], []
    markets = {m["symbol"]: m for m in (client.parse_market(s) for s in state.exchange_info()["symbols"])}
    parsed = from_ccxt_markets(markets, client.precisionMode)
    assert parsed == {s: state.limits(s) for s in ("BTC/USDT", "ETH/USDT", "XRP/USDT")}


def test_from_ccxt_markets_without_filters_uses_unified_precision_and_skips_derivatives():
    markets = {
        "ABC/USD": {
            "spot": True,
            "precision": {"amount": 3, "price": 2},
            "limits": {"amount": {"min": 0.001, "max": None}, "cost": {"min": 2}},
        },
        "ABC/USD:USD": {"spot": False, "precision": {"amount": 1, "price": 1}, "limits": {}},
    }
    parsed = from_ccxt_markets(markets, DECIMAL_PLACES)
    assert list(parsed) == ["ABC/USD"]
    assert parsed["ABC/USD"] == MarketLimits("ABC/USD", 0.001, 0.01, 0.001, 2.0, None)
