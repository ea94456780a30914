"""Exit rules on hand-written candles: expected exit price and reason for every rule.

Entry: 1 unit at the first candle's open (100). Intrabar path: open-low-high-close for an up
candle, open-high-low-close otherwise.
"""

from __future__ import annotations

import math

import pytest

from tests.risk_helpers import MINUTE, T0, scenario

CASES = [
    # (id, risk, candles, [(action, price, reason, amount)])
    ("stop_loss on the way down", {"stop_loss_ratio": 0.02}, [(100, 101, 97, 99)], [("sell", 98.0, "stop_loss", 1.0)]),
    (
        "gap through the stop fills at the open",
        {"stop_loss_ratio": 0.02},
        [(100, 100.5, 99.5, 100), (95, 96, 94, 95)],
        [("sell", 95.0, "stop_loss", 1.0)],
    ),
    (
        "take_profit on the way up",
        {"take_profit_ratio": 0.03},
        [(100, 104, 99.9, 103.5)],
        [("sell", 103.0, "take_profit", 1.0)],
    ),
    (
        "up candle: the low comes first, so the stop wins",
        {"stop_loss_ratio": 0.02, "take_profit_ratio": 0.03},
        [(100, 104, 97, 103)],
        [("sell", 98.0, "stop_loss", 1.0)],
    ),
    (
        "down candle: the high comes first, so take-profit wins",
        {"stop_loss_ratio": 0.02, "take_profit_ratio": 0.03},
        [(100, 104, 97, 99)],
        [("sell", 103.0, "take_profit", 1.0)],
    ),
    (
        "trailing stop arms at +2% and trails 1% below the high",
        {"trailing_start_ratio": 0.02, "trailing_ratio": 0.01},
        [(100, 103, 100, 102.5), (102.5, 102.6, 101, 101.5)],
        [("sell", 103 * 0.99, "trailing_stop", 1.0)],
    ),
    (
        "trailing not armed below its start",
        {"trailing_start_ratio": 0.05, "trailing_ratio": 0.01},
        [(100, 104, 100, 103), (103, 103, 99, 99.5)],
        [],
    ),
    (
        "ladder: +2% moves the stop to break-even",
        {"breakeven_trigger_ratio": 0.02, "trailing_start_ratio": 0.05, "trailing_ratio": 0.02},
        [(100, 102.5, 100, 102), (102, 102, 99, 99.5)],
        [("sell", 100.0, "trailing_stop", 1.0)],
    ),
    (
        "ladder: +5% trails 2% below the high",
        {"breakeven_trigger_ratio": 0.02, "trailing_start_ratio": 0.05, "trailing_ratio": 0.02},
        [(100, 106, 100, 105.5), (105.5, 105.6, 103, 103.5)],
        [("sell", 106 * 0.98, "trailing_stop", 1.0)],
    ),
    (
        "time stop at the close of the candle where it elapses",
        {"time_stop_seconds": 150},
        [(100, 100.2, 99.9, 100.1), (100.1, 100.3, 100, 100.2), (100.2, 100.4, 100.1, 100.3), (100.3, 101, 100, 100.9)],
        [("sell", 100.3, "time_stop", 1.0)],
    ),
    (
        "partial take-profit, the rest trails",
        {"take_profit_ratio": 0.03, "take_profit_fraction": 0.5, "trailing_start_ratio": 0.03, "trailing_ratio": 0.01},
        [(100, 104, 100, 103.8), (103.8, 103.9, 102, 102.5)],
        [("sell", 103.0, "take_profit", 0.5), ("sell", 104 * 0.99, "trailing_stop", 0.5)],
    ),
    ("no rules: nothing exits", {}, [(100, 150, 50, 100)], []),
]


@pytest.mark.parametrize("risk, candles, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exit_scenarios(risk, candles, expected):
    trades = scenario(risk, candles)
    assert trades[0].action == "buy" and trades[0].price == candles[0][0]
    sells = [(t.action, t.price, t.exit_reason, t.amount) for t in trades[1:]]
    assert len(sells) == len(expected), sells
    for got, want in zip(sells, expected):
        assert got[0] == want[0] and got[2] == want[2] and got[3] == pytest.approx(want[3])
        assert got[1] == pytest.approx(want[1], rel=1e-12)


def test_atr_stop_uses_k_times_atr_at_entry():
    trades = scenario({"stop_loss_atr_mult": 2.0}, [(100, 100.5, 96.5, 97.5)], atr=1.5)
    assert trades[-1].price == pytest.approx(97.0) and trades[-1].exit_reason == "stop_loss"


def test_atr_trailing_distance():
    trades = scenario(
        {"trailing_start_ratio": 0.0, "trailing_atr_mult": 2.0},
        [(100, 105, 100, 104.5), (104.5, 104.6, 100, 100.5)],
        atr=1.0,
    )
    assert trades[-1].price == pytest.approx(105 - 2.0) and trades[-1].exit_reason == "trailing_stop"


def test_decaying_trailing_take_profit_keeps_more_of_a_bigger_gain():
    risk = {
        "trailing_decay_start": 0.5,
        "trailing_decay_min": 0.2,
        "trailing_decay_rate": 10.0,
        "trailing_min_gain_ratio": 0.004,
    }
    trades = scenario(risk, [(100, 110, 100, 109), (109, 109, 100, 101)])
    gain = 0.10
    callback = 0.2 + 0.3 * math.exp(-10.0 * (gain - 0.004))
    assert trades[-1].price == pytest.approx(100 * (1 + gain * (1 - callback)))
    assert trades[-1].exit_reason == "trailing_stop"
    small = scenario(risk, [(100, 101, 100, 100.9), (100.9, 100.9, 99, 99.5)])
    assert small[-1].price == pytest.approx(100 * (1 + 0.01 * (1 - (0.2 + 0.3 * math.exp(-10 * 0.006)))))
    assert (small[-1].price - 100) / 1.0 < (trades[-1].price - 100) / 10, "the callback shrinks as the gain grows"


def test_exit_pnl_includes_fees_and_slippage():
    trades = scenario({"stop_loss_ratio": 0.02}, [(100, 101, 97, 99)], fee_rate=0.001, slippage_bps=10)
    buy, sell = trades
    assert buy.price == pytest.approx(100 * 1.001)
    assert sell.price == pytest.approx(buy.price * 0.98 * 0.999)
    assert sell.pnl == pytest.approx((sell.price - buy.price) - buy.fee - sell.fee)
    assert sell.timestamp == T0 + MINUTE, "an intrabar exit is stamped at the candle close"
