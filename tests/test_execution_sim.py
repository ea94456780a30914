"""Simulated limit, maker, resting take-profit and exchange-stop orders on hand-written candles,
through the real engine; every expected price and fee is computed here by hand from the rules
in daybreak/core/execution.py (queue assumption: a resting order fills only when the path trades
through its price, at its price, maker fee)."""

from __future__ import annotations

import pytest

from daybreak.core.domain import Action, Signal
from daybreak.core.engine import Engine, ListSink, PaperBroker
from daybreak.core.execution import fee_rates
from daybreak.core.markets import MarketLimits
from daybreak.ops.config_file import parse_config
from tests.risk_helpers import LIMITS, MINUTE, SYM, T0

TAKER, MAKER, SLIP = 0.002, 0.0005, 5.0


def engine(risk: dict, execution: dict, taker=TAKER, maker=MAKER, slip=SLIP) -> Engine:
    cfg = parse_config(
        {
            "symbols": [SYM],
            "algos": {},
            "risk": risk,
            "execution": execution,
            "order_size": {"default": {"amount": 1.0}},
            "paper": {"fee_rate": taker, "maker_fee_rate": maker, "slippage_bps": slip, "starting_balance": 10_000},
        }
    )
    return Engine(cfg, LIMITS, PaperBroker(taker, slip, maker), ListSink())


def run(eng: Engine, candles, start: int = 0, signals: dict | None = None):
    """Walk ``candles`` (o, h, l, c) from candle index ``start``; ``signals[i]`` is an action
    decided at candle i's close (price: its close)."""
    for i, (o, h, l, c) in enumerate(candles, start):
        ts = T0 + i * MINUTE
        eng.fill_pending(SYM, o, ts)
        eng.check_candle_exits(SYM, o, h, l, c, ts + MINUTE, ts)
        if signals and i in signals:
            eng.on_signal(Signal("T", SYM, signals[i], ts + MINUTE), c, ts + MINUTE)
    return eng.sink.trades


def buy_at_t0(eng: Engine, close: float = 100.0):
    eng.on_signal(Signal("T", SYM, Action.BUY, T0), close, T0)


def test_a_limit_entry_fills_only_when_the_price_trades_below_it_at_its_price_with_the_maker_fee():
    eng = engine({}, {"entry_order": "limit", "entry_offset_bps": 10, "entry_timeout_seconds": 600})
    buy_at_t0(eng)
    limit = 99.9  # 100 * (1 - 10 bps), on the 0.01 tick
    trades = run(eng, [(100, 100.5, 99.9, 100.2)])  # the low touches the limit: nothing fills
    assert trades == [] and eng.resting
    (buy,) = run(eng, [(100.2, 100.3, 99.85, 100.0)], start=1)
    assert (buy.price, buy.order_type, buy.timestamp) == (limit, "limit", T0 + 2 * MINUTE)
    assert buy.fee == pytest.approx(MAKER * limit)
    assert buy.ref_price == 100.0 and buy.slippage_bps == pytest.approx((limit / 100 - 1) * 1e4)


def test_a_limit_entry_timing_out_buys_at_market_at_that_candles_close():
    eng = engine({}, {"entry_order": "limit", "entry_offset_bps": 10, "entry_timeout_seconds": 120})
    buy_at_t0(eng)
    (buy,) = run(eng, [(100, 100.5, 99.95, 100.2), (100.2, 100.6, 100.1, 100.4), (100.4, 101, 100, 100.9)])
    price = 100.4 * (1 + SLIP / 1e4)  # placed at T0, 120 s elapse at candle 1's close
    assert (buy.price, buy.order_type, buy.timestamp) == (pytest.approx(price), "market", T0 + 2 * MINUTE)
    assert buy.fee == pytest.approx(TAKER * price)


def test_a_limit_entry_set_to_cancel_is_a_recorded_rejection_not_a_trade():
    eng = engine({}, {"entry_order": "limit", "entry_timeout_seconds": 60, "entry_on_timeout": "cancel"})
    buy_at_t0(eng)
    assert run(eng, [(100, 100.5, 100, 100.2), (100.2, 100.3, 99, 99.5)]) == []
    (rej,) = eng.sink.rejections
    assert rej.rule == "entry_timeout" and rej.data["price"] == 100.0 and not eng.pending


def test_a_limit_filled_inside_a_candle_has_its_stop_walked_from_the_fill_on():
    eng = engine({"stop_loss_ratio": 0.01}, {"entry_order": "limit", "entry_offset_bps": 10}, slip=0)
    buy_at_t0(eng)
    buy, sell = run(eng, [(100, 100.1, 98, 98.5)])  # down candle: 100 -> 100.1 -> 98 -> 98.5
    assert buy.price == 99.9
    assert (sell.price, sell.exit_reason, sell.order_type) == (pytest.approx(99.9 * 0.99), "stop_loss", "market")


def _held(eng: Engine, candles=((100, 100.2, 99.9, 100.1),)):
    buy_at_t0(eng)
    run(eng, list(candles))
    assert eng.ledger.positions


def test_a_maker_exit_is_repriced_down_with_the_book_and_fills_at_its_price():
    eng = engine({}, {"exit_order": "maker", "exit_chase_seconds": 600})
    _held(eng)
    eng.on_signal(Signal("T", SYM, Action.SELL, T0 + MINUTE), 100.1, T0 + MINUTE)
    trades = run(eng, [(101, 101, 100.5, 100.8)], start=1)  # rests at 101: nothing trades above it
    assert len(trades) == 1 and eng.resting
    sell = run(eng, [(100.8, 101.2, 100.7, 101.1)], start=2)[-1]  # re-priced to 100.8, then 101.2 > 100.8
    assert (sell.price, sell.order_type, sell.exit_reason) == (100.8, "maker", "signal")
    assert sell.fee == pytest.approx(MAKER * 100.8)


def test_a_maker_exit_crosses_at_market_when_the_chase_is_over():
    eng = engine({}, {"exit_order": "maker", "exit_chase_seconds": 60})
    _held(eng)
    eng.on_signal(Signal("T", SYM, Action.SELL, T0 + MINUTE), 100.1, T0 + MINUTE)
    sell = run(eng, [(100.1, 100.1, 99.5, 99.6)], start=1)[-1]
    assert (sell.price, sell.order_type) == (pytest.approx(99.6 * (1 - SLIP / 1e4)), "market")


def test_the_stop_exits_at_once_during_a_maker_chase():
    eng = engine({"stop_loss_ratio": 0.02}, {"exit_order": "maker", "exit_chase_seconds": 600}, slip=0)
    _held(eng)
    eng.on_signal(Signal("T", SYM, Action.SELL, T0 + MINUTE), 100.1, T0 + MINUTE)
    trades = run(eng, [(100.1, 100.1, 99.9, 100.0), (99, 99, 97, 97.5)], start=1)
    assert (trades[-1].price, trades[-1].exit_reason, trades[-1].order_type) == (98.0, "stop_loss", "market")
    assert not eng.pending and not eng.resting


def test_a_resting_take_profit_needs_a_trade_through_it_and_fills_at_its_price_even_on_a_gap():
    eng = engine({"take_profit_ratio": 0.03}, {"take_profit_order": "resting"}, slip=0)
    _held(eng)
    assert len(run(eng, [(101, 103, 100.5, 102)], start=1)) == 1  # touches 103: nothing
    sell = run(eng, [(104, 104.5, 103.5, 104)], start=2)[-1]  # gap above: still at 103
    assert (sell.price, sell.order_type, sell.exit_reason) == (103.0, "limit", "take_profit")
    assert sell.fee == pytest.approx(MAKER * 103.0)


def test_an_eased_take_profit_steps_down_per_period_but_never_below_entry_plus_fees():
    eng = engine(
        {"take_profit_ratio": 0.03},
        {"take_profit_order": "resting", "take_profit_ease_bps": 10, "take_profit_ease_seconds": 60},
        slip=0,
    )
    _held(eng)
    sell = run(eng, [(101, 101.5, 100.8, 101), (101, 101.2, 100.9, 101), (101, 102.8, 100.9, 102)], start=1)[-1]
    assert sell.price == pytest.approx(103 * (1 - 3 * 0.001))  # candle 3 opens 3 minutes after the entry

    eng = engine(
        {"take_profit_ratio": 0.03},
        {"take_profit_order": "resting", "take_profit_ease_bps": 100, "take_profit_ease_seconds": 60},
        slip=0,
    )
    _held(eng)
    entry = eng.ledger.positions[("T", SYM)]
    floor = (entry.entry_price + entry.entry_fee / entry.amount) / (1 - MAKER)
    sell = run(eng, [(100.1, 100.15, 100, 100.1)] * 4 + [(100.1, 100.5, 100, 100.4)], start=1)[-1]
    assert 103 * (1 - 5 * 0.01) < floor and sell.price == pytest.approx(floor)


ENTRY = 100 * (1 + SLIP / 1e4)  # the market entry at the first open, after slippage
STOP = ENTRY * 0.98  # stop_loss_ratio 0.02; limit 50 bps below: 97.559


@pytest.mark.parametrize(
    "candle, price, kind",
    [
        ((100, 100.2, 97, 97.5), STOP * (1 - SLIP / 1e4), "stop_limit"),  # continuous: at the stop, after slippage
        ((97.8, 97.9, 97, 97.5), 97.8 * (1 - SLIP / 1e4), "stop_limit"),  # opened between stop and limit
        ((97.0, 97.2, 96, 96.5), 97.0 * (1 - SLIP / 1e4), "market"),  # gapped through the limit: the bot sells
    ],
)
def test_an_exchange_stop_limit_never_fills_below_its_limit(candle, price, kind):
    eng = engine({"stop_loss_ratio": 0.02}, {"exchange_stop": "stop_loss_limit", "exchange_stop_limit_offset_bps": 50})
    _held(eng)
    sell = run(eng, [candle], start=1)[-1]
    assert (sell.price, sell.order_type, sell.exit_reason) == (pytest.approx(price), kind, "stop_loss")
    assert sell.price >= STOP * (1 - 0.005) or kind == "market"


def test_an_exchange_stop_limit_with_a_tight_limit_is_floored_at_it():
    eng = engine({"stop_loss_ratio": 0.02}, {"exchange_stop": "stop_loss_limit", "exchange_stop_limit_offset_bps": 2})
    _held(eng)
    sell = run(eng, [(100, 100.2, 97, 97.5)], start=1)[-1]
    assert sell.price == pytest.approx(STOP * (1 - 2 / 1e4))  # slippage 5 bps, limit 2 bps below the stop


def test_a_spread_wider_than_allowed_refuses_the_entry_with_its_numbers():
    eng = engine({}, {"max_spread_bps": 10})
    eng.quotes[SYM] = (99.9, 100.1)  # 0.2 / 100 = 20 bps
    out = eng.on_signal(Signal("T", SYM, Action.BUY, T0), 100.0, T0)
    assert out.order is None and out.rejection.rule == "max_spread"
    assert out.rejection.data["spread_bps"] == pytest.approx(20.0) and out.rejection.data["max_spread_bps"] == 10
    (event,) = eng.sink.rejections
    assert event.rule == "max_spread" and "20.0 bps" in event.message
    eng.quotes[SYM] = (99.96, 100.04)  # 8 bps: allowed
    assert eng.on_signal(Signal("T", SYM, Action.BUY, T0 + 1), 100.0, T0 + 1).order is not None


def test_fee_rates_come_from_the_market_unless_paper_sets_them():
    market = MarketLimits(SYM, 1e-8, 0.01, 1e-8, 1.0, maker_fee=0.0016, taker_fee=0.0026)
    plain = parse_config({"symbols": [SYM]})
    assert fee_rates(plain, market) == (0.0026, 0.0016)
    assert fee_rates(plain, LIMITS[SYM]) == (0.001, 0.001)  # the snapshot knows no fees
    taker_set = parse_config({"symbols": [SYM], "paper": {"fee_rate": 0.002}})
    assert fee_rates(taker_set, market) == (0.002, 0.002)
    both = parse_config({"symbols": [SYM], "paper": {"fee_rate": 0.002, "maker_fee_rate": 0.0}})
    assert fee_rates(both, market) == (0.002, 0.0)


def test_a_live_broker_taking_over_restored_positions_leaves_take_profit_and_stop_to_the_exchange():
    eng = engine(
        {"stop_loss_ratio": 0.02, "take_profit_ratio": 0.03},
        {"take_profit_order": "resting", "exchange_stop": "oco"},
        slip=0,
    )
    _held(eng)
    plan = eng.plans[("T", SYM)]
    assert (plan.tp_resting, plan.tp_on_exchange, plan.stop_limit_offset) == (True, False, 0.005)

    class Live:
        rests_orders = True

    eng.broker = Live()  # the live driver installs its broker after restoring the positions
    plan = eng.plans[("T", SYM)]
    assert (plan.tp_resting, plan.tp_on_exchange, plan.stop_limit_offset) == (True, True, None)
